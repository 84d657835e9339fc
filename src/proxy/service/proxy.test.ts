// The proxy's sync loop against a real in-process API server, with a fake nft
// that records what it was asked to apply (no kernel involved).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRestClient, type RestClient } from '../../client/rest-client.ts';
import { startInProcessServer, type InProcessServer } from '../../../test/support/in-process-server.ts';
import { waitFor } from '../../util/wait-for.ts';
import { NftError, type NftRunner } from './nft.ts';
import { startServiceProxy, type ServiceProxy } from './proxy.ts';

const services = { group: '', version: 'v1', resource: 'services', namespace: 'default' };
const slices = { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', namespace: 'default' };
const quiet = { info: () => undefined, warn: () => undefined };

interface FakeNft {
  runner: NftRunner;
  applied: string[];
  calls: string[][];
  failNext: number;
  tableGone: boolean;
}

function fakeNft(): FakeNft {
  const fake: FakeNft = {
    applied: [], calls: [], failNext: 0, tableGone: false,
    runner: async (argv, stdin) => {
      fake.calls.push(argv);
      if (argv[0] === 'list') {
        if (fake.tableGone) throw new NftError({ argv, exitCode: 1, stderr: 'Error: No such file or directory' });
        return { stdout: '', stderr: '' };
      }
      if (fake.failNext > 0) {
        fake.failNext--;
        throw new NftError({ argv, exitCode: 1, stderr: 'Error: Could not process rule' });
      }
      fake.applied.push(stdin ?? '');
      fake.tableGone = false;
      return { stdout: '', stderr: '' };
    },
  };
  return fake;
}

describe('startServiceProxy', () => {
  let server: InProcessServer;
  let client: RestClient;
  const proxies: ServiceProxy[] = [];

  before(async () => {
    server = await startInProcessServer();
    client = createRestClient({ server: server.url, caCert: server.caCert, token: server.token });
  });
  after(async () => {
    for (const p of proxies) await p.stop();
    await client.close();
    await server.close();
  });

  const start = async (nft: FakeNft, extra: { resyncMs?: number; debounceMs?: number; minSyncIntervalMs?: number } = {}) => {
    const proxy = await startServiceProxy({ client, nodeName: 'node-a', nodeIps: ['192.0.2.10'], clusterCidr: '10.42.0.0/16', nft: nft.runner, conntrack: null, logger: quiet, ...extra });
    proxies.push(proxy);
    return proxy;
  };

  it('applies the whole table once the caches listed, then only when something changed', async () => {
    const nft = fakeNft();
    const proxy = await start(nft);
    assert.equal(nft.applied.length, 1, 'the first sync happens before start returns');
    assert.deepEqual(nft.calls[0], ['-f', '-']);
    assert.match(nft.applied[0], /^table ip skiff \{\}\ndelete table ip skiff\ntable ip skiff \{/);
    assert.equal(proxy.lastSync?.applied, true);
    const again = await proxy.sync();
    assert.equal(again.applied, false, 'the same ruleset is not applied twice');
    assert.equal(nft.applied.length, 1);
    assert.ok(again.rules > 0 && again.chains > 0 && again.durationMs >= 0);
  });

  it('debounces a burst of changes into few syncs that end with all of them', async () => {
    const nft = fakeNft();
    const proxy = await start(nft, { debounceMs: 50, minSyncIntervalMs: 200 });
    const before = nft.applied.length;
    const created = await Promise.all(Array.from({ length: 8 }, (_, i) => client.create<any>(services, {
      apiVersion: 'v1', kind: 'Service', metadata: { name: `burst-${i}` }, spec: { ports: [{ name: 'http', port: 80, targetPort: 'web' }] },
    })));
    await Promise.all(created.map((svc) => client.create(slices, {
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', addressType: 'IPv4',
      metadata: { name: `${svc.metadata.name}-x`, labels: { 'kubernetes.io/service-name': svc.metadata.name } },
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: [{ addresses: ['10.42.0.7'], conditions: { ready: true }, nodeName: 'node-a' }],
    })));
    // The first sync replaced the table; the later ones add only what changed.
    await waitFor('every burst service DNATed to its endpoint', () => {
      const since = nft.applied.slice(before).join('\n');
      return created.every((svc) => since.includes(`${svc.spec.clusterIP} . tcp . 80 : goto service-`));
    });
    assert.ok(nft.applied.slice(before).every((text) => /^(delete|flush|add) /.test(text) && !text.includes('delete table')), 'partial syncs');
    assert.equal(proxy.lastSync?.mode, 'partial');
    const syncs = nft.applied.length - before;
    // 16 objects arrived one by one; spaced syncs (≥ 200 ms apart) coalesce them.
    assert.ok(syncs >= 1 && syncs <= 6, `${syncs} syncs for 16 changes`);
    assert.match(nft.applied.slice(before).join('\n'), /add rule ip skiff endpoint-\S+ meta l4proto tcp dnat to 10\.42\.0\.7:8080/);
    const all = (await client.list<any>({ group: '', version: 'v1', resource: 'services' })).items;
    const ports = all.filter((svc) => svc.spec.clusterIP && svc.spec.clusterIP !== 'None').reduce((n, svc) => n + svc.spec.ports.length, 0);
    assert.ok(ports >= 9, 'the 8 services and default/kubernetes (and whatever the server bootstraps)');
    assert.equal(proxy.lastSync?.servicePorts, ports);
  });

  it('retries a failed apply with backoff and reports the error', async () => {
    const nft = fakeNft();
    nft.failNext = 2;
    const proxy = await start(nft);
    assert.match(proxy.lastSync?.error ?? '', /Could not process rule/);
    // Backoff 0.5 s, then 1 s: the third attempt applies.
    await waitFor('the retried apply', () => nft.applied.length === 1, 10_000);
    assert.equal(proxy.lastSync?.error, undefined);
    assert.equal(nft.calls.filter((argv) => argv[0] === '-f').length, 3);
    // A failed apply forgets what was applied, so the next sync applies even an unchanged ruleset.
    nft.failNext = 1;
    nft.tableGone = false;
    await client.create(services, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'after-failure' }, spec: { ports: [{ port: 81 }] } });
    await waitFor('the failure and the retry after it', () => nft.applied.length === 2, 10_000);
    assert.match(nft.applied[1], / \. tcp \. 81 : goto reject-chain/, 'the new service (no endpoints: rejected)');
  });

  it('deletes the conntrack entries of endpoints a UDP service lost', async () => {
    const nft = fakeNft();
    const deleted: string[][] = [];
    const proxy = await startServiceProxy({
      client, nodeName: 'node-a', nodeIps: ['192.0.2.10'], clusterCidr: '10.42.0.0/16', nft: nft.runner, logger: quiet,
      conntrack: async (argv) => { deleted.push(argv); },
    });
    proxies.push(proxy);
    const svc = await client.create<any>(services, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'udp' }, spec: { ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] } });
    const sliceBody = (ips: string[]) => ({
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', addressType: 'IPv4',
      metadata: { name: 'udp-1', labels: { 'kubernetes.io/service-name': 'udp' } },
      ports: [{ name: 'dns', port: 5353, protocol: 'UDP' }],
      endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
    });
    const created = await client.create<any>(slices, sliceBody(['10.42.0.21', '10.42.0.22']));
    await waitFor('both endpoints in the rules', () => nft.applied.join('\n').includes('dnat to 10.42.0.22:5353'));
    await client.update({ ...slices, name: 'udp-1' }, { ...sliceBody(['10.42.0.22']), metadata: { ...created.metadata } });
    await waitFor('the lost endpoint\'s flows deleted', () => deleted.some((argv) => argv.includes('10.42.0.21')));
    assert.deepEqual(deleted.find((argv) => argv.includes('10.42.0.21')), ['-D', '-p', 'udp', '--orig-dst', svc.spec.clusterIP, '--orig-port-dst', '53', '--dst-nat', '10.42.0.21']);
  });

  it('puts the table back when it vanished, without a change', async () => {
    const nft = fakeNft();
    await start(nft, { resyncMs: 100 });
    const before = nft.applied.length;
    nft.tableGone = true;
    await waitFor('the table to be applied again', () => nft.applied.length > before, 5_000);
    assert.equal(nft.applied.at(-1), nft.applied[before - 1]);
  });
});
