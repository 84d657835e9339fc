// `npm run bench:scheduler`: kube-scheduler's scheduler_perf shapes through the
// real API server, with hollow nodes.
//
// A `skiff server --disable-scheduler --controllers '' --simulated-nodes
// N:cpu,mem,pods` child process holds the API and N simulated nodes (Nodes,
// Leases, bound pods set Running; no controller manager, as in
// scheduler_perf). The scheduler runs in THIS process (startScheduler over its own
// HTTP/2 REST client), started and stopped per configuration so each of
// Borg's techniques (equivalence cache, score cache, adaptive sampling) can be
// switched. Pods are created through the API by a pool of concurrent requests
// on a separate HTTP/2 client; one watch on all pods stamps when each pod is
// first seen with spec.nodeName (the event's arrival). Per configuration:
//   - pods/s end to end = measured pods / (first measured create issued → last
//     measured pod seen bound);
//   - latency per pod = its create's acknowledgement → its bound event (p50, p99).
// Between configurations every pod is deleted (deletecollection, grace 0) and
// the run waits until none remain; the nodes stay.
//
// Besides, per configuration: each scheduling cycle's duration (Framework.schedule,
// timed by wrapping the default profile's method: what the algorithm alone
// costs), the framework's nodes filtered/scored per cycle and cache hit rates
// (read from the scheduler's internals), the watch lag (create acknowledged →
// the pod's ADDED event), the CPU the server, this process and everything else
// on the machine used (other_cpu_cores > ~0.1 means the figures are disturbed).
//
// Cases (sizes at BENCH_SCALE=1; node template = scheduler_perf's node-default,
// pods = its pod templates, 100m CPU / 500Mi each):
//   SchedulingBasic           5000 nodes, 1000 initial + 10000 measured pods, in five
//                             speed configurations: all on, each technique off
//                             alone, all off (the baseline of the ratios).
//   SchedulingPodAntiAffinity 1000 nodes in 10 zones, 200 + 800 pods with required
//                             hostname anti-affinity (pods ≤ nodes, or it cannot fit)
//   SchedulingPodAffinity     same nodes, 1000 + 1000 pods with required zone affinity
//   TopologySpreading         same nodes, 1000 default + 1000 pods with maxSkew 5 on zones
//                             (these three: all on, and all off as the baseline; the
//                             placements are checked against the constraint)
//   Packing                   500 nodes of 8 CPU/32Gi, 3000 pods of four sizes (fixed
//                             seed) under NodeResourcesFit LeastAllocated (baseline),
//                             MostAllocated, a RequestedToCapacityRatio hybrid and
//                             MostAllocated scoring every node; reports nodes used.
//
// Prints one JSON line per measurement on stdout (ARCHITECTURE.md §10),
// progress on stderr. Environment:
//   BENCH_SCALE        multiplies every node and pod count (default 1); 0.05 = smoke run
//   BENCH_CASES        comma list of basic, affinity, packing (default: all)
//   BENCH_CONFIGS      comma list of configuration names to run (e.g. all-on,all-off;
//                      default: all); ratios need their baseline in the list
//   BENCH_CONCURRENCY  pod creates in flight (default 32)
//   BENCH_SESSIONS     HTTP/2 sessions of the creating client (default 1)
//   BENCH_MAX_BINDINGS the scheduler's maxBindingsInFlight (default: its own, 64)
//   BENCH_RERUNS       how often a configuration is measured again when other processes
//                      used > 0.25 cores meanwhile (default 2, 0 below BENCH_SCALE 0.5;
//                      the least disturbed run counts)
//   BENCH_CONTROLLERS  1: keep the server's controller manager running
//   BENCH_WATCH_WINDOW HTTP/2 receive window (bytes) of the benchmark's pod watch
//                      (default: Node's 64 KiB, as the scheduler's own client)
//   BENCH_TIMEOUT_S    bound on the whole run (default 900); exceeding it fails the run
//   BENCH_SERVER_CPU_PROF  a directory: run the server with --cpu-prof into it
//                      (profile this process with `node --cpu-prof bench/scheduler.ts`)
//
// Network: loopback only. Every loop is bounded in count and by the run's
// deadline; a phase in which no pod gets bound for 60 s fails. The server and
// the temp dir are removed on every exit path (SIGINT/SIGTERM included; if this
// process is SIGKILLed, a detached watchdog started with each server does it).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { inTreeRegistry } from '../src/scheduler/registry.ts';
import { names } from '../src/scheduler/plugins/names.ts';
import { cleanupSync, installSignalHandlers, trackDir } from './lib/cleanup.ts';
import { Deadline, envNumber, machineDescription } from './lib/env.ts';
import { percentile, round } from './lib/stats.ts';
import { startCluster, stopCluster, type Cluster, type NodeShape } from './scheduler/cluster.ts';
import { mean, runConfiguration, type RunResult, type RunSpec } from './scheduler/run.ts';
import {
  ALL_OFF, ALL_ON, PACKING_CONFIGS, PACKING_SIZES, SPEED_CONFIGS, checkAffinity, checkAntiAffinity, checkSpreading,
  cpuOfUsedNodes, firstFitDecreasing, pods, seededSizes, type ConstraintCheck, type SpeedConfig, type Template,
} from './scheduler/workloads.ts';

// ---------------------------------------------------------------- parameters

const SCALE = envNumber('BENCH_SCALE', 1);
const scaled = (n: number, min: number) => Math.max(min, Math.round(n * SCALE));
const CONCURRENCY = Math.round(envNumber('BENCH_CONCURRENCY', 32));
const MAX_BINDINGS = process.env.BENCH_MAX_BINDINGS ? Math.round(envNumber('BENCH_MAX_BINDINGS', 64)) : undefined;
const SESSIONS = Math.round(envNumber('BENCH_SESSIONS', 1));
const DEADLINE = new Deadline(envNumber('BENCH_TIMEOUT_S', 900));
const CASES = new Set((process.env.BENCH_CASES || 'basic,affinity,packing').split(',').map((c) => c.trim()).filter(Boolean));
for (const c of CASES) if (!['basic', 'affinity', 'packing'].includes(c)) throw new Error(`BENCH_CASES: unknown case "${c}" (basic, affinity, packing)`);
/** Only these configurations (by name, e.g. all-on); baselines not run are left out of the lines. */
const ONLY_CONFIGS = process.env.BENCH_CONFIGS ? new Set(process.env.BENCH_CONFIGS.split(',').map((c) => c.trim())) : undefined;
const selected = <T extends { name: string }>(configs: readonly T[]) => configs.filter((c) => !ONLY_CONFIGS || ONLY_CONFIGS.has(c.name));
const CPU_PROF_DIR = process.env.BENCH_SERVER_CPU_PROF || undefined;
/** A measurement during which other processes used more than this many cores is repeated (up to BENCH_RERUNS times). */
const DISTURBED_CORES = 0.25;
const RERUNS = process.env.BENCH_RERUNS === undefined || process.env.BENCH_RERUNS === ''
  ? (SCALE >= 0.5 ? 2 : 0)
  : Math.max(0, Math.round(Number(process.env.BENCH_RERUNS)));
if (!Number.isFinite(RERUNS)) throw new Error(`BENCH_RERUNS=${process.env.BENCH_RERUNS} is not a number`);
const STALL_MS = 60_000;

/** scheduler_perf's node-default.yaml: 4 CPU, 32Gi, 110 pods. */
const BASIC_NODES: NodeShape = { count: scaled(5000, 10), cpu: '4', memory: '32Gi', pods: 110 };
const BASIC_INITIAL = scaled(1000, 10);
const BASIC_MEASURED = scaled(10_000, 20);
const TARGET_PODS_PER_SECOND = 1000;

const AFFINITY_NODES: NodeShape = { count: scaled(1000, 10), cpu: '4', memory: '32Gi', pods: 110 };
const ZONES = Math.min(10, AFFINITY_NODES.count);

const PACKING_NODES: NodeShape = { count: scaled(500, 10), cpu: '8', memory: '32Gi', pods: 110 };
const PACKING_PODS = scaled(3000, 60);

/** With BENCH_SERVER_CPU_PROF, progress lines carry the monotonic clock (µs) the .cpuprofile's timestamps use. */
const log = (message: string) => process.stderr.write(
  `bench:scheduler ${CPU_PROF_DIR ? `[${process.hrtime.bigint() / 1000n}us] ` : ''}${message}\n`,
);

// ---------------------------------------------------------------- output

interface Line {
  bench: 'scheduler';
  case: string;
  metric: string;
  value: number | null;
  unit: string;
  baseline?: { name: string; value: number };
  ratio?: number | null;
  [extra: string]: unknown;
}

let failed = false;

function emit(line: Line): void {
  process.stdout.write(JSON.stringify(line) + '\n');
}

function emitError(kase: string, error: unknown): void {
  failed = true;
  const message = (error as Error).message ?? String(error);
  log(`${kase} failed: ${(error as Error).stack ?? message}`);
  emit({ bench: 'scheduler', case: kase, metric: 'error', value: null, unit: '', error: message.slice(0, 2000) });
}

const withBaseline = (value: number, baseline: { name: string; value: number } | undefined) => (baseline
  ? { baseline: { name: baseline.name, value: round(baseline.value) }, ratio: baseline.value > 0 ? round(value / baseline.value) : null }
  : {});

/** pods_per_second, latency_p50 and latency_p99 of one configuration, against the baseline configuration. */
function speedLines(kase: string, config: SpeedConfig, r: RunResult, base: { name: string; result: RunResult } | undefined, extra: Record<string, unknown>): Line[] {
  const common = {
    speed: config.speed, measured_pods: r.measured, concurrency: CONCURRENCY,
    server_cpu_cores: round(r.cpu.server), bench_cpu_cores: round(r.cpu.client),
    // CPU other processes on the machine used meanwhile: more than ~0.1 means the figures are disturbed.
    other_cpu_cores: round(othersOf(r)), measurements: r.measurements ?? 1,
    ...extra,
  };
  const p = (rr: RunResult, q: number) => percentile(rr.latenciesMs, q);
  const rate = base ? { name: base.name, value: base.result.podsPerSecond } : undefined;
  const lat = (q: number) => (base ? { name: base.name, value: p(base.result, q) } : undefined);
  return [
    {
      bench: 'scheduler', case: `${kase}/${config.name}`, metric: 'pods_per_second', value: round(r.podsPerSecond), unit: '1/s (create → bound, end to end)',
      ...withBaseline(r.podsPerSecond, rate),
      ...common,
      window_rate_p50: round(r.windowRateP50), creates_per_second: round(r.createsPerSecond), seconds: round(r.seconds),
      scheduler_start_ms: round(r.startMs),
      attempts: r.scheduler.attempts, unschedulable: r.scheduler.unschedulable, errors: r.scheduler.errors,
      active_queue_mean: round(r.queue.activeMean), bindings_in_flight_mean: round(r.queue.bindingsInFlightMean),
      ...(r.framework ? {
        cycles: r.framework.cycles,
        nodes_filtered_per_cycle: round(r.framework.nodesFilteredPerCycle), nodes_scored_per_cycle: round(r.framework.nodesScoredPerCycle),
        filter_cache_hit_rate: r.framework.filterHitRate === null ? null : round(r.framework.filterHitRate),
        score_cache_hit_rate: r.framework.scoreHitRate === null ? null : round(r.framework.scoreHitRate),
      } : {}),
    },
    ...(r.cycleMs.length ? [{
      bench: 'scheduler' as const, case: `${kase}/${config.name}`, metric: 'cycle_mean', value: round(1000 * mean(r.cycleMs)), unit: 'µs per scheduling cycle (Framework.schedule; lower is better)',
      ...withBaseline(1000 * mean(r.cycleMs), base?.result.cycleMs.length ? { name: base.name, value: 1000 * mean(base.result.cycleMs) } : undefined),
      cycle_p50_us: round(1000 * percentile(r.cycleMs, 50)), cycle_p99_us: round(1000 * percentile(r.cycleMs, 99)),
      // What the algorithm alone could sustain on one core, API and informers aside.
      algorithm_pods_per_second: round(1000 / mean(r.cycleMs)),
      speed: config.speed, ...extra,
    }] : []),
    ...[50, 99].map((q): Line => ({
      bench: 'scheduler', case: `${kase}/${config.name}`, metric: `latency_p${q}`, value: round(p(r, q)), unit: 'ms (create acknowledged → bound event; lower is better)',
      ...withBaseline(p(r, q), lat(q)),
      ...common,
      bound_before_ack: r.boundBeforeAck,
      watch_lag_ms: round(percentile(r.watchLagMs, q)),
    })),
  ];
}

// ---------------------------------------------------------------- cases

const baselineOf = (results: ReadonlyMap<string, RunResult>, name: string) => (results.has(name) ? { name, result: results.get(name)! } : undefined);

interface Env {
  tempRoot: string;
  runOptions: { concurrency: number; maxBindingsInFlight?: number; deadline: Deadline; stallMs: number; log: (message: string) => void };
}

const othersOf = (r: RunResult) => Math.max(0, r.cpu.machine - r.cpu.server - r.cpu.client);

/**
 * One configuration, measured again (bounded: BENCH_RERUNS, and only while the
 * deadline leaves room) when other processes on the machine took CPU meanwhile;
 * the least disturbed run is kept.
 */
async function measure(env: Env, cluster: Cluster, spec: RunSpec): Promise<RunResult> {
  let best: RunResult | undefined;
  for (let attempt = 0; ; attempt++) {
    const t0 = Date.now();
    const r = await runConfiguration(cluster, spec, env.runOptions);
    if (!best || othersOf(r) < othersOf(best)) best = r;
    best.measurements = attempt + 1;
    const elapsed = Date.now() - t0;
    if (othersOf(r) <= DISTURBED_CORES || attempt >= RERUNS || DEADLINE.left() < 2 * elapsed + 150_000) return best;
    log(`${spec.label}: other processes used ${othersOf(r).toFixed(2)} cores meanwhile; measuring again (${attempt + 1} of ${RERUNS})`);
  }
}

async function withCluster<T>(env: Env, name: string, nodes: NodeShape, zones: number, fn: (cluster: Cluster) => Promise<T>): Promise<T> {
  DEADLINE.check(`starting the ${name} cluster`);
  log(`${name}: starting skiff server with ${nodes.count} simulated nodes`);
  const cluster = await startCluster({
    dataDir: join(env.tempRoot, name), nodes, zones, sessions: SESSIONS, deadline: DEADLINE, log, cpuProfDir: CPU_PROF_DIR,
    orphanCleanupDir: env.tempRoot,
  });
  try {
    return await fn(cluster);
  } finally {
    await stopCluster(cluster);
  }
}

async function schedulingBasic(env: Env): Promise<void> {
  const kase = `SchedulingBasic/${BASIC_NODES.count}Nodes_${BASIC_MEASURED}Pods`;
  try {
    await withCluster(env, 'basic', BASIC_NODES, 0, async (cluster) => {
      const results = new Map<string, RunResult>();
      const configs = selected(SPEED_CONFIGS);
      for (const config of configs) {
        const spec: RunSpec = {
          label: `${kase}/${config.name}`,
          speed: config.speed,
          initial: pods({ namespace: 'sched-0', prefix: 'init', count: BASIC_INITIAL, template: 'default' }),
          measured: pods({ namespace: 'sched-1', prefix: 'pod', count: BASIC_MEASURED, template: 'default' }),
        };
        log(`${spec.label}: ${BASIC_INITIAL} initial + ${BASIC_MEASURED} measured pods on ${BASIC_NODES.count} nodes`);
        results.set(config.name, await measure(env, cluster, spec));
      }
      const base = baselineOf(results, ALL_OFF.name);
      for (const config of configs) {
        const r = results.get(config.name)!;
        const lines = speedLines(kase, config, r, config === ALL_OFF ? undefined : base, { nodes: BASIC_NODES.count, initial_pods: BASIC_INITIAL });
        if (config === ALL_ON) lines[0]!.target = { value: `>= ${TARGET_PODS_PER_SECOND}`, met: r.podsPerSecond >= TARGET_PODS_PER_SECOND };
        lines.forEach(emit);
      }
      const on = results.get(ALL_ON.name);
      if (on) log(`target: SchedulingBasic all-on at ${on.podsPerSecond.toFixed(0)} pods/s (target >= ${TARGET_PODS_PER_SECOND}): ${on.podsPerSecond >= TARGET_PODS_PER_SECOND ? 'met' : 'NOT met'}`);
    });
  } catch (error) {
    emitError(kase, error);
  }
}

interface AffinityCase {
  name: string;
  plugin: string;
  initial: { count: number; template: Template };
  measured: { count: number; template: Template };
  /** Which pods the constraint covers: the measured ones only, or initial and measured. */
  checkInitialToo: boolean;
  check: (nodes: string[], cluster: Cluster) => ConstraintCheck;
  constraint: string;
}

async function affinityCases(env: Env): Promise<void> {
  const registry = inTreeRegistry();
  const antiInitial = Math.max(1, Math.round(AFFINITY_NODES.count * 0.2));
  const cases: AffinityCase[] = [
    {
      name: 'SchedulingPodAntiAffinity', plugin: names.InterPodAffinity, checkInitialToo: true,
      initial: { count: antiInitial, template: 'anti-affinity' },
      measured: { count: AFFINITY_NODES.count - antiInitial, template: 'anti-affinity' },
      check: (nodes) => checkAntiAffinity(nodes),
      constraint: 'required podAntiAffinity color=green on kubernetes.io/hostname: at most one such pod per node',
    },
    {
      name: 'SchedulingPodAffinity', plugin: names.InterPodAffinity, checkInitialToo: true,
      initial: { count: scaled(1000, 10), template: 'affinity' },
      measured: { count: scaled(1000, 10), template: 'affinity' },
      check: (nodes, cluster) => checkAffinity(nodes, cluster.zones),
      constraint: `required podAffinity color=blue on ${'topology.kubernetes.io/zone'}: all such pods in the zone of the first`,
    },
    {
      name: 'TopologySpreading', plugin: names.PodTopologySpread, checkInitialToo: false,
      initial: { count: scaled(1000, 10), template: 'default' },
      measured: { count: scaled(1000, 10), template: 'spreading' },
      check: (nodes, cluster) => checkSpreading(nodes, cluster.zones, 5),
      constraint: 'topologySpreadConstraints maxSkew 5 on topology.kubernetes.io/zone (DoNotSchedule) among the measured pods',
    },
  ];
  try {
    await withCluster(env, 'affinity', AFFINITY_NODES, ZONES, async (cluster) => {
      for (const c of cases) {
        const kase = `${c.name}/${AFFINITY_NODES.count}Nodes_${c.measured.count}Pods`;
        const registered = c.plugin in registry;
        try {
          if (!registered) log(`${kase}: ${c.plugin} is not registered in src/scheduler/registry.ts, so its constraint is not enforced; running anyway`);
          const results = new Map<string, { result: RunResult; check: ConstraintCheck }>();
          const configs = selected([ALL_ON, ALL_OFF]);
          for (const config of configs) {
            const spec: RunSpec = {
              label: `${kase}/${config.name}`,
              speed: config.speed,
              initial: pods({ namespace: 'sched-0', prefix: 'init', count: c.initial.count, template: c.initial.template }),
              measured: pods({ namespace: 'sched-1', prefix: 'pod', count: c.measured.count, template: c.measured.template }),
            };
            log(`${spec.label}: ${c.initial.count} initial + ${c.measured.count} measured pods on ${AFFINITY_NODES.count} nodes in ${ZONES} zones`);
            const result = await measure(env, cluster, spec);
            const check = c.check(c.checkInitialToo ? [...result.initialNodes, ...result.nodes] : result.nodes, cluster);
            results.set(config.name, { result, check });
          }
          const base = results.has(ALL_OFF.name) ? { name: ALL_OFF.name, result: results.get(ALL_OFF.name)!.result } : undefined;
          const enforcement = { plugin: c.plugin, plugin_registered: registered, constraint: c.constraint };
          for (const config of configs) {
            const { result, check } = results.get(config.name)!;
            speedLines(kase, config, result, config === ALL_OFF ? undefined : base, {
              nodes: AFFINITY_NODES.count, zones: ZONES, initial_pods: c.initial.count, ...enforcement,
            }).forEach(emit);
            emit({
              bench: 'scheduler', case: `${kase}/${config.name}`, metric: 'constraint_violations', value: check.violations, unit: 'pods (0 = constraint kept)',
              ...enforcement, ...check.detail,
              ...(registered ? {} : { note: `${c.plugin} is not registered in src/scheduler/registry.ts: the constraint was not enforced` }),
            });
            log(`${kase}/${config.name}: ${check.violations} pods against the constraint ${JSON.stringify(check.detail)}${registered ? '' : ` (${c.plugin} not registered)`}`);
          }
        } catch (error) {
          emitError(kase, error);
          if (DEADLINE.passed()) throw error;
        }
      }
    });
  } catch (error) {
    if (!failed) emitError(`affinity/${AFFINITY_NODES.count}Nodes`, error);
  }
}

async function packing(env: Env): Promise<void> {
  const kase = `Packing/${PACKING_NODES.count}Nodes_${PACKING_PODS}Pods`;
  const sizes = seededSizes(PACKING_PODS);
  const bound = firstFitDecreasing(sizes, { milliCpu: Number(PACKING_NODES.cpu) * 1000, memoryMiB: 32 * 1024, pods: PACKING_NODES.pods });
  try {
    await withCluster(env, 'packing', PACKING_NODES, 0, async (cluster) => {
      const results = new Map<string, RunResult>();
      const configs = selected(PACKING_CONFIGS);
      for (const config of configs) {
        const spec: RunSpec = {
          label: `${kase}/${config.name}`,
          config: config.config,
          initial: [],
          measured: pods({ namespace: 'sched-1', prefix: 'pod', count: PACKING_PODS, template: 'default', requests: (i) => PACKING_SIZES[sizes[i]!]! }),
        };
        log(`${spec.label}: ${PACKING_PODS} pods of ${PACKING_SIZES.length} sizes on ${PACKING_NODES.count} nodes (${config.description})`);
        results.set(config.name, await measure(env, cluster, spec));
      }
      const base = PACKING_CONFIGS[0]!;
      const baseResult = results.get(base.name);
      for (const config of configs) {
        const r = results.get(config.name)!;
        const used = new Set(r.nodes).size;
        const cpu = cpuOfUsedNodes(sizes, r.nodes, Number(PACKING_NODES.cpu) * 1000);
        emit({
          bench: 'scheduler', case: `${kase}/${config.name}`, metric: 'nodes_used', value: used, unit: 'nodes with at least one pod (lower = tighter packing)',
          ...(config === base || !baseResult ? {} : withBaseline(used, { name: base.name, value: new Set(baseResult.nodes).size })),
          description: config.description, nodes: PACKING_NODES.count, pods: PACKING_PODS,
          lower_bound_ffd: bound, mean_cpu_requested_on_used_nodes: round(cpu.mean), used_nodes_over_95pct_cpu: cpu.over95,
          pods_per_second: round(r.podsPerSecond), other_cpu_cores: round(othersOf(r)), measurements: r.measurements ?? 1, latency_p50_ms: round(percentile(r.latenciesMs, 50)), latency_p99_ms: round(percentile(r.latenciesMs, 99)),
        });
        log(`${kase}/${config.name}: ${used} of ${PACKING_NODES.count} nodes used (offline first-fit-decreasing: ${bound}); `
          + `CPU requested on used nodes ${(100 * cpu.mean).toFixed(1)} % on average, ${cpu.over95} of them ≥ 95 %`);
      }
    });
  } catch (error) {
    emitError(kase, error);
  }
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  installSignalHandlers(log);
  const tempRoot = mkdtempSync(join(tmpdir(), 'skiff-bench-scheduler-'));
  trackDir(tempRoot);
  const started = performance.now();
  log(`machine: ${machineDescription()}`);
  log(`scale ${SCALE}: basic ${BASIC_NODES.count} nodes/${BASIC_INITIAL}+${BASIC_MEASURED} pods; affinity ${AFFINITY_NODES.count} nodes; packing ${PACKING_NODES.count} nodes/${PACKING_PODS} pods; `
    + `cases ${[...CASES].join(',')}; ${CONCURRENCY} creates in flight; bound ${DEADLINE.ms / 1000}s`);
  const env: Env = { tempRoot, runOptions: { concurrency: CONCURRENCY, maxBindingsInFlight: MAX_BINDINGS, deadline: DEADLINE, stallMs: STALL_MS, log } };
  try {
    if (CASES.has('basic')) await schedulingBasic(env);
    if (CASES.has('affinity') && !DEADLINE.passed()) await affinityCases(env);
    if (CASES.has('packing') && !DEADLINE.passed()) await packing(env);
    if (DEADLINE.passed()) throw new Error(`the run passed its bound of ${DEADLINE.ms / 1000}s (BENCH_TIMEOUT_S)`);
    log(`done in ${((performance.now() - started) / 1000).toFixed(1)}s${failed ? ' (with failures)' : ''}`);
  } finally {
    cleanupSync();
  }
}

main().then(
  () => process.exit(failed ? 1 : 0),
  (error: unknown) => {
    log(`failed: ${(error as Error).stack ?? String(error)}`);
    cleanupSync();
    process.exit(1);
  },
);
