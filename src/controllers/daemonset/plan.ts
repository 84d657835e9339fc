// The DaemonSet controller's decisions, as pure functions of the cache:
// which nodes need a daemon pod and which pods must go (upstream's manage /
// podsShouldBeOnNode), which old pods a rolling update replaces next
// (rollingUpdate, with and without maxSurge), and the status. The
// controller (controller.ts) does the writes.
import type { LabelSelectorObject } from '../../api/selectors/index.ts';
import type { KubeObject } from '../../client/interface.ts';
import { CONTROLLER_REVISION_HASH_LABEL } from '../framework/history.ts';
import { isPodAvailable, isPodReady } from '../framework/pods.ts';
import type { Pod, PodTemplate, WorkloadCondition } from '../framework/types.ts';
import { scaledValue } from '../deployment/util.ts';
import { nodeShouldRunDaemonPod, type Node, type Placement, type PlacementSpec } from './nodes.ts';

export const POD_TEMPLATE_GENERATION_LABEL = 'pod-template-generation';
/** Where apps/v1 keeps the internal spec.templateGeneration (upstream's conversion writes it). */
export const TEMPLATE_GENERATION_ANNOTATION = 'deprecated.daemonset.template.generation';
export const daemonSetsResource = { group: 'apps', version: 'v1', resource: 'daemonsets' } as const;

export interface DaemonSetStatus {
  currentNumberScheduled: number;
  numberMisscheduled: number;
  desiredNumberScheduled: number;
  numberReady: number;
  observedGeneration?: number;
  updatedNumberScheduled?: number;
  numberAvailable?: number;
  numberUnavailable?: number;
  collisionCount?: number;
  conditions?: WorkloadCondition[];
}

export interface DaemonSet extends KubeObject {
  spec: {
    selector?: LabelSelectorObject;
    template: PodTemplate;
    updateStrategy?: { type?: 'RollingUpdate' | 'OnDelete'; rollingUpdate?: { maxUnavailable?: number | string; maxSurge?: number | string } };
    minReadySeconds?: number;
    revisionHistoryLimit?: number;
  };
  status?: DaemonSetStatus;
}

/** Daemon pods by the node they are on or for ("" for none). */
export type NodePods = Map<string, Pod[]>;

export const templateSpec = (ds: DaemonSet) => (ds.spec.template?.spec ?? {}) as PlacementSpec;

/**
 * The template generation for the pod-template-generation label: the
 * annotation upstream's API server maintains when present, else the
 * object's generation (this server bumps it on every spec change; pods are
 * matched by hash first, so a bump without a template change is harmless).
 */
export function templateGeneration(ds: DaemonSet): number | undefined {
  const annotated = Number(ds.metadata.annotations?.[TEMPLATE_GENERATION_ANNOTATION]);
  if (Number.isInteger(annotated) && annotated > 0) return annotated;
  return ds.metadata.generation;
}

/** Upstream's IsPodUpdated: the revision hash matches, or (older pods) the template generation does. */
export function isPodUpdated(pod: Pod, hash: string, generation: number | undefined): boolean {
  const labels = pod.metadata.labels ?? {};
  return (hash !== '' && labels[CONTROLLER_REVISION_HASH_LABEL] === hash)
    || (generation !== undefined && labels[POD_TEMPLATE_GENERATION_LABEL] === String(generation));
}

const isRollingUpdate = (ds: DaemonSet) => (ds.spec.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate';

/** maxSurge of `desired` nodes (rounded up); 0 for OnDelete. */
export function surgeCount(ds: DaemonSet, desired: number): number {
  if (!isRollingUpdate(ds)) return 0;
  return scaledValue(ds.spec.updateStrategy?.rollingUpdate?.maxSurge, desired, true);
}

/** maxUnavailable of `desired` nodes (rounded up); 0 for OnDelete. */
export function unavailableCount(ds: DaemonSet, desired: number): number {
  if (!isRollingUpdate(ds)) return 0;
  return scaledValue(ds.spec.updateStrategy?.rollingUpdate?.maxUnavailable ?? 1, desired, true);
}

export const allowsSurge = (ds: DaemonSet) => surgeCount(ds, 1) !== 0;

/** Scheduled first, then oldest, then by name (upstream's podByCreationTimestampAndPhase). */
export function byScheduledThenAge(a: Pod, b: Pod): number {
  const sa = a.spec?.nodeName ? 0 : 1;
  const sb = b.spec?.nodeName ? 0 : 1;
  if (sa !== sb) return sa - sb;
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  return (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '');
}

const isTerminal = (pod: Pod) => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';

export interface ManagePlan {
  nodesNeedingPods: string[];
  podsToDelete: Pod[];
  /** Failed or finished daemon pods to replace (the controller deletes them, with backoff per node). */
  failedPods: { pod: Pod; node: string }[];
  /** Pods for nodes that no longer exist: no kubelet will finish them, so they are deleted at once. */
  orphanedPods: Pod[];
}

/**
 * What the manage loop does on each node (upstream's podsShouldBeOnNode):
 * - should run, no pod: create one;
 * - may continue: replace failed pods; keep one running pod (without surge
 *   the oldest; with surge an old ready pod may stay beside a new one until
 *   the new one is ready);
 * - may not continue: delete its daemon pods.
 * And pods for nodes that no longer exist are deleted without grace (even
 * those already terminating): upstream leaves bound ones to the pod garbage
 * collector, which force-deletes them, and skiff does not have one yet.
 */
export function planManage(options: { ds: DaemonSet; nodes: readonly Node[]; nodePods: NodePods; hash: string }): ManagePlan {
  const { ds, nodes, nodePods, hash } = options;
  const spec = templateSpec(ds);
  const surge = allowsSurge(ds);
  const plan: ManagePlan = { nodesNeedingPods: [], podsToDelete: [], failedPods: [], orphanedPods: [] };
  const known = new Set<string>();
  for (const node of nodes) {
    const name = node.metadata.name!;
    known.add(name);
    const pods = nodePods.get(name) ?? [];
    const { shouldRun, shouldContinueRunning } = nodeShouldRunDaemonPod(node, spec);
    if (shouldRun && pods.length === 0) {
      plan.nodesNeedingPods.push(name);
    } else if (shouldContinueRunning) {
      const running: Pod[] = [];
      for (const pod of pods) {
        if (pod.metadata.deletionTimestamp) continue;
        if (isTerminal(pod)) plan.failedPods.push({ pod, node: name });
        else running.push(pod);
      }
      plan.podsToDelete.push(...extraPodsOnNode(running, surge, hash));
    } else {
      plan.podsToDelete.push(...pods.filter((p) => !p.metadata.deletionTimestamp));
    }
  }
  for (const [name, pods] of nodePods) {
    if (!known.has(name)) plan.orphanedPods.push(...pods);
  }
  return plan;
}

/**
 * Running pods beyond the one a node keeps. With surge, two may stay: the
 * oldest new pod while it is not ready yet, beside the oldest old pod while
 * that one is ready; once the new one is ready (or the old one is not), the
 * old one goes.
 */
function extraPodsOnNode(running: Pod[], surge: boolean, hash: string): Pod[] {
  if (running.length <= 1) return [];
  const sorted = [...running].sort(byScheduledThenAge);
  if (!surge) return sorted.slice(1);
  let oldestNew: Pod | undefined;
  let oldestOld: Pod | undefined;
  const extra: Pod[] = [];
  for (const pod of sorted) {
    if (pod.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL] === hash) {
      if (!oldestNew) {
        oldestNew = pod;
        continue;
      }
    } else if (!oldestOld) {
      oldestOld = pod;
      continue;
    }
    extra.push(pod);
  }
  if (oldestNew && oldestOld && (!isPodReady(oldestOld) || isPodReady(oldestNew))) extra.push(oldestOld);
  return extra;
}

/**
 * The node's one new and one old pod (terminating ones ignored); undefined
 * when there are several of either, which the manage loop cleans up first.
 */
function updatedAndOldPod(pods: readonly Pod[], hash: string, generation: number | undefined): { newPod?: Pod; oldPod?: Pod } | undefined {
  let newPod: Pod | undefined;
  let oldPod: Pod | undefined;
  for (const pod of pods) {
    if (pod.metadata.deletionTimestamp) continue;
    if (isPodUpdated(pod, hash, generation)) {
      if (newPod) return undefined;
      newPod = pod;
    } else {
      if (oldPod) return undefined;
      oldPod = pod;
    }
  }
  return { newPod, oldPod };
}

export interface RollingPlan {
  podsToDelete: Pod[];
  nodesNeedingPods: string[];
}

export interface RollingInput {
  ds: DaemonSet;
  nodes: readonly Node[];
  nodePods: NodePods;
  hash: string;
  now: Date;
}

/**
 * One step of a rolling update (upstream's rollingUpdate). Without surge:
 * delete old pods that are unavailable anyway, then old available ones
 * while fewer than maxUnavailable nodes lack an available pod (the manage
 * loop creates the replacements). With surge: start a new pod beside an old
 * one on up to maxSurge nodes at a time (at once where the old pod is
 * unavailable), and delete the old pod when the new one is available.
 */
export function planRollingUpdate(input: RollingInput): RollingPlan {
  const { ds, nodes, hash, now } = input;
  const spec = templateSpec(ds);
  const generation = templateGeneration(ds);
  const minReady = ds.spec.minReadySeconds ?? 0;
  const available = (pod: Pod) => isPodAvailable(pod, minReady, now);
  const placements = new Map<string, Placement>(nodes.map((n) => [n.metadata.name!, nodeShouldRunDaemonPod(n, spec)]));
  // Nodes that want a pod and have none take part as "nothing there yet".
  const nodePods: NodePods = new Map(input.nodePods);
  let desired = 0;
  for (const [name, placement] of placements) {
    if (!placement.shouldRun) continue;
    desired++;
    if (!nodePods.has(name)) nodePods.set(name, []);
  }
  const names = [...nodePods.keys()].filter((n) => n !== '').sort();
  const maxSurge = surgeCount(ds, desired);
  let maxUnavailable = unavailableCount(ds, desired);
  // An impossible setting (both zero) must not stall the rollout.
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;

  if (maxSurge === 0) {
    let unavailable = 0;
    const replaceAnyway: Pod[] = [];
    const candidates: Pod[] = [];
    for (const name of names) {
      const found = updatedAndOldPod(nodePods.get(name)!, hash, generation);
      if (!found) {
        unavailable++;
        continue;
      }
      const { newPod, oldPod } = found;
      if ((!oldPod && !newPod) || (oldPod && newPod)) unavailable++;
      else if (newPod) {
        if (!available(newPod)) unavailable++;
      } else if (!available(oldPod!)) replaceAnyway.push(oldPod!);
      else if (unavailable < maxUnavailable) candidates.push(oldPod!);
    }
    const room = Math.min(Math.max(0, maxUnavailable - unavailable), candidates.length);
    return { podsToDelete: [...replaceAnyway, ...candidates.slice(0, room)], nodesNeedingPods: [] };
  }

  const podsToDelete: Pod[] = [];
  const notWantedAnyMore: Pod[] = [];
  const replaceAnyway: string[] = [];
  const candidates: string[] = [];
  let surging = 0;
  let availableCount = 0;
  for (const name of names) {
    const found = updatedAndOldPod(nodePods.get(name)!, hash, generation);
    if (!found) {
      surging++;
      continue;
    }
    const { newPod, oldPod } = found;
    if (oldPod ? available(oldPod) : newPod ? available(newPod) : false) availableCount++;
    if (!oldPod) continue;
    const shouldRun = placements.get(name)?.shouldRun ?? false;
    if (!newPod) {
      if (!available(oldPod)) {
        if (!shouldRun) podsToDelete.push(oldPod);
        else replaceAnyway.push(name);
      } else if (!shouldRun) {
        notWantedAnyMore.push(oldPod);
      } else if (surging < maxSurge) {
        candidates.push(name);
      }
    } else if (!available(newPod)) {
      surging++;
    } else {
      podsToDelete.push(oldPod);
    }
  }
  // Surge promises full availability: a pod on a node the set left goes only
  // once enough pods elsewhere are available to stand in for it.
  const deletable = Math.min(Math.max(0, availableCount - desired), notWantedAnyMore.length);
  podsToDelete.push(...notWantedAnyMore.slice(0, deletable));
  const room = Math.min(Math.max(0, maxSurge - surging), candidates.length);
  return { podsToDelete, nodesNeedingPods: [...replaceAnyway, ...candidates.slice(0, room)] };
}

/** Status from the nodes and the daemon pods on them (upstream's updateDaemonSetStatus). */
export function calculateStatus(options: { ds: DaemonSet; nodes: readonly Node[]; nodePods: NodePods; hash: string; now: Date; observe: boolean }): DaemonSetStatus {
  const { ds, nodePods, hash, now } = options;
  const spec = templateSpec(ds);
  const generation = templateGeneration(ds);
  let desired = 0;
  let current = 0;
  let misscheduled = 0;
  let ready = 0;
  let availableCount = 0;
  let updated = 0;
  for (const node of options.nodes) {
    const pods = nodePods.get(node.metadata.name!) ?? [];
    const { shouldRun } = nodeShouldRunDaemonPod(node, spec);
    if (!shouldRun) {
      if (pods.length) misscheduled++;
      continue;
    }
    desired++;
    if (!pods.length) continue;
    current++;
    const pod = [...pods].sort(byScheduledThenAge)[0];
    if (isPodReady(pod)) {
      ready++;
      if (isPodAvailable(pod, ds.spec.minReadySeconds ?? 0, now)) availableCount++;
    }
    if (isPodUpdated(pod, hash, generation)) updated++;
  }
  const status: DaemonSetStatus = {
    currentNumberScheduled: current, numberMisscheduled: misscheduled, desiredNumberScheduled: desired, numberReady: ready,
  };
  const observed = options.observe ? ds.metadata.generation : ds.status?.observedGeneration;
  if (observed) status.observedGeneration = observed;
  if (updated) status.updatedNumberScheduled = updated;
  if (availableCount) status.numberAvailable = availableCount;
  if (desired - availableCount > 0) status.numberUnavailable = desired - availableCount;
  if (ds.status?.collisionCount !== undefined) status.collisionCount = ds.status.collisionCount;
  if (ds.status?.conditions?.length) status.conditions = ds.status.conditions;
  return status;
}

const STATUS_FIELDS = [
  'currentNumberScheduled', 'numberMisscheduled', 'desiredNumberScheduled', 'numberReady', 'observedGeneration',
  'updatedNumberScheduled', 'numberAvailable', 'numberUnavailable', 'collisionCount',
] as const;

export function statusChanged(old: DaemonSetStatus | undefined, status: DaemonSetStatus): boolean {
  return STATUS_FIELDS.some((f) => (old?.[f] ?? 0) !== (status[f] ?? 0));
}
