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
