// From the metrics' proposal to the replica count the controller sets —
// upstream's normalizeDesiredReplicas(WithBehaviors), restated:
//   1. stabilization: the recommendations of the last window are kept; a
//      scale-down never goes below the highest recommendation of the
//      scale-down window (default 300 s), a scale-up never above the lowest
//      of the scale-up window (default 0 s);
//   2. rate: the policies (Pods: ±N, Percent: ×(1±N%)) measured from the
//      replica count at the start of each policy's period (the scale events
//      of that period undone), the most permissive (selectPolicy Max) or the
//      least (Min) chosen, or none allowed (Disabled); without `behavior`
//      only upstream's fixed scale-up limit max(2 × current, 4) applies;
//   3. min/max replicas.
// Each step reports the condition reason upstream reports (AbleToScale:
// ScaleUpStabilized/ScaleDownStabilized/ReadyForNewScale; ScalingLimited:
// TooFewReplicas/TooManyReplicas/ScaleUpLimit/ScaleDownLimit/DesiredWithinRange).
// The history lives in memory, per HPA key, as upstream's (a restart forgets it).

export interface ScalingPolicy {
  type: 'Pods' | 'Percent';
  value: number;
  periodSeconds: number;
}

export interface ScalingRules {
  stabilizationWindowSeconds?: number;
  selectPolicy?: 'Max' | 'Min' | 'Disabled';
  policies?: ScalingPolicy[];
}

export interface Behavior {
  scaleUp?: ScalingRules;
  scaleDown?: ScalingRules;
}

/** autoscaling/v2 defaults for a rule set left out of a given `behavior`. */
export const DEFAULT_SCALE_UP: Required<ScalingRules> = {
  stabilizationWindowSeconds: 0, selectPolicy: 'Max',
  policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }, { type: 'Pods', value: 4, periodSeconds: 15 }],
};
export const DEFAULT_SCALE_DOWN_POLICIES: ScalingPolicy[] = [{ type: 'Percent', value: 100, periodSeconds: 15 }];

export interface Outcome {
  replicas: number;
  ableToScale: { reason: string; message: string };
  scalingLimited: { limited: boolean; reason: string; message: string };
}

interface Recommendation {
  replicas: number;
  atMs: number;
}

interface ScaleEvent {
  change: number;
  atMs: number;
}

const SCALE_UP_LIMIT = { factor: 2, minimum: 4 };

const STABILIZED_UP = { reason: 'ScaleUpStabilized', message: 'recent recommendations were lower than current one, applying the lowest recent recommendation' };
const STABILIZED_DOWN = { reason: 'ScaleDownStabilized', message: 'recent recommendations were higher than current one, applying the highest recent recommendation' };
const READY = { reason: 'ReadyForNewScale', message: 'recommended size matches current size' };
const WITHIN = { reason: 'DesiredWithinRange', message: 'the desired count is within the acceptable range' };
const TOO_FEW = { reason: 'TooFewReplicas', message: 'the desired replica count is less than the minimum replica count' };
const TOO_MANY = { reason: 'TooManyReplicas', message: 'the desired replica count is more than the maximum replica count' };
const UP_LIMIT = { reason: 'ScaleUpLimit', message: 'the desired replica count is increasing faster than the maximum scale rate' };
const DOWN_LIMIT = { reason: 'ScaleDownLimit', message: 'the desired replica count is decreasing faster than the maximum scale rate' };

export interface NormalizeInput {
  key: string;
  behavior?: Behavior;
  currentReplicas: number;
  proposed: number;
  minReplicas: number;
  maxReplicas: number;
}

export class ScalingHistory {
  private readonly recommendations = new Map<string, Recommendation[]>();
  private readonly scaleUps = new Map<string, ScaleEvent[]>();
  private readonly scaleDowns = new Map<string, ScaleEvent[]>();
  private readonly now: () => number;
  /** --horizontal-pod-autoscaler-downscale-stabilization (default 5 min). */
  private readonly downscaleStabilizationMs: number;

  constructor(options: { now: () => number; downscaleStabilizationMs?: number }) {
    this.now = options.now;
    this.downscaleStabilizationMs = options.downscaleStabilizationMs ?? 300_000;
  }

  forget(key: string): void {
    this.recommendations.delete(key);
    this.scaleUps.delete(key);
    this.scaleDowns.delete(key);
  }

  normalize(input: NormalizeInput): Outcome {
    return input.behavior ? this.withBehavior(input, input.behavior) : this.withoutBehavior(input);
  }

  /** Remember a rescale, for the rate policies of later periods. */
  recordScale(key: string, behavior: Behavior | undefined, from: number, to: number): void {
    if (!behavior || from === to) return;
    const longest = Math.max(0, ...[...(behavior.scaleUp?.policies ?? DEFAULT_SCALE_UP.policies), ...(behavior.scaleDown?.policies ?? DEFAULT_SCALE_DOWN_POLICIES)].map((p) => p.periodSeconds)) * 1000;
    const map = to > from ? this.scaleUps : this.scaleDowns;
    const events = (map.get(key) ?? []).filter((e) => this.now() - e.atMs <= longest);
    events.push({ change: Math.abs(to - from), atMs: this.now() });
    map.set(key, events);
  }

  private withoutBehavior(input: NormalizeInput): Outcome {
    const now = this.now();
    const kept = (this.recommendations.get(input.key) ?? []).filter((r) => now - r.atMs <= this.downscaleStabilizationMs);
    const stabilized = Math.max(input.proposed, ...kept.map((r) => r.replicas));
    kept.push({ replicas: input.proposed, atMs: now });
    this.recommendations.set(input.key, kept);
    const scaleUpLimit = Math.max(SCALE_UP_LIMIT.factor * input.currentReplicas, SCALE_UP_LIMIT.minimum);
    const [maximum, over] = input.maxReplicas > scaleUpLimit ? [scaleUpLimit, UP_LIMIT] : [input.maxReplicas, TOO_MANY];
    let replicas = stabilized;
    let limit = WITHIN;
    if (stabilized < input.minReplicas) [replicas, limit] = [input.minReplicas, TOO_FEW];
    else if (stabilized > maximum) [replicas, limit] = [maximum, over];
    return {
      replicas,
      ableToScale: stabilized !== input.proposed ? STABILIZED_DOWN : READY,
      scalingLimited: { limited: replicas !== stabilized, ...limit },
    };
  }

  private withBehavior(input: NormalizeInput, behavior: Behavior): Outcome {
    const now = this.now();
    const up = { ...DEFAULT_SCALE_UP, ...behavior.scaleUp };
    const down = { stabilizationWindowSeconds: this.downscaleStabilizationMs / 1000, selectPolicy: 'Max' as const, policies: DEFAULT_SCALE_DOWN_POLICIES, ...behavior.scaleDown };
    const upCutoff = now - up.stabilizationWindowSeconds * 1000;
    const downCutoff = now - down.stabilizationWindowSeconds * 1000;
    let upRecommendation = input.proposed;
    let downRecommendation = input.proposed;
    const history = this.recommendations.get(input.key) ?? [];
    for (const r of history) {
      if (r.atMs > upCutoff) upRecommendation = Math.min(r.replicas, upRecommendation);
      if (r.atMs > downCutoff) downRecommendation = Math.max(r.replicas, downRecommendation);
    }
    let stabilized = input.currentReplicas;
    if (stabilized < upRecommendation) stabilized = upRecommendation;
    if (stabilized > downRecommendation) stabilized = downRecommendation;
    const recent = history.filter((r) => r.atMs > upCutoff || r.atMs > downCutoff);
    recent.push({ replicas: input.proposed, atMs: now });
    this.recommendations.set(input.key, recent);
    const ableToScale = stabilized === input.proposed ? READY : input.proposed >= input.currentReplicas ? STABILIZED_UP : STABILIZED_DOWN;

    let replicas = stabilized;
    let limit = WITHIN;
    if (stabilized > input.currentReplicas) {
      const rate = Math.max(input.currentReplicas, this.limit('up', input, up));
      const [maximum, reason] = input.maxReplicas > rate ? [rate, UP_LIMIT] : [input.maxReplicas, TOO_MANY];
      if (stabilized > maximum) [replicas, limit] = [maximum, reason];
    } else if (stabilized < input.currentReplicas) {
      const rate = Math.min(input.currentReplicas, this.limit('down', input, down));
      const [minimum, reason] = input.minReplicas < rate ? [rate, DOWN_LIMIT] : [input.minReplicas, TOO_FEW];
      if (stabilized < minimum) [replicas, limit] = [minimum, reason];
    }
    return { replicas, ableToScale, scalingLimited: { limited: replicas !== stabilized, ...limit } };
  }

  /** The furthest the policies let the count move this period (upstream's calculateScale{Up,Down}Limit…). */
  private limit(direction: 'up' | 'down', input: NormalizeInput, rules: Required<ScalingRules>): number {
    if (rules.selectPolicy === 'Disabled') return input.currentReplicas;
    const changed = (events: ScaleEvent[] | undefined, periodSeconds: number) =>
      (events ?? []).filter((e) => e.atMs > this.now() - periodSeconds * 1000).reduce((sum, e) => sum + e.change, 0);
    // Scale-up: Max picks the largest proposal; scale-down: Max (the biggest change) picks the smallest count.
    const pickLargest = (direction === 'up') === (rules.selectPolicy === 'Max');
    let result = pickLargest ? -Infinity : Infinity;
    for (const policy of rules.policies) {
      const periodStart = input.currentReplicas - changed(this.scaleUps.get(input.key), policy.periodSeconds) + changed(this.scaleDowns.get(input.key), policy.periodSeconds);
      const proposal = direction === 'up'
        ? policy.type === 'Pods' ? periodStart + policy.value : Math.ceil(periodStart * (1 + policy.value / 100))
        : policy.type === 'Pods' ? periodStart - policy.value : Math.trunc(periodStart * (1 - policy.value / 100));
      result = pickLargest ? Math.max(result, proposal) : Math.min(result, proposal);
    }
    return Number.isFinite(result) ? result : input.currentReplicas;
  }
}
