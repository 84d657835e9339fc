// DefaultPreemption (PostFilter): when a pod fits nowhere, find a node where
// removing pods of lower priority would make it fit, and propose that node
// (the pod's status.nominatedNodeName) and those pods (victims the loop
// deletes). Pure: the framework never deletes anything itself.
//
// Only nodes whose Filter verdict was Unschedulable (not "…AndUnresolvable")
// are tried, from a random offset, until enough candidates are found
// (minCandidateNodesPercentage of them, at least minCandidateNodesAbsolute),
// which bounds the work in big clusters as upstream does.
import { Diagnosis, fitErrorMessage } from '../../framework/explain.ts';
import type { CycleState } from '../../framework/cycle-state.ts';
import type { Handle, NodeToStatusReader, PostFilterPlugin, PostFilterResult } from '../../framework/interface.ts';
import type { NodeInfo } from '../../framework/node-info.ts';
import type { PodInfo } from '../../framework/pod-info.ts';
import { Status, type PluginResult } from '../../framework/status.ts';
import type { Pod } from '../../framework/types.ts';
import { names } from '../names.ts';
import { pickCandidate, type Candidate } from './candidates.ts';
import { isPreemptionAllowed, parsePdbs, selectVictimsOnNode, type ParsedPdb } from './victims.ts';

/** DefaultPreemptionArgs (kubescheduler.config.k8s.io/v1). */
export interface DefaultPreemptionArgs {
  /** Share of the potential nodes to find candidates on, 0..100; default 10. */
  minCandidateNodesPercentage?: number;
  /** Candidates to find at least; default 100. */
  minCandidateNodesAbsolute?: number;
}

export const PREEMPTION_NOT_HELPFUL = 'Preemption is not helpful for scheduling';
export const NOT_ELIGIBLE_NEVER = 'not eligible due to preemptionPolicy=Never.';
export const NOT_ELIGIBLE_TERMINATING = 'not eligible due to a terminating pod on the nominated node.';

const prefixed = (code: 'Unschedulable' | 'Error', message: string) => new Status(code, [`preemption: ${message}`], { plugin: names.DefaultPreemption });

/** A pod the scheduler is already evicting: deleted, with a DisruptionTarget condition saying so. */
export function terminatingByPreemption(pod: Pod): boolean {
  if (pod.metadata.deletionTimestamp == null) return false;
  for (const c of (pod.status?.conditions ?? []) as Array<{ type?: string; status?: string; reason?: string }>) {
    if (c.type === 'DisruptionTarget') return c.status === 'True' && c.reason === 'PreemptionByScheduler';
  }
  return false;
}

export class DefaultPreemption implements PostFilterPlugin {
  readonly name = names.DefaultPreemption;
  readonly #handle: Handle;
  readonly #percentage: number;
  readonly #absolute: number;
  /** The wall clock for "not started yet" victims; replaceable in tests. */
  now: () => number = Date.now;

  constructor(options: { handle: Handle; args?: DefaultPreemptionArgs }) {
    const args = options.args ?? {};
    this.#handle = options.handle;
    this.#percentage = args.minCandidateNodesPercentage ?? 10;
    this.#absolute = args.minCandidateNodesAbsolute ?? 100;
    if (!Number.isInteger(this.#percentage) || this.#percentage < 0 || this.#percentage > 100) {
      throw new Error(`minCandidateNodesPercentage: Invalid value: ${this.#percentage}: not in valid range [0, 100]`);
    }
    if (!Number.isInteger(this.#absolute) || this.#absolute < 0) {
      throw new Error(`minCandidateNodesAbsolute: Invalid value: ${this.#absolute}: not in valid range [0, inf)`);
    }
    if (this.#percentage === 0 && this.#absolute === 0) {
      throw new Error('minCandidateNodesPercentage and minCandidateNodesAbsolute: Invalid value: both cannot be zero');
    }
  }

  /** How many candidates to look for among `n` potential nodes. */
  numCandidates(n: number): number {
    return Math.min(n, Math.max(Math.trunc((n * this.#percentage) / 100), this.#absolute));
  }

  postFilter(state: CycleState, pod: PodInfo, filtered: NodeToStatusReader): { result?: PostFilterResult; status: PluginResult } {
    const why = this.#notEligible(pod, filtered);
    if (why) return { status: prefixed('Unschedulable', why) };

    const snapshot = this.#handle.snapshot();
    const allNodes = snapshot.nodes;
    // Nodes where some Filter said plain Unschedulable: removing pods might help there.
    const potential = allNodes.filter((ni) => filtered.get(ni.name)?.code === 'Unschedulable');
    const now = this.now();
    const pdbs = potential.length > 0 ? parsePdbs(this.#handle.data?.pdbs?.() ?? []) : [];
    const { candidates, statuses, errors } = this.#dryRun({ state, pod, potential, pdbs, now });

    if (candidates.length === 0) {
      if (errors.length > 0) return { status: prefixed('Error', errors.map((e) => e.message()).join(', ')) };
      const diagnosis = new Diagnosis();
      for (const [name, s] of statuses) diagnosis.nodeToStatus.set(name, s);
      diagnosis.absentStatus = new Status('UnschedulableAndUnresolvable', [PREEMPTION_NOT_HELPFUL]);
      const message = fitErrorMessage(allNodes.length, diagnosis, { order: this.#handle.messageOrder ?? 'lexical' });
      // An empty nomination asks the loop to clear the pod's stale one (only sent when it has one).
      const result = pod.pod.status?.nominatedNodeName ? { nominatedNodeName: '' } : undefined;
      return { result, status: prefixed('Unschedulable', message) };
    }

    const best = pickCandidate(candidates, now)!;
    const lowerPriorityNominatedPods = (this.#handle.nominator?.nominatedPodsForNode(best.nodeName) ?? [])
      .filter((p) => p.priority < pod.priority && p.uid !== pod.uid)
      .map((p) => p.pod);
    return {
      result: { nominatedNodeName: best.nodeName, victims: best.pods.map((p) => p.pod), lowerPriorityNominatedPods },
      status: new Status('Success'),
    };
  }

  /** Why the pod may not preempt (upstream PodEligibleToPreemptOthers), or undefined. */
  #notEligible(pod: PodInfo, filtered: NodeToStatusReader): string | undefined {
    if (pod.pod.spec?.preemptionPolicy === 'Never') return NOT_ELIGIBLE_NEVER;
    const nominated = pod.pod.status?.nominatedNodeName;
    if (!nominated) return undefined;
    // A nominated node that can no longer work at all is no reason to wait: preempt elsewhere.
    if (filtered.get(nominated)?.code === 'UnschedulableAndUnresolvable') return undefined;
    const ni = this.#handle.snapshot().get(nominated);
    for (const p of ni?.pods ?? []) {
      // Victims of an earlier round still leaving: wait for them rather than preempting more.
      if (isPreemptionAllowed(p, pod) && terminatingByPreemption(p.pod)) return NOT_ELIGIBLE_TERMINATING;
    }
    return undefined;
  }

  /**
   * Victims per potential node, from a random offset, until enough
   * candidates are found; candidates that break no PDB come first. Nodes
   * that cannot help keep their status (for the "0/N nodes" message).
   */
  #dryRun(options: { state: CycleState; pod: PodInfo; potential: readonly NodeInfo[]; pdbs: readonly ParsedPdb[]; now: number }): {
    candidates: Candidate[]; statuses: Map<string, Status>; errors: Status[];
  } {
    const { state, pod, potential, pdbs, now } = options;
    const statuses = new Map<string, Status>();
    const errors: Status[] = [];
    const n = potential.length;
    if (n === 0) return { candidates: [], statuses, errors };
    const want = this.numCandidates(n);
    const offset = Math.floor(this.#handle.random() * n) % n;
    const nonViolating: Candidate[] = [];
    const violating: Candidate[] = [];
    for (let i = 0; i < n; i++) {
      const ni = potential[(offset + i) % n]!;
      const r = selectVictimsOnNode({ handle: this.#handle, state: state.clone(), pod, nodeInfo: ni.clone(), pdbs, now });
      if (r instanceof Status) {
        if (r.code === 'Error') errors.push(r);
        statuses.set(ni.name, r);
        continue;
      }
      if (r.pods.length === 0) {
        const e = new Status('Error', [`expected at least one victim pod on node "${ni.name}"`]);
        errors.push(e);
        statuses.set(ni.name, e);
        continue;
      }
      const list = r.numPdbViolations === 0 ? nonViolating : violating;
      if (list.length < want) list.push({ nodeName: ni.name, ...r });
      if (nonViolating.length > 0 && nonViolating.length + violating.length >= want) break;
    }
    return { candidates: [...nonViolating, ...violating], statuses, errors };
  }
}

export const newDefaultPreemption = (args: unknown, handle: Handle) =>
  new DefaultPreemption({ handle, args: (args ?? {}) as DefaultPreemptionArgs });
