// The stats paths on the agent's HTTPS server: the same client-certificate
// rules as logs and exec (kubelet's nodes/metrics and nodes/stats).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { APISERVER_KUBELET_CLIENT_USER, startStreamingServer, type RunningStreamingServer } from '../streaming/server.ts';
import { FakeStreamingBackend, testCertificateAuthority } from '../streaming/testing.ts';
import type { StatsSample, StatsSource } from './collector.ts';
import { createStatsEndpoints } from './endpoints.ts';

interface Credentials { cert: string; key: string }

const sample: StatsSample = {
  timestampMs: 1_800_000_000_000,
  node: { cpuUsageNs: 5e9, memoryWorkingSetBytes: 1e9, memoryUsageBytes: 2e9 },
  pods: [{ uid: 'u1', name: 'web', namespace: 'default', cgroupsPath: '/skiff/podu1-abc', usage: { cpuUsageNs: 2e9, memoryUsageBytes: 3e6, memoryWorkingSetBytes: 2e6, memoryRssBytes: 1e6, memoryCacheBytes: 1e6 }, containers: [] }],
  errors: 0,
};
const stats: StatsSource = { sample: async () => sample, history: () => [sample] };

describe('stats endpoints on the streaming server', () => {
  let dir: string;
  let server: RunningStreamingServer;
  let apiserver: Credentials;
  let admin: Credentials;
  let stranger: Credentials;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-stats-endpoints-'));
    const ca = await testCertificateAuthority();
    apiserver = await ca.issueClient({ commonName: APISERVER_KUBELET_CLIENT_USER });
    admin = await ca.issueClient({ commonName: 'someone', organizations: ['system:masters'] });
    stranger = await ca.issueClient({ commonName: 'system:node:other' });
    server = await startStreamingServer({
      backend: new FakeStreamingBackend({ cwd: dir }), address: '127.0.0.1', port: 0, clientCa: ca.caCert, certDir: join(dir, 'pki'), log: () => undefined,
      stats: createStatsEndpoints({ stats, nodeName: 'n1' }),
    });
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (path: string, credentials?: Credentials, method = 'GET'): Promise<{ status: number; type: string; body: string }> =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: server.port, path, method, rejectUnauthorized: false, ...credentials }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body }));
      });
      req.on('error', reject);
      req.end();
    });

  it('serves /metrics/resource, /metrics/cadvisor and /stats/summary to the API server', async () => {
    const resource = await get('/metrics/resource', apiserver);
    assert.equal(resource.status, 200);
    assert.match(resource.type, /^text\/plain; version=0\.0\.4/);
    assert.match(resource.body, /^node_cpu_usage_seconds_total 5 1800000000000$/m);
    assert.match(resource.body, /^pod_memory_working_set_bytes\{namespace="default",pod="web"\} 2000000 /m);
    assert.match((await get('/metrics/cadvisor', apiserver)).body, /^container_memory_usage_bytes\{container="",id="\/skiff\/podu1-abc",/m);
    assert.equal((await get('/metrics/resource', admin)).status, 200, 'a cluster admin may read them too');
    const summary = JSON.parse((await get('/stats/summary', apiserver)).body);
    assert.equal(summary.node.nodeName, 'n1');
    assert.equal(summary.pods[0].memory.workingSetBytes, 2e6);
  });

  it('refuses the anonymous (401) and other identities (403, naming the subresource); 405 for writes', async () => {
    assert.equal((await get('/metrics/resource')).status, 401);
    const forbidden = await get('/stats/summary', stranger);
    assert.equal(forbidden.status, 403);
    assert.match(JSON.parse(forbidden.body).message, /subresource\(s\)=\[stats\]/);
    assert.match(JSON.parse((await get('/metrics/cadvisor', stranger)).body).message, /subresource\(s\)=\[metrics\]/);
    assert.equal((await get('/metrics/resource', apiserver, 'POST')).status, 405);
  });
});
