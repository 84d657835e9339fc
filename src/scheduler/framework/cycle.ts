// One scheduling cycle for one pod over a snapshot (upstream schedulePod):
//
//   PreFilter → [nominated node first] → Filter over nodes in the snapshot's
//   random order from a rotating offset, until numFeasibleNodesToFind pass →
//   PostFilter if none did → PreScore → Score (+NormalizeScore, weights) →
//   the best total, ties broken at random.
//
// Filter verdicts and raw scores come from the equivalence class of the pod
// when the node has not changed since they were computed (equivalence.ts).
import { CycleState } from './cycle-state.ts';
import { Diagnosis, NO_NODES_AVAILABLE, fitErrorMessage } from './explain.ts';
import { keyWithLabels, equivalenceKey, type EquivalenceClass } from './equivalence.ts';
import { MAX_NODE_SCORE, type PostFilterResult, type Snapshot } from './interface.ts';
import type { NodeInfo } from './node-info.ts';
import type { PodInfo } from './pod-info.ts';
import { numFeasibleNodesToFind } from './sampling.ts';
import { Status, type PluginResult } from './status.ts';
import type { Framework } from './runtime.ts';

export interface Scheduled {
  node: string;
  /** Nodes whose Filter verdict this cycle looked at. */
  evaluatedNodes: number;
  feasibleNodes: number;
  state: CycleState;
  podInfo: PodInfo;
}

export interface NotScheduled {
  node?: undefined;
  /** Unschedulable / UnschedulableAndUnresolvable for "does not fit", Error for a failure. */
  status: Status;
  /** For the FailedScheduling event and the PodScheduled condition. */
  message: string;
  diagnosis: Diagnosis;
  /** What PostFilter (preemption) proposes. */
  postFilterResult?: PostFilterResult;
  state: CycleState;
  podInfo: PodInfo;
}

export type ScheduleResult = Scheduled | NotScheduled;

export function scheduleCycle(fw: Framework, pod: PodInfo, snapshot: Snapshot): ScheduleResult {
  fw.stats.cycles++;
  const state = new CycleState();
  const diagnosis = new Diagnosis();
  const allNodes = snapshot.nodes;
  const numAll = allNodes.length;
  const fail = (status: Status, message = status.message()): NotScheduled => ({ status, message, diagnosis, state, podInfo: pod });

  if (numAll === 0) return fail(new Status('UnschedulableAndUnresolvable', [NO_NODES_AVAILABLE]));

  // PreFilter.
  const pre = fw.runPreFilterPlugins(state, pod, allNodes);
  if (pre.status) {
    if (!pre.status.isRejected()) return fail(pre.status);
    diagnosis.absentStatus = pre.status;
    diagnosis.preFilterMsg = pre.status.message();
    for (const r of pre.rejectors) diagnosis.unschedulablePlugins.add(r);
    return unschedulable(fw, pod, state, diagnosis, numAll);
  }

  // A node named by an earlier preemption is likely the only one with room: try it first.
  const nominated = pod.pod.status?.nominatedNodeName;
  if (nominated) {
    const ni = snapshot.get(nominated);
    if (ni?.node) {
      const s = fw.runFilterPluginsWithNominatedPods(state, pod, ni);
      if (s === undefined) return { node: ni.name, evaluatedNodes: 1, feasibleNodes: 1, state, podInfo: pod };
      if (!s.isRejected()) return fail(s);
      diagnosis.nodeToStatus.set(ni.name, s);
      diagnosis.unschedulablePlugins.add(s.plugin);
    }
  }

  let candidates = allNodes;
  if (pre.nodeNames) {
    candidates = [];
    for (const name of pre.nodeNames) {
      const ni = snapshot.get(name);
      if (ni?.node) (candidates as NodeInfo[]).push(ni);
    }
    diagnosis.absentStatus = new Status('UnschedulableAndUnresolvable', [`node(s) didn't satisfy plugin(s) [${[...pre.rejectors].sort().join(' ')}]`]);
  }

  // Filter.
  const eq = classFor(fw, pod, state, snapshot);
  const n = candidates.length;
  const want = fw.speed.adaptiveSampling ? numFeasibleNodesToFind(n, fw.percentageOfNodesToScore) : n;
  const feasible: NodeInfo[] = [];
  const start = n === 0 ? 0 : fw.nextStartNodeIndex % n;
  let rejected = 0;
  let i = 0;
  for (; i < n && feasible.length < want; i++) {
    const ni = candidates[(start + i) % n]!;
    const s = filterNode(fw, state, pod, ni, eq);
    if (s === undefined) {
      feasible.push(ni);
      continue;
    }
    if (!s.isRejected()) return fail(s);
    diagnosis.nodeToStatus.set(ni.name, s);
    diagnosis.unschedulablePlugins.add(s.plugin);
    rejected++;
  }
  fw.stats.nodesFiltered += i;
  fw.nextStartNodeIndex = (fw.nextStartNodeIndex + feasible.length + rejected) % numAll;

  if (feasible.length === 0) return unschedulable(fw, pod, state, diagnosis, numAll);
  if (feasible.length === 1) return { node: feasible[0]!.name, evaluatedNodes: i, feasibleNodes: 1, state, podInfo: pod };

  // Score.
  const preScore = fw.runPreScorePlugins(state, pod, feasible);
  if (preScore) return fail(preScore);
  const totals = new Float64Array(feasible.length);
  const scored = scoreNodes(fw, state, pod, feasible, eq, snapshot, totals);
  if (scored) return fail(scored);
  fw.stats.nodesScored += feasible.length;
  return { node: selectHost(feasible, totals, fw.random), evaluatedNodes: i, feasibleNodes: feasible.length, state, podInfo: pod };
}

function unschedulable(fw: Framework, pod: PodInfo, state: CycleState, diagnosis: Diagnosis, numAll: number): NotScheduled {
  let postFilterResult: PostFilterResult | undefined;
  if (fw.postFilterPlugins.length > 0) {
    const out = fw.runPostFilterPlugins(state, pod, diagnosis);
    if (out.status.code === 'Error') {
      return { status: out.status, message: out.status.message(), diagnosis, state, podInfo: pod };
    }
    diagnosis.postFilterMsg = out.status.message();
    postFilterResult = out.result;
  }
  const message = fitErrorMessage(numAll, diagnosis, { order: fw.messageOrder });
  return { status: new Status('Unschedulable', [message]), message, diagnosis, postFilterResult, state, podInfo: pod };
}

/** The pod's class for this cycle (after PreFilter, which decides which plugins are active). */
function classFor(fw: Framework, pod: PodInfo, state: CycleState, snapshot: Snapshot): EquivalenceClass | undefined {
  if (!fw.speed.equivalenceCache && !fw.speed.scoreCache) return undefined;
  const reads = fw.filterReads(state);
  let labels = !!reads.podLabels;
  for (const e of fw.scorePlugins) labels ||= !!e.plugin.scoreReads?.podLabels;
  const c = fw.equivalenceCache.classFor(labels ? keyWithLabels(pod) : equivalenceKey(pod.pod), snapshot.slotCount);
  c.checkFilterToken(reads.otherNodes ? snapshot.generation : -1, reads.nodeSet ? snapshot.nodeSetGeneration : -1);
  return c;
}

function filterNode(fw: Framework, state: CycleState, pod: PodInfo, ni: NodeInfo, eq: EquivalenceClass | undefined): PluginResult {
  if (fw.nominator && fw.hasNominatedPodsOn(ni.name)) return fw.runFilterPluginsWithNominatedPods(state, pod, ni);
  const slot = ni.slot;
  const cache = fw.speed.equivalenceCache && eq !== undefined && slot >= 0;
  if (cache && eq.filterGen[slot] === ni.generation) {
    fw.equivalenceCache.stats.filterHits++;
    return eq.filterStatus[slot] ?? undefined;
  }
  const s = fw.runFilterPlugins(state, pod, ni);
  if (cache && (s === undefined || s.isRejected())) {
    fw.equivalenceCache.stats.filterMisses++;
    eq.filterGen[slot] = ni.generation;
    eq.filterStatus[slot] = s ?? null;
  }
  return s;
}

/**
 * Raw scores (from the class cache where the node is unchanged), then
 * NormalizeScore and weights, summed into `totals`.
 */
function scoreNodes(
  fw: Framework, state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[], eq: EquivalenceClass | undefined,
  snapshot: Snapshot, totals: Float64Array,
): PluginResult {
  const active = fw.scorePlugins.filter((e) => !state.skipScorePlugins.has(e.plugin.name));
  if (active.length === 0) return undefined;
  const n = nodes.length;
  const raw = active.map(() => new Float64Array(n));
  const cached = active.map((e, j) => (e.cacheIndex >= 0 ? j : -1)).filter((j) => j >= 0);
  const useCache = fw.speed.scoreCache && eq !== undefined && cached.length > 0;
  const stats = fw.equivalenceCache.stats;

  if (useCache) {
    let nodeSet = false;
    for (const j of cached) nodeSet ||= !!active[j]!.plugin.scoreReads?.nodeSet;
    eq.checkScoreToken(nodeSet ? snapshot.nodeSetGeneration : -1);
    const width = eq.scoreWidth;
    for (let i = 0; i < n; i++) {
      const ni = nodes[i]!;
      const slot = ni.slot;
      if (slot >= 0 && eq.scoreGen[slot] === ni.generation) {
        stats.scoreHits++;
        const base = slot * width;
        for (const j of cached) raw[j]![i] = eq.scores[base + active[j]!.cacheIndex]!;
        continue;
      }
      for (const j of cached) {
        const p = active[j]!.plugin;
        const r = runScore(p, state, pod, ni);
        if (typeof r !== 'number') return r;
        raw[j]![i] = r;
        if (slot >= 0) eq.scores[slot * width + active[j]!.cacheIndex] = r;
      }
      if (slot >= 0) {
        stats.scoreMisses++;
        eq.scoreGen[slot] = ni.generation;
      }
    }
  }

  for (let j = 0; j < active.length; j++) {
    const { plugin, weight } = active[j]!;
    const scores = raw[j]!;
    if (!useCache || active[j]!.cacheIndex < 0) {
      for (let i = 0; i < n; i++) {
        const r = runScore(plugin, state, pod, nodes[i]!);
        if (typeof r !== 'number') return r;
        scores[i] = r;
      }
    }
    if (plugin.normalizeScore) {
      let s: PluginResult;
      try {
        s = plugin.normalizeScore(state, pod, scores, nodes);
      } catch (err) {
        s = new Status('Error', [String(err)]);
      }
      if (s && !s.isSuccess()) return new Status('Error', [`running NormalizeScore plugin "${plugin.name}": ${s.message()}`], { plugin: plugin.name });
    }
    for (let i = 0; i < n; i++) {
      const v = scores[i]!;
      if (v > MAX_NODE_SCORE || v < 0 || Number.isNaN(v)) {
        return new Status('Error', [`plugin "${plugin.name}" returns an invalid score ${v}, it should in the range of [0, ${MAX_NODE_SCORE}] after normalizing`], { plugin: plugin.name });
      }
      totals[i] = totals[i]! + v * weight;
    }
  }
  return undefined;
}

function runScore(p: Framework['scorePlugins'][number]['plugin'], state: CycleState, pod: PodInfo, ni: NodeInfo): number | Status {
  try {
    const r = p.score(state, pod, ni);
    if (typeof r === 'number') return r;
    return new Status('Error', [`running Score plugin "${p.name}": ${r.message()}`], { plugin: p.name });
  } catch (err) {
    return new Status('Error', [`running Score plugin "${p.name}": ${err instanceof Error ? err.message : String(err)}`], { plugin: p.name });
  }
}

/** The node with the highest total; among equals each is picked with equal probability (reservoir sampling). */
export function selectHost(nodes: readonly NodeInfo[], totals: Float64Array, random: () => number): string {
  let best = 0;
  let ties = 1;
  for (let i = 1; i < nodes.length; i++) {
    if (totals[i]! > totals[best]!) {
      best = i;
      ties = 1;
    } else if (totals[i] === totals[best]) {
      ties++;
      if (Math.floor(random() * ties) === 0) best = i;
    }
  }
  return nodes[best]!.name;
}
