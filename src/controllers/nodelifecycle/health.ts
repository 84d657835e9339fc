// Node health from the controller's own clock (upstream's tryUpdateNodeHealth).
//
// The controller never trusts timestamps written by nodes (their clocks may
// be off): it remembers, per node, WHEN IT SAW a sign of life — a new
// lastHeartbeatTime on the Ready condition, or a newer Lease renewTime —
// and a node silent for longer than the grace period gets its Ready,
// MemoryPressure, DiskPressure and PIDPressure conditions set to Unknown.
// NetworkUnavailable is left alone: the network plugin owns it.
import { rfc3339 } from '../framework/types.ts';
import type { LeaseObject, NodeCondition, NodeObject } from './types.ts';

export interface NodeHealth {
  /** Controller time (ms) of the last sign of life. */
  probeTimestamp: number;
  /** Controller time (ms) the Ready condition was last seen to change. */
  readyTransitionTimestamp: number;
  /** The Ready condition as last seen. */
  readyCondition: NodeCondition | undefined;
  /** The lease renewTime as last seen. */
  leaseRenewTime: string | undefined;
}

export interface HealthCheckOptions {
  node: NodeObject;
  lease: LeaseObject | undefined;
  /** What we remembered about the node (undefined the first time). */
  previous: NodeHealth | undefined;
  now: number;
  gracePeriodMs: number;
  startupGracePeriodMs: number;
}

export interface HealthCheck {
  health: NodeHealth;
  /** The Ready condition before this check (a stand-in Unknown one when the node has none). */
  observedReady: NodeCondition;
  /** The Ready condition after it (undefined only when the node has none and is within its startup grace). */
  currentReady: NodeCondition | undefined;
  /** The node's new conditions when they must be written (the node went silent), else undefined. */
  newConditions: NodeCondition[] | undefined;
}

const CONDITIONS_SET_UNKNOWN = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'] as const;

const renewMs = (time: string | undefined) => (time ? Date.parse(time) : Number.NaN);

export function checkNodeHealth(options: HealthCheckOptions): HealthCheck {
  const { node, lease, now } = options;
  const created = Date.parse(node.metadata.creationTimestamp ?? '') || now;
  const conditions = node.status?.conditions ?? [];
  const ready = conditions.find((c) => c.type === 'Ready');
  const observedReady: NodeCondition = ready
    ? { ...ready }
    : { type: 'Ready', status: 'Unknown', lastHeartbeatTime: node.metadata.creationTimestamp, lastTransitionTime: node.metadata.creationTimestamp };
  const gracePeriod = ready ? options.gracePeriodMs : options.startupGracePeriodMs;

  let health: NodeHealth;
  const previous = options.previous;
  if (!previous) {
    // First sight: a node without status counts from its creation, one with status from now.
    const since = ready ? now : created;
    health = { probeTimestamp: since, readyTransitionTimestamp: since, readyCondition: ready, leaseRenewTime: undefined };
  } else if (!previous.readyCondition && ready) {
    health = { probeTimestamp: now, readyTransitionTimestamp: now, readyCondition: ready, leaseRenewTime: previous.leaseRenewTime };
  } else if (previous.readyCondition && !ready) {
    health = { probeTimestamp: now, readyTransitionTimestamp: now, readyCondition: undefined, leaseRenewTime: previous.leaseRenewTime };
  } else if (previous.readyCondition && ready && previous.readyCondition.lastHeartbeatTime !== ready.lastHeartbeatTime) {
    const transitioned = previous.readyCondition.lastTransitionTime !== ready.lastTransitionTime;
    health = { probeTimestamp: now, readyTransitionTimestamp: transitioned ? now : previous.readyTransitionTimestamp, readyCondition: ready, leaseRenewTime: previous.leaseRenewTime };
  } else {
    health = { ...previous, readyCondition: ready };
  }

  // A renewed lease is a sign of life even when the node's status is old.
  const renewTime = lease?.spec?.renewTime;
  if (renewTime && (!health.leaseRenewTime || renewMs(health.leaseRenewTime) < renewMs(renewTime))) {
    health = { ...health, leaseRenewTime: renewTime, probeTimestamp: now };
  }

  if (now <= health.probeTimestamp + gracePeriod) return { health, observedReady, currentReady: ready, newConditions: undefined };

  const stamp = rfc3339(new Date(now));
  const next = conditions.map((c) => ({ ...c }));
  for (const type of CONDITIONS_SET_UNKNOWN) {
    const condition = next.find((c) => c.type === type);
    if (!condition) {
      next.push({
        type, status: 'Unknown', reason: 'NodeStatusNeverUpdated', message: 'Kubelet never posted node status.',
        lastHeartbeatTime: node.metadata.creationTimestamp, lastTransitionTime: stamp,
      });
    } else if (condition.status !== 'Unknown') {
      Object.assign(condition, { status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastTransitionTime: stamp });
    }
  }
  const currentReady = next.find((c) => c.type === 'Ready')!;
  const changed = JSON.stringify(currentReady) !== JSON.stringify(observedReady);
  if (!changed) return { health, observedReady, currentReady, newConditions: undefined };
  return {
    health: { ...health, readyCondition: currentReady, readyTransitionTimestamp: now },
    observedReady,
    currentReady,
    newConditions: next,
  };
}
