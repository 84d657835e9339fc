// The etcd store when etcd fails: calls fail fast with StorageUnavailableError
// (no hang), readiness reports it, and reads, writes and watches recover by
// themselves when etcd returns; a 3-member cluster loses no acknowledged
// write when its leader is killed.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { StorageUnavailableError, type Store, type WatchEvent } from '../interface.ts';
import { openEtcdStore } from './etcd-store.ts';
import { startEtcd, type EtcdCluster } from './launcher.ts';

const CALL_TIMEOUT_MS = 1_500;

async function eventually<T>(check: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/** Rejects with StorageUnavailableError, and within `withinMs`. */
async function failsFast(call: Promise<unknown>, withinMs: number, timeout: boolean): Promise<void> {
  const started = Date.now();
  await assert.rejects(call, (error: unknown) => {
    assert.ok(error instanceof StorageUnavailableError, `expected StorageUnavailableError, got ${String(error)}`);
    assert.equal(error.timeout, timeout, error.message);
    return true;
  });
  const took = Date.now() - started;
  assert.ok(took < withinMs, `took ${took} ms`);
}

/** Reads watch events in the background (so a test can check them later). */
function record(store: Store, fromRevision: number): { events: WatchEvent[]; stop(): void } {
  const watch = store.watch({ prefix: '/f/', fromRevision });
  const events: WatchEvent[] = [];
  void (async () => {
    for await (const event of watch.events) events.push(event);
  })();
  return { events, stop: () => watch.stop() };
}

describe('etcd store failures', () => {
  const clusters: EtcdCluster[] = [];
  const stores: Store[] = [];
  after(async () => {
    await Promise.all(stores.map((store) => store.close()));
    await Promise.all(clusters.map((cluster) => cluster.stop()));
  });

  it('fails fast while etcd is down and recovers reads, writes, readiness and watches by itself', async () => {
    const etcd = await startEtcd();
    clusters.push(etcd);
    const store = await openEtcdStore({ endpoints: etcd.endpoints, callTimeoutMs: CALL_TIMEOUT_MS, compactIntervalMs: 0 });
    stores.push(store);
    const before = await store.create('/f/before', '1');
    const watch = record(store, 0);
    await eventually(async () => assert.equal(watch.events.length, 1));

    await etcd.members[0]!.kill('SIGKILL');
    await failsFast(store.get('/f/before'), CALL_TIMEOUT_MS + 1_000, false);
    await failsFast(store.create('/f/during', 'x'), CALL_TIMEOUT_MS + 1_000, false);
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // past the cached healthy answer
    await failsFast(store.checkHealth(), 3_000, false);

    await etcd.members[0]!.restart();
    assert.equal((await eventually(() => store.get('/f/before')))?.value, '1');
    await eventually(() => store.checkHealth());
    const afterRestart = await eventually(() => store.create('/f/after', '2'));
    // The watch reconnected from where it was: the next write, nothing lost or repeated.
    await eventually(async () => assert.equal(watch.events.length, 2));
    assert.deepEqual(watch.events.map((event) => [event.kv.key, event.revision]), [
      ['/f/before', before.modRevision],
      ['/f/after', afterRestart.modRevision],
    ]);
    watch.stop();
  });

  it('times out (no hang) while etcd is frozen, and goes on when it thaws', async () => {
    const etcd = await startEtcd();
    clusters.push(etcd);
    const store = await openEtcdStore({ endpoints: etcd.endpoints, callTimeoutMs: CALL_TIMEOUT_MS, compactIntervalMs: 0 });
    stores.push(store);
    const first = await store.create('/f/a', '1');
    const watch = record(store, first.modRevision);
    const member = etcd.members[0]!;
    await member.pause();
    try {
      await failsFast(store.get('/f/a'), CALL_TIMEOUT_MS + 1_500, true);
      await failsFast(store.update('/f/a', '2', first.modRevision), CALL_TIMEOUT_MS + 1_500, true);
    } finally {
      member.resume();
    }
    // The update that timed out may or may not have been applied: read before writing.
    const current = await eventually(async () => (await store.get('/f/a'))!);
    const next = await store.update('/f/a', 'thawed', current.modRevision);
    await eventually(async () => assert.equal(watch.events.at(-1)?.revision, next.modRevision));
    watch.stop();
  });

  it('loses no acknowledged write when the leader of a 3-member cluster is killed', async () => {
    const etcd = await startEtcd({ members: 3 });
    clusters.push(etcd);
    const store = await openEtcdStore({ endpoints: etcd.endpoints, callTimeoutMs: 3_000, compactIntervalMs: 0 });
    stores.push(store);
    const acknowledged: string[] = [];
    let failed = 0;
    const writeUntil = async (count: number, deadline: number) => {
      for (let i = acknowledged.length + failed; acknowledged.length < count && Date.now() < deadline; i++) {
        const key = `/f/${String(i).padStart(5, '0')}`;
        try {
          await store.create(key, `value ${i}`);
          acknowledged.push(key);
        } catch (error) {
          assert.ok(error instanceof StorageUnavailableError, String(error));
          failed++;
        }
      }
    };
    await writeUntil(100, Date.now() + 30_000);
    const leader = await findLeader(etcd);
    // Kill the leader while writes are in flight.
    const writing = writeUntil(300, Date.now() + 60_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await leader.kill('SIGKILL');
    await writing;
    assert.ok(acknowledged.length >= 300, `only ${acknowledged.length} writes acknowledged (${failed} failed)`);

    // Read back through the survivors only.
    const survivors = etcd.members.filter((member) => member !== leader).map((member) => member.clientUrl);
    const reader = await openEtcdStore({ endpoints: survivors, compactIntervalMs: 0 });
    stores.push(reader);
    const stored = new Set((await reader.list({ prefix: '/f/' })).items.map((item) => item.key));
    const lost = acknowledged.filter((key) => !stored.has(key));
    assert.deepEqual(lost, [], `${lost.length} acknowledged writes lost`);
  });
});

/** The member that is the raft leader now (etcd's JSON gateway status call). */
async function findLeader(etcd: EtcdCluster) {
  for (const member of etcd.members) {
    const response = await fetch(`${member.clientUrl}/v3/maintenance/status`, { method: 'POST', body: '{}' });
    const status = (await response.json()) as { header: { member_id: string }; leader: string };
    if (status.header.member_id === status.leader) return member;
  }
  throw new Error('no leader');
}
