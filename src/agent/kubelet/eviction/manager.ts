// The kubelet's eviction manager (upstream pkg/kubelet/eviction): every
// monitoring interval (10 s) it measures the node's signals and compares
// them with the thresholds. A met threshold puts its node condition
// (MemoryPressure, DiskPressure, PIDPressure) to True at once, and the
// condition stays True until no threshold of it was met for the pressure
// transition period (5 min), so it does not flap. A hard threshold acts at
// once, a soft one after its grace period: for disk signals the node first
// reclaims what it can (dead containers, unused images) and measures again;
// if that was not enough, ONE pod is evicted per round — the first of the
// ranking (ranking.ts) — and the round waits until it is stopped. While the
// node has a pressure condition, admission refuses new pods (BestEffort
// ones only, under memory pressure alone).
import type { KubeObject } from '../../../client/interface.ts';
import type { NodePressure } from '../../shared/node-lease.ts';
import type { Rejection } from '../admission.ts';
import { specOf } from '../pod-types.ts';
import { qosClassOf } from '../resources.ts';
import { evictionMessage, isCriticalPod, rankForEviction } from './ranking.ts';
import type { EvictionStats, Observations } from './stats.ts';
import { conditionOf, DEFAULT_PRESSURE_TRANSITION_MS, thresholdAmount, type Threshold } from './thresholds.ts';

type PressureCondition = 'MemoryPressure' | 'DiskPressure' | 'PIDPressure';
const CONDITION_ORDER: PressureCondition[] = ['MemoryPressure', 'DiskPressure', 'PIDPressure'];
/** upstream's immediateEvictionGracePeriodSeconds: what a pod gets when a hard threshold is met. */
export const HARD_EVICTION_GRACE_SECONDS = 1;
/** How long a round waits for the evicted pod to stop (upstream's podCleanupTimeout). */
const POD_CLEANUP_TIMEOUT_MS = 30_000;

export interface EvictionRequest {
  message: string;
  gracePeriodSeconds: number;
}

export interface EvictionManagerOptions {
  thresholds: readonly Threshold[];
  stats: EvictionStats;
  /** The pods that run here now and may be evicted (admitted, not finished, not being evicted). */
  activePods: () => KubeObject[];
  /** Fail the pod and stop its containers; resolves when they are stopped (false: it could not be evicted). */
  evict: (pod: KubeObject, request: EvictionRequest) => Promise<boolean>;
  /** Node-level reclaim for disk pressure, tried before any pod is evicted. */
  reclaim?: { deadContainers?: () => Promise<void>; unusedImages?: () => Promise<void> };
  /** --eviction-pressure-transition-period (default 5 min). */
  pressureTransitionMs?: number;
  /** --eviction-max-pod-grace-period: the longest grace a soft eviction gives (default 0, as kubelet). */
  maxPodGracePeriodSeconds?: number;
  now?: () => Date;
  warn?: (message: string) => void;
}

/** Thresholds whose signal was observed below them. */
export function thresholdsMet(thresholds: readonly Threshold[], observations: Observations): Threshold[] {
  return thresholds.filter((t) => {
    const observed = observations[t.signal];
    return observed !== undefined && observed.available < thresholdAmount(t, observed.capacity);
  });
}

/** Memory first, then signals without node-level reclaim (pids), then disk (upstream's byEvictionPriority). */
function evictionPriority(t: Threshold): number {
  if (t.signal === 'memory.available') return 0;
  if (t.signal === 'pid.available') return 1;
  return 2;
}

const key = (t: Threshold) => `${t.signal}|${t.hard ? 'hard' : 'soft'}`;

export class EvictionManager {
  private readonly options: EvictionManagerOptions;
  private readonly firstObservedAt = new Map<string, number>();
  private readonly conditionLastObservedAt = new Map<PressureCondition, number>();
  private conditions: PressureCondition[] = [];
  private lastObservations: Observations = {};
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(options: EvictionManagerOptions) {
    this.options = options;
  }

  /** The node's pressure conditions now (what the node status reports). */
  pressure(): NodePressure {
    return {
      memory: this.conditions.includes('MemoryPressure'),
      disk: this.conditions.includes('DiskPressure'),
      pid: this.conditions.includes('PIDPressure'),
    };
  }

  /** upstream's eviction admit handler: under pressure, new pods are refused. */
  admit(pod: KubeObject): Rejection | undefined {
    if (this.conditions.length === 0 || isCriticalPod(pod)) return undefined;
    if (this.conditions.length === 1 && this.conditions[0] === 'MemoryPressure') {
      if (qosClassOf(specOf(pod)) !== 'BestEffort') return undefined;
      const tolerations = ((pod.spec as { tolerations?: { key?: string; operator?: string; effect?: string }[] }).tolerations ?? []);
      const tolerates = tolerations.some((t) => (t.key === 'node.kubernetes.io/memory-pressure' || (t.key === undefined && t.operator === 'Exists')) && (!t.effect || t.effect === 'NoSchedule'));
      if (tolerates) return undefined;
    }
    return { reason: 'Evicted', message: `The node had condition: [${this.conditions.join(' ')}]. ` };
  }

  /** Run a round every `periodMs` (kubelet's 10 s monitoring interval). */
  start(periodMs = 10_000): void {
    this.timer = setInterval(() => {
      this.running ??= this.synchronize()
        .catch((error) => this.options.warn?.(`eviction manager: ${(error as Error).message}`))
        .finally(() => { this.running = undefined; });
    }, periodMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One round; returns the pod it evicted, if any. */
  async synchronize(): Promise<KubeObject | undefined> {
    const now = (this.options.now ?? (() => new Date()))().getTime();
    const observations = await this.options.stats.node();
    this.lastObservations = observations;
    const met = thresholdsMet(this.options.thresholds, observations);

    // When each met threshold was first seen met (a soft one acts once its grace period has passed).
    const metKeys = new Set(met.map(key));
    for (const k of [...this.firstObservedAt.keys()]) if (!metKeys.has(k)) this.firstObservedAt.delete(k);
    for (const t of met) if (!this.firstObservedAt.has(key(t))) this.firstObservedAt.set(key(t), now);

    // Conditions: True while a threshold of theirs was met within the transition period.
    for (const t of met) this.conditionLastObservedAt.set(conditionOf(t.signal), now);
    const transitionMs = this.options.pressureTransitionMs ?? DEFAULT_PRESSURE_TRANSITION_MS;
    this.conditions = CONDITION_ORDER.filter((c) => {
      const at = this.conditionLastObservedAt.get(c);
      return at !== undefined && (at === now || now - at < transitionMs);
    });

    const actionable = met
      .filter((t) => now - this.firstObservedAt.get(key(t))! >= t.gracePeriodMs)
      .sort((a, b) => evictionPriority(a) - evictionPriority(b) || Number(b.hard) - Number(a.hard));
    const threshold = actionable[0];
    if (!threshold) return undefined;

    if (threshold.signal !== 'memory.available' && threshold.signal !== 'pid.available' && await this.reclaimNodeLevel(threshold)) return undefined;

    const pods = this.options.activePods();
    const usage = await this.options.stats.pods(pods);
    for (const pod of rankForEviction(threshold.signal, { pods, usage })) {
      const podGrace = specOf(pod).terminationGracePeriodSeconds ?? 30;
      const gracePeriodSeconds = threshold.hard ? HARD_EVICTION_GRACE_SECONDS : Math.min(this.options.maxPodGracePeriodSeconds ?? 0, podGrace);
      const message = evictionMessage({ threshold, observations: this.lastObservations, pod, usage: usage.get(pod.metadata.uid ?? '') });
      let timer: NodeJS.Timeout | undefined;
      // A pod slow to stop does not hold the manager forever: it counts as evicted after the cleanup timeout.
      const evicted = await Promise.race([
        this.options.evict(pod, { message, gracePeriodSeconds }),
        new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(true), POD_CLEANUP_TIMEOUT_MS); }),
      ]);
      clearTimeout(timer);
      if (evicted) return pod;
    }
    this.options.warn?.(`eviction manager: ${threshold.signal} is below its threshold and no pod can be evicted`);
    return undefined;
  }

  /** Dead containers and unused images go first; true when that resolved the threshold. */
  private async reclaimNodeLevel(threshold: Threshold): Promise<boolean> {
    const reclaim = this.options.reclaim;
    if (!reclaim?.deadContainers && !reclaim?.unusedImages) return false;
    try {
      await reclaim.deadContainers?.();
      await reclaim.unusedImages?.();
    } catch (error) {
      this.options.warn?.(`eviction manager: node-level reclaim failed: ${(error as Error).message}`);
    }
    const observations = await this.options.stats.node();
    this.lastObservations = observations;
    return thresholdsMet([threshold], observations).length === 0;
  }
}
