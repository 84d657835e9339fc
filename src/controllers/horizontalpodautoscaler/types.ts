// The HorizontalPodAutoscaler as the controller reads it (autoscaling/v2
// shape), and the autoscaling/v1 form. This server stores the two versions
// apart (no conversion yet, see api/registry.ts), and `kubectl autoscale`
// (kubectl ≤ 1.32) creates v1 objects, so the controller serves both: a v1
// object is read as the v2 spec it converts to (targetCPUUtilizationPercentage
// → one CPU Utilization metric, default 80 %) and its status written back in
// v1 form (currentCPUUtilizationPercentage; v1 has no conditions field).
import type { KubeObject } from '../../client/interface.ts';
import type { Behavior } from './behavior.ts';

export interface MetricTarget {
  type: 'Utilization' | 'AverageValue' | 'Value';
  averageUtilization?: number;
  averageValue?: string;
  value?: string;
}

export interface MetricSpec {
  type: 'Resource' | 'ContainerResource' | 'Pods' | 'Object' | 'External';
  resource?: { name: string; target: MetricTarget };
  containerResource?: { name: string; container: string; target: MetricTarget };
}

export interface CrossVersionObjectReference {
  apiVersion?: string;
  kind: string;
  name: string;
}

export interface HpaCondition {
  type: 'AbleToScale' | 'ScalingActive' | 'ScalingLimited';
  status: 'True' | 'False' | 'Unknown';
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface MetricStatus {
  type: MetricSpec['type'];
  resource?: { name: string; current: { averageUtilization?: number; averageValue?: string } };
  containerResource?: { name: string; container: string; current: { averageUtilization?: number; averageValue?: string } };
}

export interface HpaStatusV2 {
  observedGeneration?: number;
  lastScaleTime?: string;
  currentReplicas: number;
  desiredReplicas: number;
  currentMetrics?: MetricStatus[];
  conditions?: HpaCondition[];
}

export interface HpaSpecV2 {
  scaleTargetRef: CrossVersionObjectReference;
  minReplicas?: number;
  maxReplicas: number;
  metrics?: MetricSpec[];
  behavior?: Behavior;
}

export interface Hpa extends KubeObject {
  spec: HpaSpecV2 & { targetCPUUtilizationPercentage?: number };
  status?: Partial<HpaStatusV2> & { currentCPUUtilizationPercentage?: number };
}

/** upstream's default when a v1 object names no target: 80 % CPU. */
const V1_DEFAULT_CPU_UTILIZATION = 80;

/** The v2 spec of a stored object of either version. */
export function specOf(hpa: Hpa, version: 'v1' | 'v2'): HpaSpecV2 {
  if (version === 'v2') return hpa.spec;
  const { scaleTargetRef, minReplicas, maxReplicas, targetCPUUtilizationPercentage } = hpa.spec;
  return {
    scaleTargetRef, minReplicas, maxReplicas,
    metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: targetCPUUtilizationPercentage ?? V1_DEFAULT_CPU_UTILIZATION } } }],
  };
}

/** The status in the object's own version. */
export function statusFor(status: HpaStatusV2, version: 'v1' | 'v2'): Record<string, unknown> {
  if (version === 'v2') return { ...status };
  const cpu = status.currentMetrics?.find((m) => m.type === 'Resource' && m.resource?.name === 'cpu')?.resource?.current.averageUtilization;
  return {
    ...(status.observedGeneration !== undefined ? { observedGeneration: status.observedGeneration } : {}),
    ...(status.lastScaleTime ? { lastScaleTime: status.lastScaleTime } : {}),
    currentReplicas: status.currentReplicas,
    desiredReplicas: status.desiredReplicas,
    ...(cpu !== undefined ? { currentCPUUtilizationPercentage: cpu } : {}),
  };
}
