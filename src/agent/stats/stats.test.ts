import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CONTAINER_NAME } from '../kubelet/labels.ts';
import type { ContainerStatus, PodSandboxStatus } from '../runtime/types.ts';
import { CgroupReader, nodeCpuNsFromProcStat, nodeMemoryFromMeminfo, usageFromV1, usageFromV2 } from './cgroup.ts';
import { baselineFor, cpuNanoCores, podCgroupsPath, StatsCollector } from './collector.ts';
import { createStatsEndpoints } from './endpoints.ts';
import { renderCadvisorMetrics, renderResourceMetrics } from './prometheus.ts';
import { renderSummary } from './summary.ts';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'testdata', name), 'utf8');

describe('cgroup parsing', () => {
  test('v1: cpuacct.usage, working set = usage − total_inactive_file, rss and cache', () => {
    const usage = usageFromV1({ cpuacctUsage: fixture('cpuacct.usage.v1'), memoryUsage: fixture('memory.usage_in_bytes.v1'), memoryStat: fixture('memory.stat.v1') });
    assert.deepEqual(usage, { cpuUsageNs: 12_500_000_000, memoryUsageBytes: 3_502_080, memoryWorkingSetBytes: 3_502_080 - 1_122_304, memoryRssBytes: 1_228_800, memoryCacheBytes: 2_269_184 });
  });

  test('v2: cpu.stat usage_usec, memory.current − inactive_file', () => {
    const usage = usageFromV2({ cpuStat: fixture('cpu.stat.v2'), memoryCurrent: fixture('memory.current.v2'), memoryStat: fixture('memory.stat.v2') });
    assert.deepEqual(usage, { cpuUsageNs: 7_250_000_000, memoryUsageBytes: 8_388_608, memoryWorkingSetBytes: 8_388_608 - 2_097_152, memoryRssBytes: 4_194_304, memoryCacheBytes: 3_145_728 });
  });

  test('the working set never goes below zero', () => {
    const usage = usageFromV1({ cpuacctUsage: '0', memoryUsage: '100', memoryStat: 'total_inactive_file 4096\n' });
    assert.equal(usage.memoryWorkingSetBytes, 0);
  });

  test('node CPU from /proc/stat: busy ticks (not idle, iowait, guest) in ns; memory from meminfo', () => {
    assert.equal(nodeCpuNsFromProcStat(fixture('proc-stat')), (1000 + 50 + 300 + 20 + 30 + 5) * 10_000_000);
    assert.equal(nodeCpuNsFromProcStat('nothing here'), undefined);
    assert.deepEqual(nodeMemoryFromMeminfo(fixture('meminfo')), { totalBytes: 4_030_000 * 1024, workingSetBytes: 1_030_000 * 1024 });
  });

  test('CPU rate in nanocores; none across a restart or without elapsed time', () => {
    assert.equal(cpuNanoCores({ cpuUsageNs: 1e9, timestampMs: 0 }, { cpuUsageNs: 3e9, timestampMs: 10_000 }), 200_000_000);
    assert.equal(cpuNanoCores({ cpuUsageNs: 5e9, timestampMs: 0 }, { cpuUsageNs: 1e9, timestampMs: 10_000 }), undefined);
    assert.equal(cpuNanoCores({ cpuUsageNs: 1e9, timestampMs: 5 }, { cpuUsageNs: 2e9, timestampMs: 5 }), undefined);
  });
});

describe('collector over a cgroup v1 tree', () => {
  const root = mkdtempSync(join(tmpdir(), 'skiff-stats-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  const sandboxId = 'abcdef0123456789abcdef';
  const podPath = podCgroupsPath('/skiff', 'uid-1', sandboxId);
  const setCpu = (path: string, ns: number) => write(`cpuacct${path}/cpuacct.usage`, `${ns}\n`);
  const setMemory = (path: string, usage: number, inactive: number) => {
    write(`memory${path}/memory.usage_in_bytes`, `${usage}\n`);
    write(`memory${path}/memory.stat`, `rss ${usage - inactive}\ntotal_inactive_file ${inactive}\n`);
  };
  setCpu('', 900e9);
  setMemory('', 2e9, 5e8);
  setCpu(podPath, 3e9);
  setMemory(podPath, 30e6, 10e6);
  setCpu(`${podPath}/c1`, 2e9);
  setMemory(`${podPath}/c1`, 20e6, 5e6);
  const sandbox: PodSandboxStatus = { id: sandboxId, podUid: 'uid-1', namespace: 'default', name: 'web', attempt: 0, state: 'ready', createdAt: 0, labels: {} };
  const containers: ContainerStatus[] = [
    { id: 'c1', sandboxId, name: 'app', attempt: 0, state: 'running', createdAt: 0, startedAt: 1_700_000_000_000, finishedAt: 0, imageId: '', logPath: '', labels: { [CONTAINER_NAME]: 'app' } },
    { id: 'c0', sandboxId, name: 'app', attempt: 0, state: 'exited', createdAt: 0, startedAt: 1, finishedAt: 2, imageId: '', logPath: '', labels: { [CONTAINER_NAME]: 'app' } },
  ];
  let now = 1_800_000_000_000;
  const collector = new StatsCollector({
    runtime: { listPodSandboxes: async () => [sandbox, { ...sandbox, id: 'gone', state: 'notready' }], listContainers: async () => containers },
    cgroups: new CgroupReader({ root, unified: false }),
    now: () => now,
  });

  test('a sample: node from the root cgroup, the pod cgroup, running containers only', async () => {
    const sample = await collector.sample();
    assert.deepEqual(sample.node, { cpuUsageNs: 900e9, memoryWorkingSetBytes: 1.5e9, memoryUsageBytes: 2e9 });
    assert.equal(sample.pods.length, 1);
    assert.equal(sample.pods[0]!.usage?.memoryWorkingSetBytes, 20e6);
    assert.deepEqual(sample.pods[0]!.containers.map((c) => [c.name, c.usage.cpuUsageNs, c.usage.memoryWorkingSetBytes]), [['app', 2e9, 15e6]]);
    assert.equal(sample.errors, 0);
    assert.equal(await collector.sample(), sample, 'a request within the minimum interval reuses the sample');
  });

  test('/metrics/resource in the kubelet\'s names with sample timestamps', async () => {
    const text = renderResourceMetrics(await collector.sample());
    assert.match(text, /^# TYPE container_cpu_usage_seconds_total counter$/m);
    assert.match(text, new RegExp(`^container_cpu_usage_seconds_total\\{container="app",namespace="default",pod="web"\\} 2 ${now}$`, 'm'));
    assert.match(text, new RegExp(`^container_memory_working_set_bytes\\{container="app",namespace="default",pod="web"\\} 15000000 ${now}$`, 'm'));
    assert.match(text, new RegExp(`^node_cpu_usage_seconds_total 900 ${now}$`, 'm'));
    assert.match(text, new RegExp(`^node_memory_working_set_bytes 1500000000 ${now}$`, 'm'));
    assert.match(text, new RegExp(`^pod_cpu_usage_seconds_total\\{namespace="default",pod="web"\\} 3 ${now}$`, 'm'));
    assert.match(text, /^container_start_time_seconds\{container="app",namespace="default",pod="web"\} 1700000000 1700000000000$/m);
    assert.match(text, /^resource_scrape_error 0$/m);
  });

  test('/metrics/cadvisor: one series per cgroup, the root as id="/"', async () => {
    const text = renderCadvisorMetrics(await collector.sample());
    assert.match(text, /^container_cpu_usage_seconds_total\{container="",id="\/",image="",name="",namespace="",pod=""\} 900 /m);
    assert.match(text, new RegExp(`^container_memory_usage_bytes\\{container="app",id="${podPath}/c1",image="",name="c1",namespace="default",pod="web"\\} 20000000 `, 'm'));
    assert.match(text, /^container_memory_rss\{container="app".* 15000000 /m);
  });

  test('summary: rates from the ring over at least the minimum window', async () => {
    const first = await collector.sample();
    now += 10_000;
    setCpu(`${podPath}/c1`, 2e9 + 1.5e9); // 150m over 10 s
    setCpu(podPath, 3e9 + 2e9);
    setCpu('', 900e9 + 10e9);
    const second = await collector.sample();
    assert.notEqual(second, first);
    assert.equal(baselineFor(collector.history(), second, 10_000), first);
    const summary = renderSummary({ nodeName: 'n1', latest: second, history: collector.history() }) as any;
    assert.equal(summary.node.cpu.usageNanoCores, 1_000_000_000);
    assert.equal(summary.pods[0].cpu.usageNanoCores, 200_000_000);
    assert.equal(summary.pods[0].containers[0].cpu.usageNanoCores, 150_000_000);
    assert.equal(summary.pods[0].containers[0].memory.workingSetBytes, 15e6);
    assert.equal(summary.pods[0].podRef.uid, 'uid-1');
  });

  test('a container whose cgroup vanished is counted as a scrape error', async () => {
    now += 5000;
    rmSync(join(root, `cpuacct${podPath}/c1`), { recursive: true });
    const endpoints = createStatsEndpoints({ stats: collector, nodeName: 'n1' });
    const { body, contentType } = await endpoints.serve('/metrics/resource');
    assert.match(contentType, /^text\/plain; version=0\.0\.4/);
    assert.match(body, /^resource_scrape_error 1$/m);
    assert.doesNotMatch(body, /^container_cpu_usage_seconds_total\{/m);
  });
});
