// The endpoints.kubernetes.io/last-change-trigger-time annotation (upstream's
// TriggerTimeTracker), shared by the Endpoints and EndpointSlice
// controllers: the time of the earliest change since the previous sync that
// made this sync necessary — a pod's Ready transition or the Service's
// creation — so that a consumer (kube-proxy's latency metric) can tell how
// long the change took to reach it. A pod deletion leaves no trigger time.
import type { Pod } from '../framework/types.ts';
import { podReadyCondition } from '../framework/pods.ts';
import type { Service } from './pod-endpoints.ts';

interface ServiceState {
  podTimes: Map<string, number>;
  serviceTime: number;
}

const parseTime = (value: string | undefined): number | undefined => {
  const t = value ? Date.parse(value) : NaN;
  return Number.isFinite(t) ? t : undefined;
};

export class TriggerTimeTracker {
  private readonly services = new Map<string, ServiceState>();

  /**
   * The trigger time for this sync of `key` (undefined: none, the annotation
   * is removed), remembering what was seen for the next one. A Service not
   * seen before gets its creation time.
   */
  compute(key: string, service: Service, pods: readonly Pod[]): Date | undefined {
    const previous = this.services.get(key);
    let earliest: number | undefined;
    const podTimes = new Map<string, number>();
    for (const pod of pods) {
      const t = parseTime(podReadyCondition(pod)?.lastTransitionTime);
      if (t === undefined) continue;
      podTimes.set(pod.metadata.name!, t);
      if (t > (previous?.podTimes.get(pod.metadata.name!) ?? -Infinity)) earliest = Math.min(earliest ?? t, t);
    }
    const serviceTime = parseTime(service.metadata.creationTimestamp) ?? 0;
    if (serviceTime > (previous?.serviceTime ?? -Infinity)) earliest = Math.min(earliest ?? serviceTime, serviceTime);
    this.services.set(key, { podTimes, serviceTime });
    if (!previous) return service.metadata.creationTimestamp ? new Date(serviceTime) : undefined;
    return earliest === undefined ? undefined : new Date(earliest);
  }

  delete(key: string): void {
    this.services.delete(key);
  }
}

/** Go's RFC3339Nano in UTC: fractional seconds only when there are any, trailing zeros dropped. */
export function formatTriggerTime(time: Date): string {
  return time.toISOString().replace(/\.(\d*?)0*Z$/, (_m, digits: string) => (digits ? `.${digits}Z` : 'Z'));
}
