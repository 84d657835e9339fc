// The replica count the metrics of one HPA ask for (upstream's
// computeReplicasForMetrics): each metric proposes a count, the largest wins;
// a metric that cannot be read is reported (FailedGetResourceMetric) and the
// HPA does not act when every metric failed, or when some failed and the
// rest would scale down (a silent metric might have asked for more).
import { parseLabelSelector } from '../../api/selectors/index.ts';
import type { Pod } from '../framework/types.ts';
import { resourceMetrics, type MetricsSource, type PodUsage } from './metrics.ts';
import { milliValue, resourceReplicas, type CalculatorOptions } from './replica-calculator.ts';
import type { MetricSpec, MetricStatus } from './types.ts';

export interface ComputeInput {
  namespace: string;
  metrics: readonly MetricSpec[];
  /** The scale subresource's status.selector. */
  selector: string;
  currentReplicas: number;
  pods: (selector: (labels: Record<string, string>) => boolean) => Pod[];
  source: MetricsSource;
  calculator: CalculatorOptions;
}

export interface Problem {
  reason: string;
  message: string;
}

export interface ComputeResult {
  replicas?: number;
  /** "cpu resource utilization (percentage of request)": what the events and conditions name. */
  metricName?: string;
  statuses: MetricStatus[];
  /** Warnings to record, one per metric that failed. */
  problems: Problem[];
  /** Set when no count can be acted on: the ScalingActive=False condition. */
  failure?: Problem;
}

/** A milli-unit value as a Quantity string ("250m", "3"). */
export function milliQuantity(milli: number): string {
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}

export async function computeReplicas(input: ComputeInput): Promise<ComputeResult> {
  const result: ComputeResult = { statuses: [], problems: [] };
  let labels;
  try {
    labels = parseLabelSelector(input.selector);
  } catch (error) {
    result.failure = { reason: 'InvalidSelector', message: `the HPA was unable to compute the replica count: couldn't convert selector into a corresponding internal selector object: ${(error as Error).message}` };
    return result;
  }
  const pods = input.pods((podLabels) => labels.matches(podLabels));
  let usage: Map<string, PodUsage> | undefined;
  let invalid = 0;
  let firstError = '';
  for (const spec of input.metrics) {
    const outcome = await proposeFor(spec, { pods, currentReplicas: input.currentReplicas, calculator: input.calculator, usage: async () => (usage ??= await input.source.podUsage(input.namespace, input.selector)) });
    if (outcome instanceof Error) {
      invalid++;
      firstError ||= outcome.message;
      const name = spec.resource?.name ?? spec.containerResource?.name;
      // Upstream's reason names the source type: FailedGetResourceMetric, FailedGetPodsMetric …
      const reason = `FailedGet${spec.type}Metric`;
      result.problems.push({ reason, message: outcome.message });
      result.failure = { reason, message: `the HPA was unable to compute the replica count: ${outcome.message}` };
      if (spec.type === 'Resource' && name) result.statuses.push({ type: 'Resource', resource: { name, current: {} } });
      if (spec.type === 'ContainerResource' && name) result.statuses.push({ type: 'ContainerResource', containerResource: { name, container: spec.containerResource!.container, current: {} } });
      continue;
    }
    result.statuses.push(outcome.status);
    if (result.replicas === undefined || outcome.replicas > result.replicas) {
      result.replicas = outcome.replicas;
      result.metricName = outcome.metricName;
    }
  }
  if (invalid >= input.metrics.length || (invalid > 0 && result.replicas !== undefined && result.replicas < input.currentReplicas)) {
    result.replicas = undefined;
    result.failure ??= { reason: 'FailedGetResourceMetric', message: firstError };
    result.problems.push({ reason: 'FailedComputeMetricsReplicas', message: `invalid metrics (${invalid} invalid out of ${input.metrics.length}), first error is: ${firstError}` });
    return result;
  }
  result.failure = undefined;
  return result;
}

interface Proposal {
  replicas: number;
  metricName: string;
  status: MetricStatus;
}

interface ProposeInput {
  pods: Pod[];
  currentReplicas: number;
  calculator: CalculatorOptions;
  usage: () => Promise<Map<string, PodUsage>>;
}

async function proposeFor(spec: MetricSpec, input: ProposeInput): Promise<Proposal | Error> {
  const source = spec.type === 'Resource' ? spec.resource : spec.type === 'ContainerResource' ? spec.containerResource : undefined;
  // Pods, Object and External metrics come from the custom and external metrics APIs, which this cluster does not serve.
  if (!source) return new Error(`unable to get metric of type ${spec.type}: no ${spec.type === 'External' ? 'external' : 'custom'} metrics API (${spec.type === 'External' ? 'external' : 'custom'}.metrics.k8s.io) is served`);
  const container = spec.type === 'ContainerResource' ? spec.containerResource!.container : undefined;
  const name = source.name;
  const what = container ? `${name} container resource` : `${name} resource`;
  const target = source.target;
  const utilization = target.type === 'Utilization';
  const wrap = (message: string) => new Error(`failed to get ${name}${container ? ' container' : ''} resource metric value: failed to get ${name} ${utilization ? 'utilization' : 'usage'}: ${message}`);
  let targetValue: number | undefined;
  if (utilization) targetValue = target.averageUtilization;
  else if (target.type === 'AverageValue') targetValue = milliValue(target.averageValue);
  if (!targetValue) return new Error(`invalid ${what} source: neither a utilization target nor a value target was set`);

  let usage;
  try {
    usage = await input.usage();
  } catch (error) {
    return wrap(`unable to get metrics for resource ${name}: unable to fetch metrics from resource metrics API: ${(error as Error).message}`);
  }
  const metrics = resourceMetrics(usage, name, container);
  if (metrics.size === 0) return wrap(`unable to get metrics for resource ${name}: no metrics returned from resource metrics API`);
  const proposal = resourceReplicas({
    currentReplicas: input.currentReplicas, pods: input.pods, metrics, resource: name, container,
    target: utilization ? { type: 'Utilization', averageUtilization: targetValue } : { type: 'AverageValue', averageValue: targetValue },
  }, input.calculator);
  if (proposal instanceof Error) return wrap(proposal.message);
  const current = utilization
    ? { averageUtilization: proposal.utilization, averageValue: milliQuantity(proposal.rawAverage) }
    : { averageValue: milliQuantity(proposal.rawAverage) };
  const status: MetricStatus = container
    ? { type: 'ContainerResource', containerResource: { name, container, current } }
    : { type: 'Resource', resource: { name, current } };
  return { replicas: proposal.replicas, metricName: utilization ? `${what} utilization (percentage of request)` : what, status };
}
