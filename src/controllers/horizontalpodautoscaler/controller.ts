// The HorizontalPodAutoscaler controller (kube-controller-manager's
// "horizontalpodautoscaling"): every sync period (15 s) each HPA reads its
// target's scale subresource, the usage of the target's pods from the
// resource metrics API (metrics.k8s.io, through the API client like any
// client), proposes a replica count (compute.ts, replica-calculator.ts),
// tempers it (behavior.ts: stabilization windows, rate policies, min/max),
// writes the scale when it changed (SuccessfulRescale event), and records
// status: currentReplicas, desiredReplicas, currentMetrics, lastScaleTime and
// the AbleToScale / ScalingActive / ScalingLimited conditions.
// It reads autoscaling/v2 only: the API server serves v1 objects (`kubectl
// autoscale`) by conversion from the same stored objects.
import { builtinKinds } from '../../api/registry.ts';
import type { Informer } from '../../client/informer.ts';
import { resources, type KubeObject } from '../../client/interface.ts';
import { Controller, type ControllerOptions } from '../framework/controller.ts';
import { semanticEqual } from '../framework/template-hash.ts';
import type { Pod } from '../framework/types.ts';
import { ScalingHistory } from './behavior.ts';
import { computeReplicas } from './compute.ts';
import { apiMetricsSource, type MetricsSource } from './metrics.ts';
import { HPA_DEFAULTS } from './replica-calculator.ts';
import type { Hpa, HpaCondition, HpaStatusV2, MetricStatus } from './types.ts';

export const HPA_SYNC_PERIOD_MS = 15_000;

const HPA_RESOURCE = { group: 'autoscaling', version: 'v2', resource: 'horizontalpodautoscalers' };

interface Scale extends KubeObject {
  spec?: { replicas?: number };
  status?: { replicas?: number; selector?: string };
}

const rfc3339 = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

export class HorizontalPodAutoscalerController extends Controller {
  readonly name = 'horizontalpodautoscaling';
  protected readonly component = 'horizontal-pod-autoscaler';
  private readonly hpas: Informer<Hpa>;
  private readonly pods: Informer<Pod>;
  private readonly source: MetricsSource;
  private readonly history: ScalingHistory;
  private readonly syncPeriodMs: number;
  private readonly calculator: { tolerance: number; cpuInitializationPeriodMs: number; initialReadinessDelayMs: number };

  constructor(options: ControllerOptions & { metrics?: MetricsSource }) {
    super(options);
    const tuning = options.tuning ?? {};
    this.source = options.metrics ?? apiMetricsSource(this.client);
    this.syncPeriodMs = tuning.hpaSyncPeriodMs ?? HPA_SYNC_PERIOD_MS;
    this.calculator = {
      tolerance: tuning.hpaTolerance ?? HPA_DEFAULTS.tolerance,
      cpuInitializationPeriodMs: tuning.hpaCpuInitializationPeriodMs ?? HPA_DEFAULTS.cpuInitializationPeriodMs,
      initialReadinessDelayMs: tuning.hpaInitialReadinessDelayMs ?? HPA_DEFAULTS.initialReadinessDelayMs,
    };
    this.history = new ScalingHistory({ now: () => this.now().getTime(), downscaleStabilizationMs: tuning.hpaDownscaleStabilizationMs });
    this.pods = this.watch<Pod>(resources.pods, {});
    this.hpas = this.watch<Hpa>(HPA_RESOURCE, {
      onAdd: (hpa) => this.enqueue(hpa),
      // Status writes come back as updates: only a spec change is worth an early sync.
      onUpdate: (old, hpa) => { if (old.metadata.generation !== hpa.metadata.generation) this.enqueue(hpa); },
      onDelete: (hpa) => this.history.forget(key(hpa)),
    });
  }

  protected async sync(queueKey: string): Promise<void> {
    const hpa = this.hpas.lister.getByKey(queueKey);
    if (!hpa) return;
    try {
      await this.reconcile(structuredClone(hpa), queueKey);
    } finally {
      // Level-triggered on a timer, as upstream's resync: metrics change without any event.
      this.enqueueAfter(queueKey, this.syncPeriodMs);
    }
  }

  private async reconcile(hpa: Hpa, queueKey: string): Promise<void> {
    const spec = hpa.spec;
    const namespace = hpa.metadata.namespace!;
    const now = this.now();
    const conditions = [...(hpa.status?.conditions ?? [])];
    const setCondition = (type: HpaCondition['type'], status: boolean, reason: string, message: string) => {
      const text = status ? 'True' : 'False';
      const existing = conditions.find((c) => c.type === type);
      const next: HpaCondition = { type, status: text, lastTransitionTime: existing && existing.status === text ? existing.lastTransitionTime : rfc3339(now), reason, message };
      if (existing) conditions[conditions.indexOf(existing)] = next;
      else conditions.push(next);
    };
    const event = (type: 'Normal' | 'Warning', reason: string, message: string) =>
      this.recorder.record({ object: { ...hpa, apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler' }, type, reason, message });
    const previous: HpaStatusV2 = { currentReplicas: hpa.status?.currentReplicas ?? 0, desiredReplicas: hpa.status?.desiredReplicas ?? 0, currentMetrics: hpa.status?.currentMetrics, lastScaleTime: hpa.status?.lastScaleTime };
    const writeStatus = (status: Partial<HpaStatusV2>) => this.writeStatus(hpa, { ...previous, ...status, observedGeneration: hpa.metadata.generation, conditions });

    const ref = spec.scaleTargetRef;
    const slash = (ref.apiVersion ?? '').indexOf('/');
    const group = slash < 0 ? '' : ref.apiVersion!.slice(0, slash);
    const targetVersion = slash < 0 ? ref.apiVersion ?? '' : ref.apiVersion!.slice(slash + 1);
    const target = builtinKinds().lookupKind(group, targetVersion, ref.kind);
    const scaleRef = target && { group, version: targetVersion, resource: target.plural, namespace, name: ref.name, subresource: 'scale' };
    let scale: Scale;
    try {
      if (!scaleRef || !target.subresources.scale) throw new Error(`no matches for kind "${ref.kind}" in group "${group}"`);
      scale = await this.client.get<Scale>(scaleRef);
    } catch (error) {
      const message = (error as Error).message;
      event('Warning', 'FailedGetScale', message);
      setCondition('AbleToScale', false, 'FailedGetScale', `the HPA controller was unable to get the target's current scale: ${message}`);
      await writeStatus({});
      return;
    }
    setCondition('AbleToScale', true, 'SucceededGetScale', "the HPA controller was able to get the target's current scale");

    const currentReplicas = scale.spec?.replicas ?? 0;
    const minReplicas = spec.minReplicas ?? 1;
    let desiredReplicas = currentReplicas;
    let rescaleReason = '';
    let metricStatuses: MetricStatus[] | undefined = previous.currentMetrics;
    if (currentReplicas === 0 && minReplicas !== 0) {
      setCondition('ScalingActive', false, 'ScalingDisabled', 'scaling is disabled since the replica count of the target is zero');
    } else if (currentReplicas > spec.maxReplicas) {
      [desiredReplicas, rescaleReason] = [spec.maxReplicas, 'Current number of replicas above Spec.MaxReplicas'];
    } else if (currentReplicas < minReplicas) {
      [desiredReplicas, rescaleReason] = [minReplicas, 'Current number of replicas below Spec.MinReplicas'];
    } else {
      const selector = scale.status?.selector;
      if (!selector) {
        event('Warning', 'SelectorRequired', 'selector is required');
        setCondition('ScalingActive', false, 'InvalidSelector', "the HPA target's scale is missing a selector");
        await writeStatus({ currentReplicas });
        return;
      }
      const computed = await computeReplicas({
        namespace, metrics: spec.metrics ?? [], selector, currentReplicas, source: this.source,
        pods: (matches) => this.pods.lister.list(namespace).filter((p) => matches(p.metadata.labels ?? {})),
        calculator: { ...this.calculator, nowMs: now.getTime() },
      });
      for (const problem of computed.problems) event('Warning', problem.reason, problem.message);
      metricStatuses = computed.statuses;
      if (computed.replicas === undefined) {
        setCondition('ScalingActive', false, computed.failure?.reason ?? 'FailedGetResourceMetric', computed.failure?.message ?? 'the HPA was unable to compute the replica count');
        await writeStatus({ currentReplicas, currentMetrics: metricStatuses });
        return;
      }
      setCondition('ScalingActive', true, 'ValidMetricFound', `the HPA was able to successfully calculate a replica count from ${computed.metricName}`);
      const outcome = this.history.normalize({ key: queueKey, behavior: spec.behavior, currentReplicas, proposed: computed.replicas, minReplicas, maxReplicas: spec.maxReplicas });
      setCondition('AbleToScale', true, outcome.ableToScale.reason, outcome.ableToScale.message);
      setCondition('ScalingLimited', outcome.scalingLimited.limited, outcome.scalingLimited.reason, outcome.scalingLimited.message);
      desiredReplicas = outcome.replicas;
      rescaleReason = desiredReplicas > currentReplicas ? `${computed.metricName} above target` : 'All metrics below target';
    }

    const rescale = desiredReplicas !== currentReplicas;
    if (rescale) {
      try {
        await this.client.update(scaleRef, { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: scale.metadata, spec: { ...scale.spec, replicas: desiredReplicas } });
      } catch (error) {
        const message = (error as Error).message;
        event('Warning', 'FailedRescale', `New size: ${desiredReplicas}; reason: ${rescaleReason}; error: ${message}`);
        setCondition('AbleToScale', false, 'FailedUpdateScale', `the HPA controller was unable to update the target scale: ${message}`);
        await writeStatus({ currentReplicas, currentMetrics: metricStatuses });
        throw error;
      }
      setCondition('AbleToScale', true, 'SucceededRescale', `the HPA controller was able to update the target scale to ${desiredReplicas}`);
      event('Normal', 'SuccessfulRescale', `New size: ${desiredReplicas}; reason: ${rescaleReason}`);
      this.history.recordScale(queueKey, spec.behavior, currentReplicas, desiredReplicas);
    }
    await writeStatus({ currentReplicas, desiredReplicas, currentMetrics: metricStatuses, ...(rescale ? { lastScaleTime: rfc3339(now) } : {}) });
  }

  /** Writes the status subresource when it differs from what is stored. */
  private async writeStatus(hpa: Hpa, status: HpaStatusV2): Promise<void> {
    const next = JSON.parse(JSON.stringify(status)) as HpaStatusV2; // undefined fields dropped, as the stored form has them
    if (semanticEqual(next, hpa.status ?? {})) return;
    await this.client.update({ ...HPA_RESOURCE, namespace: hpa.metadata.namespace, name: hpa.metadata.name, subresource: 'status' }, { ...hpa, apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', status: next });
  }
}

const key = (hpa: Hpa) => `${hpa.metadata.namespace}/${hpa.metadata.name}`;
