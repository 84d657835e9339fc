// The plugin contract (after kube-scheduler's framework): one small
// interface per extension point; a plugin implements whichever it needs and
// the framework finds them by method. Everything here is synchronous and
// pure except PreBind/Bind, which may return promises (binding is I/O the
// scheduler loop injects).
import type { CycleState } from './cycle-state.ts';
import type { NodeInfo } from './node-info.ts';
import type { PodInfo } from './pod-info.ts';
import type { PluginResult, Status } from './status.ts';
import type { LabelSelected, MapSelected, Pod, PodDisruptionBudget } from './types.ts';

/** The highest score a Score plugin may give after NormalizeScore. */
export const MAX_NODE_SCORE = 100;

export interface Plugin {
  readonly name: string;
}

/**
 * What a Filter or Score reads besides the incoming pod's scheduling spec and
 * the NodeInfo it is given. The equivalence and score caches use this to stay
 * correct: results are shared between pods of one equivalence class and
 * reused until the node's generation changes, which is only right for a
 * plugin that reads nothing else.
 */
export interface Reads {
  /** The incoming pod's labels or namespace (they join the class key while the plugin is active). */
  podLabels?: boolean;
  /** Pods or labels on other nodes (InterPodAffinity, PodTopologySpread): results are reused only while nothing at all changed. Score: never cached. */
  otherNodes?: boolean;
  /** Cluster-wide node facts such as the number of nodes or image spread (ImageLocality). */
  nodeSet?: boolean;
}

/**
 * A pod waiting in the queue (for QueueSort). Structurally what
 * queue/SchedulingQueue<PodInfo> holds, so `less: (a, b) => fw.less(a, b)` fits.
 */
export interface QueuedPodInfo {
  pod: PodInfo;
  /** When the pod was (re-)added to the queue, ms. */
  timestamp: number;
  attempts?: number;
  initialAttemptTimestamp?: number;
}

export interface QueueSortPlugin extends Plugin {
  less(a: QueuedPodInfo, b: QueuedPodInfo): boolean;
}

/** Gatekeeper before a pod enters the active queue (SchedulingGates). */
export interface PreEnqueuePlugin extends Plugin {
  preEnqueue(pod: PodInfo): PluginResult;
}

/** PreFilter may narrow the nodes worth filtering (e.g. NodeAffinity on metadata.name). */
export interface PreFilterResult {
  nodeNames: ReadonlySet<string>;
}

/**
 * How a PreFilter's CycleState data follows a hypothetical pod addition or
 * removal on `nodeInfo` (preemption victims, nominated pods).
 */
export interface PreFilterExtensions {
  addPod(state: CycleState, podToSchedule: PodInfo, podToAdd: PodInfo, nodeInfo: NodeInfo): PluginResult;
  removePod(state: CycleState, podToSchedule: PodInfo, podToRemove: PodInfo, nodeInfo: NodeInfo): PluginResult;
}

export interface PreFilterPlugin extends Plugin {
  /** A Status (Skip, a rejection, an Error), a node restriction, or undefined for "go on". */
  preFilter(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[]): Status | PreFilterResult | undefined;
  preFilterExtensions?(): PreFilterExtensions | undefined;
}

export interface FilterPlugin extends Plugin {
  filter(state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): PluginResult;
  readonly filterReads?: Reads;
}

/** Read access to the per-node results of a failed Filter pass. */
export interface NodeToStatusReader {
  get(nodeName: string): Status | undefined;
  /** Nodes with an explicit status. */
  entries(): Iterable<[string, Status]>;
  /** The status of nodes PreFilter ruled out (or of all nodes when PreFilter rejected the pod). */
  readonly absentStatus: Status | undefined;
}

export interface PostFilterResult {
  nominatedNodeName?: string;
  /** Pods the scheduler loop should delete to make room (preemption); the framework never does I/O. */
  victims?: Pod[];
  /**
   * Pods of lower priority nominated to the same node: they may no longer fit
   * there, so the loop should clear their status.nominatedNodeName (upstream
   * does, to send them looking elsewhere sooner).
   */
  lowerPriorityNominatedPods?: Pod[];
}

export interface PostFilterPlugin extends Plugin {
  postFilter(state: CycleState, pod: PodInfo, filtered: NodeToStatusReader): { result?: PostFilterResult; status: PluginResult };
}

export interface PreScorePlugin extends Plugin {
  preScore(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[]): PluginResult;
}

export interface ScorePlugin extends Plugin {
  /** A raw score, or an Error status. */
  score(state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): number | Status;
  /** Rescales `scores` (aligned with `nodes`) in place into [0, MAX_NODE_SCORE]. */
  normalizeScore?(state: CycleState, pod: PodInfo, scores: Float64Array, nodes: readonly NodeInfo[]): PluginResult;
  readonly scoreReads?: Reads;
}

export interface ReservePlugin extends Plugin {
  reserve(state: CycleState, pod: PodInfo, nodeName: string): PluginResult;
  unreserve(state: CycleState, pod: PodInfo, nodeName: string): void;
}

export type PermitOutcome = PluginResult | { status: Status; timeoutMs: number };

export interface PermitPlugin extends Plugin {
  /** Success, a rejection, or a Wait status with how long to wait. */
  permit(state: CycleState, pod: PodInfo, nodeName: string): PermitOutcome;
}

export interface PreBindPlugin extends Plugin {
  preBind(state: CycleState, pod: PodInfo, nodeName: string): PluginResult | Promise<PluginResult>;
}

export interface BindPlugin extends Plugin {
  /** Skip means "not mine": the next Bind plugin gets the pod. */
  bind(state: CycleState, pod: PodInfo, nodeName: string): PluginResult | Promise<PluginResult>;
}

export interface PostBindPlugin extends Plugin {
  postBind(state: CycleState, pod: PodInfo, nodeName: string): void;
}

/** A read-only view of the cluster for one scheduling cycle (the cache implements it). */
export interface Snapshot {
  /** Nodes that have a Node object, in the scheduler's relaxed-random order. */
  readonly nodes: readonly NodeInfo[];
  get(nodeName: string): NodeInfo | undefined;
  /** Changes whenever any node or pod changes. */
  readonly generation: number;
  /** Changes when nodes come or go or a node's images change. */
  readonly nodeSetGeneration: number;
  /** One more than the highest NodeInfo.slot in use (the size of per-node arrays). */
  readonly slotCount: number;
  /** Nodes with at least one pod that has pod (anti-)affinity terms. */
  nodesWithPodAffinity(): readonly NodeInfo[];
  /** Nodes with at least one pod that has required pod anti-affinity. */
  nodesWithRequiredAntiAffinity(): readonly NodeInfo[];
  /** Labels of a namespace, for namespaceSelector in affinity terms. */
  namespaceLabels(namespace: string): Readonly<Record<string, string>> | undefined;
}

/** Pods nominated to nodes by preemption; their room is held for them. */
export interface Nominator {
  hasNominatedPods(): boolean;
  nominatedPodsForNode(nodeName: string): readonly PodInfo[];
}

/** A pods/binding subresource body. */
export interface Binding {
  apiVersion: 'v1';
  kind: 'Binding';
  metadata: { name: string; namespace: string; uid?: string };
  target: { apiVersion: 'v1'; kind: 'Node'; name: string };
}

/** Waiting at Permit. */
export interface WaitingPod {
  readonly pod: PodInfo;
  readonly nodeName: string;
  pendingPlugins(): string[];
  allow(plugin: string): void;
  reject(plugin: string, message: string): void;
}

/**
 * Cluster objects besides nodes and pods that some plugins read. The
 * scheduler loop supplies them from its informers' caches; they are called
 * during a cycle, so each must be a cheap synchronous read. Every one is
 * optional: a missing provider reads as "there are none".
 */
export interface DataProviders {
  /** All PodDisruptionBudgets (DefaultPreemption prefers victims whose eviction breaks none). */
  pdbs?: () => readonly PodDisruptionBudget[];
  /** Services in a namespace (PodTopologySpread's default constraints count pods the way the pod's Services select them). */
  services?: (namespace: string) => readonly MapSelected[];
  /** The controller a pod's controller ownerReference names, by kind (default spread selector). */
  replicationController?: (namespace: string, name: string) => MapSelected | undefined;
  replicaSet?: (namespace: string, name: string) => LabelSelected | undefined;
  statefulSet?: (namespace: string, name: string) => LabelSelected | undefined;
}

/** What plugins may ask of the framework that runs them (upstream framework.Handle). */
export interface Handle {
  readonly profileName: string;
  /** Objects besides nodes and pods (PDBs, Services, controllers); absent in bare test handles. */
  readonly data?: DataProviders;
  /** How counted reasons are ordered in messages a plugin builds itself (preemption's "0/N nodes…"). */
  readonly messageOrder?: 'count' | 'lexical';
  /** The snapshot of the cycle in progress. */
  snapshot(): Snapshot;
  readonly nominator: Nominator | undefined;
  /** Set by the scheduler loop; DefaultBinder posts the Binding through it. */
  readonly bindPod: ((binding: Binding) => Promise<void>) | undefined;
  /** The framework's random source (seedable in tests). */
  readonly random: () => number;
  getWaitingPod(uid: string): WaitingPod | undefined;
  iterateOverWaitingPods(fn: (wp: WaitingPod) => void): void;
  /** The profile's Filter plugins, with higher-or-equal priority nominated pods counted (preemption uses it). */
  runFilterPluginsWithNominatedPods(state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): PluginResult;
  runPreFilterExtensionAddPod(state: CycleState, podToSchedule: PodInfo, podToAdd: PodInfo, nodeInfo: NodeInfo): PluginResult;
  runPreFilterExtensionRemovePod(state: CycleState, podToSchedule: PodInfo, podToRemove: PodInfo, nodeInfo: NodeInfo): PluginResult;
}

/** Builds a plugin from its pluginConfig args (already defaulted) and the framework handle. */
export type PluginFactory = (args: unknown, handle: Handle) => Plugin;
