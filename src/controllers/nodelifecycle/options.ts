// kube-controller-manager's defaults for the node lifecycle controller
// (v1.36: --node-monitor-grace-period 50s since v1.32, startup grace 1m,
// monitor period 5s, eviction rates 0.1 and 0.01 nodes/s, large cluster 50
// nodes, unhealthy zone 55 %).
import type { ControllerTuning } from '../framework/controller.ts';
import type { EvictionRates } from './zones.ts';

export interface NodeLifecycleSettings extends EvictionRates {
  monitorPeriodMs: number;
  gracePeriodMs: number;
  startupGracePeriodMs: number;
  unhealthyZoneThreshold: number;
}

export const NODE_LIFECYCLE_DEFAULTS: Readonly<NodeLifecycleSettings> = Object.freeze({
  monitorPeriodMs: 5_000,
  gracePeriodMs: 50_000,
  startupGracePeriodMs: 60_000,
  nodeEvictionRate: 0.1,
  secondaryNodeEvictionRate: 0.01,
  largeClusterSizeThreshold: 50,
  unhealthyZoneThreshold: 0.55,
});

/** How often due NoExecute taints are tried (upstream's NodeEvictionPeriod). */
export const NODE_EVICTION_PERIOD_MS = 100;

export function nodeLifecycleSettings(tuning: ControllerTuning = {}): NodeLifecycleSettings {
  const d = NODE_LIFECYCLE_DEFAULTS;
  return {
    monitorPeriodMs: tuning.nodeMonitorPeriodMs ?? d.monitorPeriodMs,
    gracePeriodMs: tuning.nodeMonitorGracePeriodMs ?? d.gracePeriodMs,
    startupGracePeriodMs: tuning.nodeStartupGracePeriodMs ?? d.startupGracePeriodMs,
    nodeEvictionRate: tuning.nodeEvictionRate ?? d.nodeEvictionRate,
    secondaryNodeEvictionRate: tuning.secondaryNodeEvictionRate ?? d.secondaryNodeEvictionRate,
    largeClusterSizeThreshold: tuning.largeClusterSizeThreshold ?? d.largeClusterSizeThreshold,
    unhealthyZoneThreshold: tuning.unhealthyZoneThreshold ?? d.unhealthyZoneThreshold,
  };
}
