// Printer for autoscaling horizontal pod autoscalers (v2 shape; v1 objects
// are read through their single CPU target).
import type { KindPrinter, Obj } from './types.ts';
import { ageColumn, int, nameColumn, str } from './helpers.ts';

/** A quantity as upstream prints a missing one. */
const qty = (v: unknown): string => (v == null ? '<nil>' : String(v));
const percent = (v: unknown): string => `${int(v)}%`;

/** autoscaling/v1 keeps only a CPU utilisation target: express it as v2 metrics. */
function asV2(hpa: Obj): { metrics: Obj[]; current: Obj[] } {
  const spec = hpa?.spec ?? {};
  if (Array.isArray(spec.metrics)) return { metrics: spec.metrics, current: hpa?.status?.currentMetrics ?? [] };
  if (spec.targetCPUUtilizationPercentage == null) return { metrics: [], current: [] };
  const cur = hpa?.status?.currentCPUUtilizationPercentage;
  return {
    metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: spec.targetCPUUtilizationPercentage } } }],
    current: cur == null ? [] : [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: cur } } }],
  };
}

/** "cpu: 40%/80%, memory: <unknown>/1Gi + 1 more...": current/target for the first two metrics. */
export function formatHPAMetrics(hpa: Obj): string {
  const { metrics, current } = asV2(hpa);
  if (metrics.length === 0) return '<none>';
  const parts = metrics.map((spec, i) => {
    const status = Array.isArray(current) ? current[i] : undefined;
    switch (spec?.type) {
      case 'External':
      case 'Object': {
        const key = spec.type === 'External' ? 'external' : 'object';
        const target = spec[key]?.target ?? {};
        const cur = status?.[key]?.current;
        if (target.averageValue != null) {
          return `${cur?.averageValue != null ? qty(cur.averageValue) : '<unknown>'}/${qty(target.averageValue)} (avg)`;
        }
        return `${status?.[key] ? qty(cur?.value) : '<unknown>'}/${qty(target.value)}`;
      }
      case 'Pods':
        return `${status?.pods ? qty(status.pods.current?.averageValue) : '<unknown>'}/${qty(spec.pods?.target?.averageValue)}`;
      case 'Resource':
      case 'ContainerResource': {
        const key = spec.type === 'Resource' ? 'resource' : 'containerResource';
        const target = spec[key]?.target ?? {};
        const cur = status?.[key];
        const name = str(spec[key]?.name);
        if (target.averageValue != null) {
          return `${name}: ${cur ? qty(cur.current?.averageValue) : '<unknown>'}/${qty(target.averageValue)}`;
        }
        const now = cur?.current?.averageUtilization != null ? percent(cur.current.averageUtilization) : '<unknown>';
        const goal = target.averageUtilization != null ? percent(target.averageUtilization) : '<auto>';
        return `${name}: ${now}/${goal}`;
      }
      default:
        return '<unknown type>';
    }
  });
  const shown = parts.slice(0, 2).join(', ');
  return parts.length > 2 ? `${shown} + ${parts.length - 2} more...` : shown;
}

export const autoscalingPrinters: Record<string, KindPrinter> = {
  HorizontalPodAutoscaler: {
    columns: [
      nameColumn,
      {
        name: 'Reference',
        description: 'The scaled object (Kind/name).',
        cell: (o) => `${str(o?.spec?.scaleTargetRef?.kind)}/${str(o?.spec?.scaleTargetRef?.name)}`,
      },
      { name: 'Targets', description: 'Current and target value of each metric.', cell: formatHPAMetrics },
      { name: 'MinPods', description: 'Lower replica limit.', cell: (o) => (o?.spec?.minReplicas == null ? '<unset>' : String(int(o.spec.minReplicas))) },
      { name: 'MaxPods', description: 'Upper replica limit.', cell: (o) => int(o?.spec?.maxReplicas) },
      { name: 'Replicas', description: 'Current number of replicas.', cell: (o) => int(o?.status?.currentReplicas) },
      ageColumn,
    ],
  },
};
