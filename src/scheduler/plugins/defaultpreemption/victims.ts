// Choosing victims on one node: take every lower-priority pod off, check the
// preemptor fits, then put back ("reprieve") as many as still let it fit,
// most important first — and among them first the ones whose eviction would
// break a PodDisruptionBudget, so those are the last to go.
import { selectorFromLabelSelector, type LabelSelector } from '../../../api/selectors/index.ts';
import type { CycleState } from '../../framework/cycle-state.ts';
import type { Handle } from '../../framework/interface.ts';
import type { NodeInfo } from '../../framework/node-info.ts';
import type { PodInfo } from '../../framework/pod-info.ts';
import { Status } from '../../framework/status.ts';
import type { Pod, PodDisruptionBudget } from '../../framework/types.ts';

export const NO_VICTIMS_FOUND = 'No preemption victims found for incoming pod';

/** Only strictly lower priority pods may be preempted. */
export const isPreemptionAllowed = (victim: PodInfo, preemptor: PodInfo): boolean => victim.priority < preemptor.priority;

/** status.startTime in ms; a pod not started yet counts as starting `now` (upstream GetPodStartTime). */
export function podStartTime(pod: Pod, now: number): number {
  const t = pod.status?.startTime;
  if (typeof t !== 'string') return now;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? now : ms;
}

/** Higher priority first; among equals the one running longer (earlier start) is more important. */
export function moreImportant(a: PodInfo, b: PodInfo, now: number): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  return podStartTime(a.pod, now) < podStartTime(b.pod, now);
}

/** A PDB with its selector parsed once per preemption attempt. */
export interface ParsedPdb {
  namespace: string;
  /** Undefined when the selector is absent, empty or invalid: such a PDB matches nothing. */
  selector: LabelSelector | undefined;
  disruptionsAllowed: number;
  disruptedPods: Readonly<Record<string, string>>;
}

export function parsePdbs(pdbs: readonly PodDisruptionBudget[]): ParsedPdb[] {
  return pdbs.map((pdb) => {
    let selector: LabelSelector | undefined;
    try {
      const s = selectorFromLabelSelector(pdb.spec?.selector);
      selector = s.isEmpty() || s.matchesNothing ? undefined : s;
    } catch {
      selector = undefined;
    }
    return {
      namespace: pdb.metadata.namespace ?? 'default',
      selector,
      disruptionsAllowed: pdb.status?.disruptionsAllowed ?? 0,
      disruptedPods: pdb.status?.disruptedPods ?? {},
    };
  });
}

/**
 * Splits `pods` (order kept) into those whose eviction, taken in this order,
 * would exceed some matching budget's allowed disruptions, and the rest.
 * Pods the API already counts as disrupted (status.disruptedPods) do not
 * use up the budget again.
 */
export function splitByPdbViolation(pods: readonly PodInfo[], pdbs: readonly ParsedPdb[]): { violating: PodInfo[]; nonViolating: PodInfo[] } {
  const allowed = pdbs.map((p) => p.disruptionsAllowed);
  const violating: PodInfo[] = [];
  const nonViolating: PodInfo[] = [];
  for (const p of pods) {
    let violated = false;
    // A pod without labels matches no budget.
    if (Object.keys(p.labels).length > 0) {
      pdbs.forEach((pdb, i) => {
        if (pdb.namespace !== p.namespace || !pdb.selector || !pdb.selector.matches(p.labels)) return;
        if (Object.hasOwn(pdb.disruptedPods, p.name)) return;
        allowed[i]!--;
        if (allowed[i]! < 0) violated = true;
      });
    }
    (violated ? violating : nonViolating).push(p);
  }
  return { violating, nonViolating };
}

export interface NodeVictims {
  /** Most important first. */
  pods: PodInfo[];
  numPdbViolations: number;
}

/**
 * The smallest set of victims on `nodeInfo` (a copy, changed here) that lets
 * `pod` fit, with `state` (a copy too) kept in step through the PreFilter
 * extensions. A Status when the node cannot help: no lower-priority pods,
 * or the pod does not fit even with all of them gone.
 */
export function selectVictimsOnNode(options: {
  handle: Handle;
  state: CycleState;
  pod: PodInfo;
  nodeInfo: NodeInfo;
  pdbs: readonly ParsedPdb[];
  now: number;
}): NodeVictims | Status {
  const { handle, state, pod, nodeInfo, pdbs, now } = options;
  const remove = (p: PodInfo): Status | undefined => {
    nodeInfo.removePod(p);
    return handle.runPreFilterExtensionRemovePod(state, pod, p, nodeInfo);
  };
  const add = (p: PodInfo): Status | undefined => {
    nodeInfo.addPod(p);
    return handle.runPreFilterExtensionAddPod(state, pod, p, nodeInfo);
  };

  const potential = nodeInfo.pods.filter((p) => isPreemptionAllowed(p, pod));
  for (const p of potential) {
    const s = remove(p);
    if (s) return s;
  }
  if (potential.length === 0) return new Status('UnschedulableAndUnresolvable', [NO_VICTIMS_FOUND]);

  // If the pod does not fit with every candidate victim gone, this node cannot help.
  // (Affinity of the preemptor to the victims themselves is not considered, as upstream.)
  const fits = handle.runFilterPluginsWithNominatedPods(state, pod, nodeInfo);
  if (fits) return fits;

  potential.sort((a, b) => (moreImportant(a, b, now) ? -1 : moreImportant(b, a, now) ? 1 : 0));
  const { violating, nonViolating } = splitByPdbViolation(potential, pdbs);
  const victims: PodInfo[] = [];
  let numPdbViolations = 0;
  const reprieve = (p: PodInfo): { fits: boolean } | Status => {
    const s = add(p);
    if (s) return s;
    if (handle.runFilterPluginsWithNominatedPods(state, pod, nodeInfo) === undefined) return { fits: true };
    const r = remove(p);
    if (r) return r;
    victims.push(p);
    return { fits: false };
  };
  for (const p of violating) {
    const r = reprieve(p);
    if (r instanceof Status) return r;
    if (!r.fits) numPdbViolations++;
  }
  for (const p of nonViolating) {
    const r = reprieve(p);
    if (r instanceof Status) return r;
  }
  // Violating victims were tried first; restore the importance order.
  if (violating.length > 0 && nonViolating.length > 0) {
    victims.sort((a, b) => (moreImportant(a, b, now) ? -1 : moreImportant(b, a, now) ? 1 : 0));
  }
  return { pods: victims, numPdbViolations };
}
