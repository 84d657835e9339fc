// The shared pod watch against a scripted client: the paths a real server
// rarely shows on demand (410 Expired, a watch that breaks, pods deleted
// while nobody watched).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiStatusError, type ApiClient, type KubeObject, type WatchEvent, type WatchStream } from '../../client/interface.ts';
import { Limiter } from './limiter.ts';
import { PodSimulator } from './pods.ts';
import type { RegisteredNode } from './register.ts';

const node: RegisteredNode = {
  uid: 'n0',
  podCidr: '10.42.0.0/24',
  identity: { name: 'sim-0', index: 0, internalIp: '172.31.0.1', podCidr: '10.42.0.0/24', labels: {}, capacity: { cpu: '1', memory: '1Gi', pods: '10' }, bootId: 'b' },
};

const pod = (name: string, rv: string, extra: { phase?: string; nodeName?: string } = {}): KubeObject => ({
  metadata: { name, namespace: 'default', uid: `uid-${name}`, resourceVersion: rv },
  spec: { nodeName: extra.nodeName ?? 'sim-0', containers: [{ name: 'c', image: 'i' }] },
  status: { phase: extra.phase ?? 'Pending' },
});

/** Each watch() call plays the next script: events, then an end (or a thrown error). */
function scriptedClient(options: { lists: KubeObject[][]; watches: (WatchEvent[] | Error)[] }) {
  const calls: string[] = [];
  let lists = 0;
  let watches = 0;
  const client = {
    async list() {
      const items = options.lists[Math.min(lists, options.lists.length - 1)]!;
      calls.push(`list ${lists++}`);
      return { metadata: { resourceVersion: String(100 + lists) }, items };
    },
    watch(_ref: unknown, o: { resourceVersion?: string }): WatchStream {
      const script = options.watches[watches++];
      calls.push(`watch from ${o.resourceVersion}`);
      let stopped = false;
      let wake: (() => void) | undefined;
      return {
        stop() { stopped = true; wake?.(); },
        async *[Symbol.asyncIterator]() {
          if (script instanceof Error) throw script;
          for (const event of script ?? []) yield event;
          // No script left: stay open until stopped, like an idle server.
          if (!script) while (!stopped) await new Promise<void>((resolve) => { wake = resolve; });
        },
      };
    },
    async patch(ref: { name: string }, _type: string, body: { metadata: { resourceVersion: string }; status: { podIP: string } }) {
      calls.push(`start ${ref.name}@${body.metadata.resourceVersion} ${body.status.podIP}`);
      return { metadata: { name: ref.name, namespace: 'default', resourceVersion: '999' }, status: body.status };
    },
    async delete(ref: { name: string }) {
      calls.push(`delete ${ref.name}`);
      return {};
    },
  };
  return { client: client as unknown as ApiClient, calls };
}

async function until(check: () => boolean) {
  const deadline = Date.now() + 3000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('PodSimulator', () => {
  it('relists after 410 and after a broken watch, forgetting pods deleted meanwhile', async () => {
    const warnings: string[] = [];
    const { client, calls } = scriptedClient({
      lists: [
        [pod('a', '10'), pod('other', '11', { nodeName: 'real-0' })],
        [pod('a', '10', { phase: 'Running' })],
        [],
      ],
      watches: [
        [{ type: 'ERROR', object: { kind: 'Status', code: 410, metadata: {} } as unknown as KubeObject }],
        [{ type: 'ADDED', object: pod('b', '20') }, { type: 'BOOKMARK', object: { metadata: { resourceVersion: '25' } } }],
        new Error('connection reset'),
      ],
    });
    const sim = new PodSimulator({ client, limiter: new Limiter(4), nodes: [node], now: () => new Date(0), warn: (m) => warnings.push(m), minWatchSpacingMs: 0 });
    sim.start();
    await until(() => calls.includes('list 2'));
    await sim.idle();
    await sim.stop();
    assert.deepEqual(calls.filter((c) => c.startsWith('start')).sort(), ['start a@10 10.42.0.2', 'start b@20 10.42.0.3']);
    // The watch resumed from the bookmark after the server ended it, and relisted after the error.
    assert.ok(calls.includes('watch from 25'), calls.join(', '));
    assert.equal(sim.podStats().relists, 3);
    assert.equal(sim.podStats().known, 0, 'pods missing from the last list are forgotten');
    assert.deepEqual(warnings.map((w) => w.replace(/;.*/, '')), ['pod watch: connection reset']);
  });

  it('re-reads after a conflict instead of overwriting', async () => {
    const { client, calls } = scriptedClient({ lists: [[pod('a', '10')]], watches: [] });
    let conflicts = 0;
    const patch = client.patch.bind(client);
    client.patch = (async (...args: Parameters<ApiClient['patch']>) => {
      if (conflicts++ === 0) throw new ApiStatusError({ code: 409, reason: 'Conflict', message: 'changed' });
      return patch(...args);
    }) as ApiClient['patch'];
    client.get = (async () => pod('a', '11')) as ApiClient['get'];
    const sim = new PodSimulator({ client, limiter: new Limiter(4), nodes: [node], now: () => new Date(0), warn: () => {}, minWatchSpacingMs: 0 });
    sim.start();
    await sim.synced();
    await until(() => calls.some((c) => c.startsWith('start')));
    await sim.stop();
    assert.deepEqual(calls.filter((c) => c.startsWith('start')), ['start a@11 10.42.0.2']);
    assert.equal(sim.podStats().conflicts, 1);
  });
});
