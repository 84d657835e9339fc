import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cpuQuantity, goDuration, memoryQuantity } from './handler.ts';
import { parsePrometheusText } from './prometheus-text.ts';
import { MetricsScraper, readScrape, usageFromScrapes } from './scraper.ts';

const exposition = (o: { t: number; nodeCpu: number; appCpu: number; sideCpu?: number; start?: number }) => `
# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds
# TYPE container_cpu_usage_seconds_total counter
container_cpu_usage_seconds_total{container="app",namespace="default",pod="web"} ${o.appCpu} ${o.t}
${o.sideCpu !== undefined ? `container_cpu_usage_seconds_total{container="side",namespace="default",pod="web"} ${o.sideCpu} ${o.t}` : ''}
container_memory_working_set_bytes{container="app",namespace="default",pod="web"} 1.048576e+07 ${o.t}
${o.sideCpu !== undefined ? `container_memory_working_set_bytes{container="side",namespace="default",pod="web"} 2048 ${o.t}` : ''}
container_start_time_seconds{container="app",namespace="default",pod="web"} ${o.start ?? 1000} ${(o.start ?? 1000) * 1000}
node_cpu_usage_seconds_total ${o.nodeCpu} ${o.t}
node_memory_working_set_bytes 2.147483648e+09 ${o.t}
resource_scrape_error 0
`;

describe('Prometheus text', () => {
  test('samples with labels (escapes), values in exponent form and timestamps; comments skipped', () => {
    const samples = parsePrometheusText('# HELP x y\nx{a="1",b="q\\"uote\\\\"} 1.5e+03 1700000000000\ny 2\nbad{ 3\n');
    assert.deepEqual(samples, [
      { name: 'x', labels: { a: '1', b: 'q"uote\\' }, value: 1500, timestampMs: 1_700_000_000_000 },
      { name: 'y', labels: {}, value: 2 },
    ]);
  });
});

describe('usage from two scrapes', () => {
  test('CPU as the rate over the window between the samples, memory as the newest reading', () => {
    const older = readScrape(exposition({ t: 100_000, nodeCpu: 50, appCpu: 10 }), 100_000);
    const newer = readScrape(exposition({ t: 115_000, nodeCpu: 65, appCpu: 11.5 }), 115_000);
    const usage = usageFromScrapes(older, newer);
    assert.deepEqual(usage.node, { cpuNanoCores: 1_000_000_000, memoryBytes: 2_147_483_648, windowMs: 15_000, timestampMs: 115_000 });
    assert.deepEqual(usage.pods.get('default/web'), { timestampMs: 115_000, windowMs: 15_000, containers: [{ name: 'app', cpuNanoCores: 100_000_000, memoryBytes: 10_485_760 }] });
  });

  test('a restarted container (new start time, counter reset) has no rate, so its pod is left out', () => {
    const older = readScrape(exposition({ t: 100_000, nodeCpu: 50, appCpu: 10 }), 100_000);
    const newer = readScrape(exposition({ t: 115_000, nodeCpu: 65, appCpu: 0.5, start: 1110 }), 115_000);
    assert.equal(usageFromScrapes(older, newer).pods.size, 0);
  });

  test('a pod is reported only when every container has a rate', () => {
    const older = readScrape(exposition({ t: 100_000, nodeCpu: 50, appCpu: 10 }), 100_000);
    const newer = readScrape(exposition({ t: 115_000, nodeCpu: 65, appCpu: 11, sideCpu: 1 }), 115_000);
    assert.equal(usageFromScrapes(older, newer).pods.size, 0);
  });
});

describe('MetricsScraper', () => {
  test('first request scrapes twice (a short first window); later ones reuse scrapes within the resolution', async () => {
    let now = 1_000_000;
    let cpu = 10;
    let fetches = 0;
    const scraper = new MetricsScraper({
      resolutionMs: 15_000,
      now: () => now,
      sleep: async (ms) => { now += ms; },
      targets: async () => [{ nodeName: 'n1', fetch: async () => { fetches++; cpu += 0.25; return exposition({ t: now, nodeCpu: 100 + fetches, appCpu: cpu }); } }],
    });
    try {
      const first = await scraper.current();
      assert.equal(fetches, 2);
      assert.equal(first.get('n1')?.pods.get('default/web')?.containers[0]?.cpuNanoCores, 250_000_000, '0.25 s of CPU over a 1 s first window');
      now += 5000;
      await scraper.current();
      assert.equal(fetches, 2, 'within the resolution: no new scrape');
      now += 15_000;
      const later = await scraper.current();
      assert.equal(fetches, 3);
      assert.equal(later.get('n1')?.node?.windowMs, 20_000);
    } finally {
      scraper.stop();
    }
  });

  test('a node that fails to answer is reported and has no metrics', async () => {
    const logged: string[] = [];
    const scraper = new MetricsScraper({ now: () => 0, sleep: async () => undefined, log: (m) => logged.push(m), targets: async () => [{ nodeName: 'down', fetch: async () => { throw new Error('connection refused'); } }] });
    try {
      assert.equal((await scraper.current()).size, 0);
      assert.match(logged[0]!, /scraping node "down": connection refused/);
    } finally {
      scraper.stop();
    }
  });
});

describe('formatting as metrics-server does', () => {
  test('CPU quantities in canonical form from nanocores', () => {
    assert.equal(cpuQuantity(250_000_000), '250m');
    assert.equal(cpuQuantity(2_000_000_000), '2');
    assert.equal(cpuQuantity(123_456_789), '123456789n');
    assert.equal(cpuQuantity(5000), '5u');
    assert.equal(cpuQuantity(0), '0');
  });
  test('memory with the largest exact binary suffix', () => {
    assert.equal(memoryQuantity(10_485_760), '10Mi');
    assert.equal(memoryQuantity(1536), '1536');
    assert.equal(memoryQuantity(2048), '2Ki');
  });
  test('windows as Go durations', () => {
    assert.equal(goDuration(15_000), '15s');
    assert.equal(goDuration(1500), '1.5s');
    assert.equal(goDuration(60_000), '1m0s');
    assert.equal(goDuration(90_250), '1m30.25s');
  });
});

describe('the metrics.k8s.io handler', async () => {
  const { builtinKinds } = await import('../../api/registry.ts');
  const { MetricsApi } = await import('./handler.ts');
  const { parseRequestInfo } = await import('../request-info.ts');
  const registry = builtinKinds();
  const node = (name: string, labels: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels } });
  const podOn = (name: string, nodeName: string, labels: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels }, spec: { nodeName } });
  const objects: Record<string, any[]> = {
    nodes: [node('real', { zone: 'a' }), node('hollow', { 'skiff.dev/simulated': 'true' })],
    pods: [podOn('web', 'real', { app: 'web' }), podOn('db', 'real', { app: 'db' }), podOn('sim', 'hollow', { app: 'web' })],
  };
  const parts = {
    registry,
    store: { list: async (info: { plural: string }, request: { namespace?: string }) => ({ items: objects[info.plural]!.filter((o) => !request.namespace || o.metadata.namespace === request.namespace) }) },
  };
  const usage = new Map([['real', {
    node: { cpuNanoCores: 1_500_000_000, memoryBytes: 1024 ** 3, timestampMs: Date.parse('2026-11-22T10:00:00Z'), windowMs: 15_000 },
    pods: new Map([
      ['default/web', { timestampMs: Date.parse('2026-11-22T10:00:00Z'), windowMs: 15_000, containers: [{ name: 'app', cpuNanoCores: 250_000_000, memoryBytes: 20 * 1024 ** 2 }] }],
      ['default/db', { timestampMs: Date.parse('2026-11-22T10:00:00Z'), windowMs: 15_000, containers: [{ name: 'pg', cpuNanoCores: 1_000_000, memoryBytes: 1536 }] }],
    ]),
  }]]);
  const api = new MetricsApi({ parts: parts as never, scraper: { current: async () => usage as never }, now: () => Date.parse('2026-11-22T10:00:05Z') });
  const call = async (method: string, path: string) => {
    const url = new URL(path, 'https://x');
    let code = 0;
    let body = '';
    const res = { writeHead(c: number) { code = c; return res; }, end(text: string) { body = text; } };
    try {
      await api.handle({ info: parseRequestInfo(method, url.pathname, url.searchParams), query: url.searchParams, res: res as never });
    } catch (error) {
      return { code: (error as { code: number }).code, body: (error as Error).message };
    }
    return { code, body: JSON.parse(body) };
  };

  test('NodeMetrics: real nodes only, with usage, window and labels', async () => {
    const { code, body } = await call('GET', '/apis/metrics.k8s.io/v1beta1/nodes');
    assert.equal(code, 200);
    assert.equal(body.kind, 'NodeMetricsList');
    assert.deepEqual(body.items.map((i: any) => [i.metadata.name, i.usage.cpu, i.usage.memory, i.window, i.timestamp]), [['real', '1500m', '1Gi', '15s', '2026-11-22T10:00:00Z']]);
    assert.equal((await call('GET', '/apis/metrics.k8s.io/v1beta1/nodes/hollow')).code, 404);
    assert.equal((await call('GET', '/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=zone%3Db')).body.items.length, 0);
  });

  test('PodMetrics: a pod on a simulated node has none (404 by name, left out of lists); selectors apply', async () => {
    const list = await call('GET', '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?labelSelector=app%3Dweb');
    assert.deepEqual(list.body.items.map((i: any) => [i.metadata.name, i.containers]), [['web', [{ name: 'app', usage: { cpu: '250m', memory: '20Mi' } }]]]);
    const missing = await call('GET', '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/sim');
    assert.deepEqual(missing, { code: 404, body: 'podmetrics.metrics.k8s.io "sim" not found' });
    const all = await call('GET', '/apis/metrics.k8s.io/v1beta1/pods');
    assert.deepEqual(all.body.items.map((i: any) => i.metadata.name).sort(), ['db', 'web']);
    assert.equal((await call('GET', '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?fieldSelector=metadata.name%3Ddb')).body.items[0].containers[0].usage.cpu, '1m');
  });

  test('read-only: other verbs are 405; bad selectors 400', async () => {
    assert.equal((await call('POST', '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods')).code, 405);
    assert.equal((await call('GET', '/apis/metrics.k8s.io/v1beta1/pods?labelSelector=a%3D%3D%3Db')).code, 400);
  });
});
