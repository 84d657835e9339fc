import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatCount, isCriticalPod } from './ranking.ts';
import { diskUsage, tasksInUse, workingSet } from './stats.ts';
import { conditionOf, hardReservation, parseDuration, parseThresholds, resourceOf, thresholdAmount } from './thresholds.ts';

const Mi = 1024 * 1024;

describe('eviction thresholds', () => {
  it('defaults to kubelet\'s hard thresholds', () => {
    const t = parseThresholds({});
    assert.deepEqual(t.map((x) => [x.signal, x.quantity ?? `${(x.percentage ?? 0) * 100}%`, x.hard]), [
      ['memory.available', 100 * Mi, true], ['nodefs.available', '10%', true], ['imagefs.available', '15%', true], ['nodefs.inodesFree', '5%', true],
    ]);
    assert.equal(thresholdAmount(t[1]!, 1000), 100);
  });

  it('parses hard and soft flags; soft ones need a grace period; 0 disables a signal', () => {
    const t = parseThresholds({ hard: 'memory.available<1Gi,pid.available<0', soft: 'nodefs.available<20%', softGracePeriod: 'nodefs.available=1m30s' });
    assert.deepEqual(t.map((x) => `${x.signal}:${x.hard}:${x.gracePeriodMs}`), ['memory.available:true:0', 'nodefs.available:false:90000']);
    assert.equal(t[0]!.quantityText, '1Gi');
    assert.throws(() => parseThresholds({ soft: 'memory.available<1Gi' }), /no grace period/);
    assert.throws(() => parseThresholds({ hard: 'cpu.available<1' }), /unsupported eviction signal cpu.available/);
    assert.throws(() => parseThresholds({ hard: 'memory.available>1Gi' }), /only "<"/);
    assert.throws(() => parseThresholds({ hard: 'nodefs.available<110%' }), /invalid percentage/);
  });

  it('durations, conditions, resources, the reservation of allocatable', () => {
    assert.equal(parseDuration('1h2m3s'), 3_723_000);
    assert.equal(parseDuration('500ms'), 500);
    assert.throws(() => parseDuration('5 minutes'), /invalid duration/);
    assert.equal(conditionOf('imagefs.inodesFree'), 'DiskPressure');
    assert.equal(conditionOf('pid.available'), 'PIDPressure');
    assert.equal(resourceOf('nodefs.available'), 'ephemeral-storage');
    assert.deepEqual(hardReservation(parseThresholds({}), { memoryBytes: 8000 * Mi, storageBytes: 1000 }), { memoryBytes: 100 * Mi, storageBytes: 100 });
    assert.deepEqual(hardReservation(parseThresholds({ hard: 'memory.available<0' }), { memoryBytes: 1, storageBytes: 1 }), { memoryBytes: 0, storageBytes: 0 });
  });

  it('reads the cgroup working set, tasks in use, disk usage; formats counts', async () => {
    assert.equal(workingSet('1000\n', 'cache 10\ntotal_inactive_file 300\n'), 700);
    assert.equal(tasksInUse('0.10 0.20 0.30 2/345 6789\n'), 345);
    assert.ok((await diskUsage(import.meta.dirname)) > 0);
    assert.equal(await diskUsage('/nonexistent/skiff'), 0);
    assert.equal(formatCount(5000), '5k');
    assert.equal(formatCount(12345), '12345');
  });

  it('critical pods: static, mirror, system priorities', () => {
    const pod = (metadata: Record<string, unknown>, priority?: number) => ({ metadata: { name: 'p', ...metadata }, spec: { priority } });
    assert.equal(isCriticalPod(pod({})), false);
    assert.equal(isCriticalPod(pod({}, 2_000_001_000)), true);
    assert.equal(isCriticalPod(pod({ annotations: { 'kubernetes.io/config.mirror': 'x' } })), true);
    assert.equal(isCriticalPod(pod({}, 1_000_000)), false);
  });
});
