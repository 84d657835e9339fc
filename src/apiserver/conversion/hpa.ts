// autoscaling/v1 ⇄ autoscaling/v2 HorizontalPodAutoscaler, as upstream's
// conversion functions map them: v1 has one CPU target
// (spec.targetCPUUtilizationPercentage) and one current value
// (status.currentCPUUtilizationPercentage); what only v2 can say rides in
// annotations on the v1 form — `autoscaling.alpha.kubernetes.io/metrics`
// (metrics other than the CPU utilization one), `…/behavior`, `…/conditions`
// and `…/current-metrics` — so an object read and written back through v1
// keeps all of it.
type Obj = Record<string, any>;

const ANNOTATION = {
  metrics: 'autoscaling.alpha.kubernetes.io/metrics',
  behavior: 'autoscaling.alpha.kubernetes.io/behavior',
  conditions: 'autoscaling.alpha.kubernetes.io/conditions',
  currentMetrics: 'autoscaling.alpha.kubernetes.io/current-metrics',
};

const isCpuUtilization = (m: Obj) => m?.type === 'Resource' && m.resource?.name === 'cpu' && m.resource?.target?.type === 'Utilization';

function readAnnotation(annotations: Record<string, string>, key: string): unknown {
  const text = annotations[key];
  delete annotations[key];
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The v1 object's v2 form (apiVersion autoscaling/v2). */
export function hpaV1ToV2(v1: Obj): Obj {
  const annotations: Record<string, string> = { ...(v1.metadata?.annotations ?? {}) };
  const otherMetrics = (readAnnotation(annotations, ANNOTATION.metrics) as Obj[] | undefined) ?? [];
  const behavior = readAnnotation(annotations, ANNOTATION.behavior);
  const conditions = readAnnotation(annotations, ANNOTATION.conditions);
  const otherCurrent = (readAnnotation(annotations, ANNOTATION.currentMetrics) as Obj[] | undefined) ?? [];
  const { targetCPUUtilizationPercentage, ...specRest } = v1.spec ?? {};
  const metrics = [
    ...(targetCPUUtilizationPercentage !== undefined && targetCPUUtilizationPercentage !== null
      ? [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: targetCPUUtilizationPercentage } } }]
      : []),
    ...otherMetrics,
  ];
  const out: Obj = {
    ...v1,
    apiVersion: 'autoscaling/v2',
    metadata: { ...v1.metadata, ...(Object.keys(annotations).length ? { annotations } : {}) },
    spec: { ...specRest, ...(metrics.length ? { metrics } : {}), ...(behavior ? { behavior } : {}) },
  };
  if (Object.keys(annotations).length === 0) delete out.metadata.annotations;
  if (v1.status) {
    const { currentCPUUtilizationPercentage, ...statusRest } = v1.status;
    const current = [
      ...(currentCPUUtilizationPercentage !== undefined && currentCPUUtilizationPercentage !== null
        ? [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: currentCPUUtilizationPercentage } } }]
        : []),
      ...otherCurrent,
    ];
    out.status = { ...statusRest, ...(current.length ? { currentMetrics: current } : {}), ...(Array.isArray(conditions) ? { conditions } : {}) };
  }
  return out;
}

/** The v2 object's v1 form (apiVersion autoscaling/v1). */
export function hpaV2ToV1(v2: Obj): Obj {
  const { metrics, behavior, ...specRest } = v2.spec ?? {};
  const all: Obj[] = Array.isArray(metrics) ? metrics : [];
  const cpu = all.find(isCpuUtilization);
  const others = all.filter((m) => m !== cpu);
  const annotations: Record<string, string> = { ...(v2.metadata?.annotations ?? {}) };
  if (others.length) annotations[ANNOTATION.metrics] = JSON.stringify(others);
  if (behavior) annotations[ANNOTATION.behavior] = JSON.stringify(behavior);
  const out: Obj = {
    ...v2,
    apiVersion: 'autoscaling/v1',
    metadata: { ...v2.metadata },
    spec: { ...specRest, ...(cpu ? { targetCPUUtilizationPercentage: cpu.resource.target.averageUtilization } : {}) },
  };
  if (v2.status) {
    const { currentMetrics, conditions, ...statusRest } = v2.status;
    const current: Obj[] = Array.isArray(currentMetrics) ? currentMetrics : [];
    const cpuNow = current.find((m) => m?.type === 'Resource' && m.resource?.name === 'cpu' && m.resource?.current?.averageUtilization !== undefined);
    const otherNow = current.filter((m) => m !== cpuNow);
    if (otherNow.length) annotations[ANNOTATION.currentMetrics] = JSON.stringify(otherNow);
    if (Array.isArray(conditions) && conditions.length) annotations[ANNOTATION.conditions] = JSON.stringify(conditions);
    out.status = { ...statusRest, ...(cpuNow ? { currentCPUUtilizationPercentage: cpuNow.resource.current.averageUtilization } : {}) };
  }
  if (Object.keys(annotations).length) out.metadata.annotations = annotations;
  return out;
}
