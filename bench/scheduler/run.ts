// One measured configuration: start the real scheduler in this process
// (startScheduler over its own REST client), create the initial pods and wait
// until they are bound (not measured), create the measured pods with a pool
// of concurrent requests, wait until they are bound, stop the scheduler and
// delete every pod.
import { performance } from 'node:perf_hooks';
import { createRestClient } from '../../src/client/rest-client.ts';
import type { SchedulerConfiguration } from '../../src/scheduler/config.ts';
import type { SpeedOptions } from '../../src/scheduler/framework/equivalence.ts';
import type { Framework } from '../../src/scheduler/framework/runtime.ts';
import { startScheduler, type RunningScheduler } from '../../src/scheduler/scheduler.ts';
import type { Deadline } from '../lib/env.ts';
import { startCpuMeter, type CpuUse } from '../lib/server.ts';
import { percentile } from '../lib/stats.ts';
import { createPods, deleteAllPods, type Cluster, type PodToCreate } from './cluster.ts';
import { keyOf } from './workloads.ts';

export interface RunSpec {
  label: string;
  speed?: Partial<SpeedOptions>;
  config?: SchedulerConfiguration;
  initial: readonly PodToCreate[];
  measured: readonly PodToCreate[];
}

export interface RunOptions {
  concurrency: number;
  /** The scheduler's maxBindingsInFlight (undefined: its default). */
  maxBindingsInFlight?: number;
  deadline: Deadline;
  /** A phase fails when no pod got bound for this long. */
  stallMs: number;
  log: (message: string) => void;
}

export interface RunResult {
  measured: number;
  /** First measured create issued → last measured pod seen bound. */
  seconds: number;
  podsPerSecond: number;
  /** Create acknowledged → bound event arrived, per measured pod (0 when the event came first). */
  latenciesMs: number[];
  /**
   * Create acknowledged → the pod's ADDED event on the benchmark's watch (an
   * informer's view of the new pod): how far behind the API server's watch
   * delivery runs. Pods first seen already bound are left out.
   */
  watchLagMs: number[];
  /** Events that arrived before their create's acknowledgement. */
  boundBeforeAck: number;
  /** How fast the pool created the measured pods. */
  createsPerSecond: number;
  /** Median of the per-second binding rates over the measured phase's whole seconds (scheduler_perf's Perc50). */
  windowRateP50: number;
  /** Where each measured pod went, in the order of `measured`. */
  nodes: string[];
  /** Where each initial pod went, in the order of `initial`. */
  initialNodes: string[];
  scheduler: { attempts: number; scheduled: number; unschedulable: number; errors: number };
  /** From the framework's counters (read from the running scheduler; see defaultFramework()). */
  framework?: { cycles: number; nodesFilteredPerCycle: number; nodesScoredPerCycle: number; filterHitRate: number | null; scoreHitRate: number | null };
  /** Each scheduling cycle's duration during the measured phase (empty if it could not be timed). */
  cycleMs: number[];
  /** Sampled every 100 ms during the measured phase: pods waiting in the active queue, bindings in flight. */
  queue: { activeMean: number; activeMax: number; bindingsInFlightMean: number };
  cpu: CpuUse;
  /** How often the configuration was measured (set by the caller, which keeps the least disturbed run). */
  measurements?: number;
  /** The scheduler's informers synced (start-up, not measured), ms. */
  startMs: number;
}

interface FrameworkCounters {
  cycles: number;
  nodesFiltered: number;
  nodesScored: number;
  filterHits: number;
  filterMisses: number;
  scoreHits: number;
  scoreMisses: number;
}

/**
 * The default profile's Framework. RunningScheduler does not expose it, so
 * this reads the scheduler's (TypeScript-private) `frameworks` map; undefined
 * if that ever changes shape, and the figures that need it are left out.
 */
function defaultFramework(scheduler: RunningScheduler): Framework | undefined {
  const frameworks = (scheduler as unknown as { frameworks?: unknown }).frameworks;
  const fw = frameworks instanceof Map ? (frameworks.get('default-scheduler') as Framework | undefined) : undefined;
  return fw?.stats && fw.equivalenceCache?.stats && typeof fw.schedule === 'function' ? fw : undefined;
}

/** The framework's counters: cycles, nodes filtered and scored, equivalence/score cache hits. */
function counters(fw: Framework | undefined): FrameworkCounters | undefined {
  if (!fw) return undefined;
  const { cycles, nodesFiltered, nodesScored } = fw.stats;
  const { filterHits, filterMisses, scoreHits, scoreMisses } = fw.equivalenceCache.stats;
  return { cycles, nodesFiltered, nodesScored, filterHits, filterMisses, scoreHits, scoreMisses };
}

/**
 * Times every scheduling cycle (Framework.schedule: PreFilter → Filter → Score
 * → pick, synchronous) by shadowing the method on the instance; upstream's
 * scheduling_algorithm_duration.
 */
function timeCycles(fw: Framework | undefined): number[] {
  const durationsMs: number[] = [];
  if (!fw) return durationsMs;
  const schedule = fw.schedule.bind(fw);
  fw.schedule = (pod, snapshot) => {
    const t0 = performance.now();
    try {
      return schedule(pod, snapshot);
    } finally {
      durationsMs.push(performance.now() - t0);
    }
  };
  return durationsMs;
}

export const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

const hitRate = (hits: number, misses: number) => (hits + misses > 0 ? hits / (hits + misses) : null);

export async function runConfiguration(cluster: Cluster, spec: RunSpec, options: RunOptions): Promise<RunResult> {
  const { deadline, log } = options;
  const { watcher } = cluster;
  const t0 = performance.now();
  const restClient = createRestClient({ server: cluster.url, caCert: cluster.caCert, token: cluster.token, userAgent: 'bench-scheduler/v1.36.0-skiff' });
  let scheduler: RunningScheduler | undefined;
  let failure: unknown;
  try {
    scheduler = await startScheduler({
      client: restClient, config: spec.config, speed: spec.speed, maxBindingsInFlight: options.maxBindingsInFlight, log: (m) => log(`scheduler: ${m}`),
    });
    const startMs = performance.now() - t0;
    const running = scheduler;
    const describe = () => {
      const s = running.stats();
      return `scheduler: ${s.attempts} attempts, ${s.scheduled} scheduled, ${s.unschedulable} unschedulable, ${s.errors} errors, queue ${JSON.stringify(running.queueLengths())}`;
    };

    let initialNodes: string[] = [];
    if (spec.initial.length > 0) {
      const tracker = watcher.track(spec.initial.map(keyOf));
      await createPods(cluster.client, spec.initial, options.concurrency, deadline);
      await watcher.wait(tracker, deadline, options.stallMs, describe);
      initialNodes = spec.initial.map((pod) => watcher.nodeOf.get(keyOf(pod))!);
      log(`${spec.label}: ${spec.initial.length} initial pods bound`);
    }

    const stats0 = scheduler.stats();
    const fw = defaultFramework(scheduler);
    const fw0 = counters(fw);
    const cycleMs = timeCycles(fw);
    const tracker = watcher.track(spec.measured.map(keyOf));
    const meter = startCpuMeter(cluster.server.process.pid!);
    // Where the pods wait meanwhile: the scheduler's active queue, or its bindings in flight.
    const samples = { n: 0, active: 0, bindings: 0, maxActive: 0 };
    const sampler = setInterval(() => {
      const q = running.queueLengths();
      const b = running.stats().bindingsInFlight;
      samples.n++;
      samples.active += q.active;
      samples.bindings += b;
      samples.maxActive = Math.max(samples.maxActive, q.active);
    }, 100);
    let creates: Awaited<ReturnType<typeof createPods>>;
    try {
      creates = await createPods(cluster.client, spec.measured, options.concurrency, deadline);
      await watcher.wait(tracker, deadline, options.stallMs, describe);
    } finally {
      clearInterval(sampler);
    }
    const cpu = meter.read();
    const stats1 = scheduler.stats();
    const fw1 = counters(fw);

    const n = spec.measured.length;
    const firstIssued = Math.min(...creates.issued);
    const lastAcked = Math.max(...creates.acked);
    const seconds = (tracker.lastBound - firstIssued) / 1000;
    const latenciesMs: number[] = [];
    const nodes: string[] = [];
    let boundBeforeAck = 0;
    const watchLagMs: number[] = [];
    const perSecond = new Map<number, number>();
    spec.measured.forEach((pod, i) => {
      const key = keyOf(pod);
      const at = tracker.boundAt.get(key)!;
      const seen = tracker.seenAt.get(key);
      if (seen !== undefined) watchLagMs.push(Math.max(0, seen - creates.acked[i]!));
      if (at < creates.acked[i]!) boundBeforeAck++;
      latenciesMs.push(Math.max(0, at - creates.acked[i]!));
      nodes.push(watcher.nodeOf.get(key)!);
      const second = Math.floor((at - firstIssued) / 1000);
      perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
    });
    const wholeSeconds = Math.floor(seconds);
    const windows = Array.from({ length: wholeSeconds }, (_, s) => perSecond.get(s) ?? 0);
    const framework = fw0 && fw1 && fw1.cycles > fw0.cycles
      ? {
        cycles: fw1.cycles - fw0.cycles,
        nodesFilteredPerCycle: (fw1.nodesFiltered - fw0.nodesFiltered) / (fw1.cycles - fw0.cycles),
        nodesScoredPerCycle: (fw1.nodesScored - fw0.nodesScored) / (fw1.cycles - fw0.cycles),
        filterHitRate: hitRate(fw1.filterHits - fw0.filterHits, fw1.filterMisses - fw0.filterMisses),
        scoreHitRate: hitRate(fw1.scoreHits - fw0.scoreHits, fw1.scoreMisses - fw0.scoreMisses),
      }
      : undefined;
    const result: RunResult = {
      measured: n,
      seconds,
      podsPerSecond: n / seconds,
      latenciesMs,
      watchLagMs,
      boundBeforeAck,
      createsPerSecond: n / ((lastAcked - firstIssued) / 1000),
      windowRateP50: windows.length ? percentile(windows, 50) : n / seconds,
      nodes,
      initialNodes,
      scheduler: {
        attempts: stats1.attempts - stats0.attempts,
        scheduled: stats1.scheduled - stats0.scheduled,
        unschedulable: stats1.unschedulable - stats0.unschedulable,
        errors: stats1.errors - stats0.errors,
      },
      framework,
      cycleMs,
      queue: { activeMean: samples.n ? samples.active / samples.n : 0, activeMax: samples.maxActive, bindingsInFlightMean: samples.n ? samples.bindings / samples.n : 0 },
      cpu,
      startMs,
    };
    log(`${spec.label}: ${n} pods in ${seconds.toFixed(2)}s = ${result.podsPerSecond.toFixed(0)} pods/s (creates ${result.createsPerSecond.toFixed(0)}/s); `
      + `latency p50 ${percentile(latenciesMs, 50).toFixed(0)} ms, p99 ${percentile(latenciesMs, 99).toFixed(0)} ms (watch lag p50 ${percentile(watchLagMs, 50).toFixed(0)} ms); `
      + `server ${cpu.server.toFixed(2)} cores, bench process ${cpu.client.toFixed(2)}, others ${Math.max(0, cpu.machine - cpu.server - cpu.client).toFixed(2)}; ${result.scheduler.attempts} attempts; `
      + `active queue mean ${result.queue.activeMean.toFixed(0)} (max ${result.queue.activeMax}), bindings in flight mean ${result.queue.bindingsInFlightMean.toFixed(1)}`
      + (framework ? `; ${framework.nodesFilteredPerCycle.toFixed(0)} nodes filtered/cycle, ${framework.nodesScoredPerCycle.toFixed(0)} scored` : '')
      + (result.cycleMs.length ? `; cycle mean ${(1000 * mean(result.cycleMs)).toFixed(0)} µs, p99 ${(1000 * percentile(result.cycleMs, 99)).toFixed(0)} µs` : ''));
    return result;
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    try {
      if (scheduler) await scheduler.stop();
      await restClient.close();
      await deleteAllPods(cluster, deadline, log);
    } catch (cleanupError) {
      // Keep the first failure; the cleanup's is only logged then.
      if (failure === undefined) throw cleanupError;
      log(`cleanup after a failure failed too: ${(cleanupError as Error).message}`);
    }
  }
}
