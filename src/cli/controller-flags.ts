// kube-controller-manager's tuning flags on `skiff server`, spelled as
// upstream spells them, turned into the controller manager's ControllerTuning.
// Unset flags stay unset: each controller applies upstream's default.
import type { Command } from 'commander';
import type { ControllerTuning } from '../controllers/framework/controller.ts';
import { parseGoDuration, parseRate } from './go-duration.ts';

export interface ControllerTuningFlags {
  nodeMonitorPeriod?: string;
  nodeMonitorGracePeriod?: string;
  nodeStartupGracePeriod?: string;
  nodeEvictionRate?: string;
  secondaryNodeEvictionRate?: string;
  largeClusterSizeThreshold?: string;
  unhealthyZoneThreshold?: string;
  terminatedPodGcThreshold?: string;
  horizontalPodAutoscalerSyncPeriod?: string;
  horizontalPodAutoscalerTolerance?: string;
  horizontalPodAutoscalerDownscaleStabilization?: string;
  horizontalPodAutoscalerCpuInitializationPeriod?: string;
  horizontalPodAutoscalerInitialReadinessDelay?: string;
}

export function addControllerTuningOptions(command: Command): Command {
  return command
    .option('--node-monitor-period <duration>', 'how often node health is checked (default 5s)')
    .option('--node-monitor-grace-period <duration>', 'how long a node may stop posting status or renewing its Lease before it is marked unhealthy (default 50s)')
    .option('--node-startup-grace-period <duration>', 'the same for a node that never posted status (default 1m0s)')
    .option('--node-eviction-rate <rate>', 'nodes per second whose pods are evicted when a zone is healthy (default 0.1)')
    .option('--secondary-node-eviction-rate <rate>', 'nodes per second whose pods are evicted when a zone is unhealthy (default 0.01)')
    .option('--large-cluster-size-threshold <n>', 'zones of at most this many nodes stop evicting when unhealthy (default 50)')
    .option('--unhealthy-zone-threshold <fraction>', 'share of not-ready nodes (at least 3) that makes a zone unhealthy (default 0.55)')
    .option('--terminated-pod-gc-threshold <n>', 'terminated pods kept before the oldest are deleted; 0 keeps all (default 12500)')
    .option('--horizontal-pod-autoscaler-sync-period <duration>', 'how often each HorizontalPodAutoscaler is reconciled (default 15s)')
    .option('--horizontal-pod-autoscaler-tolerance <fraction>', 'how far the usage ratio may stray from 1 before an HPA scales (default 0.1)')
    .option('--horizontal-pod-autoscaler-downscale-stabilization <duration>', 'an HPA scales down to the highest recommendation of this window (default 5m0s)')
    .option('--horizontal-pod-autoscaler-cpu-initialization-period <duration>', 'after a pod starts, its CPU samples count only once it is ready (default 5m0s)')
    .option('--horizontal-pod-autoscaler-initial-readiness-delay <duration>', 'after a pod starts, readiness changes are taken as its initial readiness (default 30s)');
}

function wholeNumber(text: string, flag: string): number {
  if (!/^\d+$/.test(text.trim())) throw new Error(`${flag} ${JSON.stringify(text)}: not a whole number`);
  return Number(text);
}

/** Throws (naming the flag) on a malformed value. */
export function controllerTuningFromFlags(flags: ControllerTuningFlags): ControllerTuning {
  const tuning: ControllerTuning = {};
  if (flags.nodeMonitorPeriod !== undefined) tuning.nodeMonitorPeriodMs = parseGoDuration(flags.nodeMonitorPeriod, '--node-monitor-period');
  if (flags.nodeMonitorGracePeriod !== undefined) tuning.nodeMonitorGracePeriodMs = parseGoDuration(flags.nodeMonitorGracePeriod, '--node-monitor-grace-period');
  if (flags.nodeStartupGracePeriod !== undefined) tuning.nodeStartupGracePeriodMs = parseGoDuration(flags.nodeStartupGracePeriod, '--node-startup-grace-period');
  if (flags.nodeEvictionRate !== undefined) tuning.nodeEvictionRate = parseRate(flags.nodeEvictionRate, '--node-eviction-rate');
  if (flags.secondaryNodeEvictionRate !== undefined) tuning.secondaryNodeEvictionRate = parseRate(flags.secondaryNodeEvictionRate, '--secondary-node-eviction-rate');
  if (flags.largeClusterSizeThreshold !== undefined) tuning.largeClusterSizeThreshold = wholeNumber(flags.largeClusterSizeThreshold, '--large-cluster-size-threshold');
  if (flags.unhealthyZoneThreshold !== undefined) tuning.unhealthyZoneThreshold = parseRate(flags.unhealthyZoneThreshold, '--unhealthy-zone-threshold');
  if (flags.terminatedPodGcThreshold !== undefined) tuning.terminatedPodGcThreshold = wholeNumber(flags.terminatedPodGcThreshold, '--terminated-pod-gc-threshold');
  if (flags.horizontalPodAutoscalerSyncPeriod !== undefined) tuning.hpaSyncPeriodMs = parseGoDuration(flags.horizontalPodAutoscalerSyncPeriod, '--horizontal-pod-autoscaler-sync-period');
  if (flags.horizontalPodAutoscalerTolerance !== undefined) tuning.hpaTolerance = parseRate(flags.horizontalPodAutoscalerTolerance, '--horizontal-pod-autoscaler-tolerance');
  if (flags.horizontalPodAutoscalerDownscaleStabilization !== undefined) tuning.hpaDownscaleStabilizationMs = parseGoDuration(flags.horizontalPodAutoscalerDownscaleStabilization, '--horizontal-pod-autoscaler-downscale-stabilization');
  if (flags.horizontalPodAutoscalerCpuInitializationPeriod !== undefined) tuning.hpaCpuInitializationPeriodMs = parseGoDuration(flags.horizontalPodAutoscalerCpuInitializationPeriod, '--horizontal-pod-autoscaler-cpu-initialization-period');
  if (flags.horizontalPodAutoscalerInitialReadinessDelay !== undefined) tuning.hpaInitialReadinessDelayMs = parseGoDuration(flags.horizontalPodAutoscalerInitialReadinessDelay, '--horizontal-pod-autoscaler-initial-readiness-delay');
  if (tuning.hpaSyncPeriodMs === 0) throw new Error('--horizontal-pod-autoscaler-sync-period must be more than 0');
  if (tuning.nodeMonitorPeriodMs === 0) throw new Error('--node-monitor-period must be more than 0');
  return tuning;
}
