// The framework: one instance per profile. It builds the profile's plugins,
// keeps them per extension point in order, and runs each extension point
// with upstream's rules (first rejection wins in Filter, Skip from PreFilter
// or PreScore switches the matching Filter/Score off, Unreserve in reverse,
// and so on). The scheduling cycle itself lives in cycle.ts.
import { CycleState } from './cycle-state.ts';
import { Diagnosis } from './explain.ts';
import { EquivalenceCache, defaultSpeedOptions, type SpeedOptions } from './equivalence.ts';
import type {
  Binding, BindPlugin, DataProviders, FilterPlugin, Handle, Nominator, PermitPlugin, Plugin, PluginFactory, PostBindPlugin,
  PostFilterPlugin, PostFilterResult, PreBindPlugin, PreEnqueuePlugin, PreFilterPlugin, PreScorePlugin, QueuedPodInfo,
  QueueSortPlugin, Reads, ReservePlugin, ScorePlugin, Snapshot,
} from './interface.ts';
import type { NodeInfo } from './node-info.ts';
import { PodInfo } from './pod-info.ts';
import { Status, asStatus, type PluginResult } from './status.ts';
import { WaitingPodImpl, WaitingPods } from './waiting-pods.ts';
import { scheduleCycle, type ScheduleResult } from './cycle.ts';
import type { Pod } from './types.ts';

export interface WeightedPlugin {
  name: string;
  weight: number;
}

/** Plugin names per extension point, in the order they run. */
export interface ExtensionPoints {
  queueSort: string[];
  preEnqueue: string[];
  preFilter: string[];
  filter: string[];
  postFilter: string[];
  preScore: string[];
  score: WeightedPlugin[];
  reserve: string[];
  permit: string[];
  preBind: string[];
  bind: string[];
  postBind: string[];
}

export type ExtensionPointName = keyof ExtensionPoints;

/** The method that marks a plugin as implementing an extension point. */
export const EXTENSION_POINT_METHODS: Readonly<Record<ExtensionPointName, string>> = Object.freeze({
  queueSort: 'less', preEnqueue: 'preEnqueue', preFilter: 'preFilter', filter: 'filter', postFilter: 'postFilter',
  preScore: 'preScore', score: 'score', reserve: 'reserve', permit: 'permit', preBind: 'preBind', bind: 'bind', postBind: 'postBind',
});

export interface FrameworkOptions {
  profileName?: string;
  /**
   * The plugins per extension point, or a function computing them once it
   * can ask which points a plugin implements (multiPoint expansion needs the
   * plugin instance for that; see profile.ts).
   */
  extensionPoints: Partial<ExtensionPoints> | ((implementsPoint: (name: string, point: ExtensionPointName) => boolean) => Partial<ExtensionPoints>);
  /** Name → factory; each named plugin is built once and shared by its extension points. */
  factories: Readonly<Record<string, PluginFactory>>;
  /** pluginConfig args by plugin name (already defaulted). */
  pluginArgs?: Readonly<Record<string, unknown>>;
  /** 0/undefined: adaptive. */
  percentageOfNodesToScore?: number;
  speed?: Partial<SpeedOptions>;
  /** Random source for node order offsets and tie breaks; Math.random by default. */
  random?: () => number;
  nominator?: Nominator;
  bindPod?: (binding: Binding) => Promise<void>;
  /** Order of the counted reasons in failure messages (see FitErrorMessageOptions). */
  messageOrder?: 'count' | 'lexical';
  /** PDBs, Services, controllers for the plugins that read them (see DataProviders). */
  data?: DataProviders;
}

export interface ScoreEntry {
  plugin: ScorePlugin;
  weight: number;
  /** Column in the score cache, or -1 for plugins whose scores are never cached. */
  cacheIndex: number;
}

export interface FrameworkStats {
  cycles: number;
  nodesFiltered: number;
  nodesScored: number;
}

const has = <K extends string>(p: Plugin, method: K): boolean => typeof (p as unknown as Record<K, unknown>)[method] === 'function';

export class Framework implements Handle {
  readonly profileName: string;
  readonly speed: SpeedOptions;
  readonly random: () => number;
  readonly nominator: Nominator | undefined;
  readonly bindPod: ((binding: Binding) => Promise<void>) | undefined;
  readonly data: DataProviders;
  readonly percentageOfNodesToScore: number | undefined;
  readonly messageOrder: 'count' | 'lexical';
  /** The resolved plugin lists (for logs and tests). */
  readonly extensionPoints: Partial<ExtensionPoints>;
  /** Every instantiated plugin by name. */
  readonly plugins = new Map<string, Plugin>();
  readonly queueSortPlugins: QueueSortPlugin[];
  readonly preEnqueuePlugins: PreEnqueuePlugin[];
  readonly preFilterPlugins: PreFilterPlugin[];
  readonly filterPlugins: FilterPlugin[];
  readonly postFilterPlugins: PostFilterPlugin[];
  readonly preScorePlugins: PreScorePlugin[];
  readonly scorePlugins: ScoreEntry[];
  readonly reservePlugins: ReservePlugin[];
  readonly permitPlugins: PermitPlugin[];
  readonly preBindPlugins: PreBindPlugin[];
  readonly bindPlugins: BindPlugin[];
  readonly postBindPlugins: PostBindPlugin[];
  /** Filter verdicts and raw scores per equivalence class. */
  readonly equivalenceCache: EquivalenceCache;
  readonly waitingPods = new WaitingPods();
  readonly stats: FrameworkStats = { cycles: 0, nodesFiltered: 0, nodesScored: 0 };
  /** Where the next cycle starts looking (rotates so every node gets its turn). */
  nextStartNodeIndex = 0;
  #snapshot: Snapshot | undefined;

  constructor(options: FrameworkOptions) {
    this.profileName = options.profileName ?? 'default-scheduler';
    this.speed = { ...defaultSpeedOptions, ...options.speed };
    this.random = options.random ?? Math.random;
    this.nominator = options.nominator;
    this.bindPod = options.bindPod;
    this.data = options.data ?? {};
    this.percentageOfNodesToScore = options.percentageOfNodesToScore;
    // Upstream sorts the formatted "<n> <reason>" strings as text.
    this.messageOrder = options.messageOrder ?? 'lexical';
    const instance = (name: string): Plugin => {
      let p = this.plugins.get(name);
      if (p) return p;
      const factory = options.factories[name];
      if (!factory) throw new Error(`plugin "${name}" does not exist`);
      p = factory(options.pluginArgs?.[name], this);
      this.plugins.set(name, p);
      return p;
    };
    const points = typeof options.extensionPoints === 'function'
      ? options.extensionPoints((name, point) => has(instance(name), EXTENSION_POINT_METHODS[point]))
      : options.extensionPoints;
    const collect = <T extends Plugin>(point: keyof ExtensionPoints, names: string[] | undefined, method: string): T[] =>
      (names ?? []).map((name) => {
        const p = instance(name);
        if (!has(p, method)) throw new Error(`plugin "${name}" does not extend ${point} plugin`);
        return p as T;
      });

    this.queueSortPlugins = collect('queueSort', points.queueSort, 'less');
    this.extensionPoints = points;
    if (this.queueSortPlugins.length > 1) throw new Error('only one queue sort plugin can be enabled');
    this.preEnqueuePlugins = collect('preEnqueue', points.preEnqueue, 'preEnqueue');
    this.preFilterPlugins = collect('preFilter', points.preFilter, 'preFilter');
    this.filterPlugins = collect('filter', points.filter, 'filter');
    this.postFilterPlugins = collect('postFilter', points.postFilter, 'postFilter');
    this.preScorePlugins = collect('preScore', points.preScore, 'preScore');
    let cacheColumns = 0;
    this.scorePlugins = (points.score ?? []).map(({ name, weight }) => {
      const plugin = collect<ScorePlugin>('score', [name], 'score')[0]!;
      return { plugin, weight, cacheIndex: plugin.scoreReads?.otherNodes ? -1 : cacheColumns++ };
    });
    this.reservePlugins = collect('reserve', points.reserve, 'reserve');
    this.permitPlugins = collect('permit', points.permit, 'permit');
    this.preBindPlugins = collect('preBind', points.preBind, 'preBind');
    this.bindPlugins = collect('bind', points.bind, 'bind');
    this.postBindPlugins = collect('postBind', points.postBind, 'postBind');
    this.equivalenceCache = new EquivalenceCache({ scoreWidth: cacheColumns });
  }

  // ---- the cycle -------------------------------------------------------------

  /**
   * Runs one scheduling cycle for `pod` over `snapshot`: PreFilter, Filter,
   * PostFilter on failure, PreScore, Score, NormalizeScore, selection. Does not
   * reserve or bind; see runReservePluginsReserve and bindingCycle.
   */
  schedule(pod: Pod | PodInfo, snapshot: Snapshot): ScheduleResult {
    this.#snapshot = snapshot;
    return scheduleCycle(this, pod instanceof PodInfo ? pod : new PodInfo(pod), snapshot);
  }

  snapshot(): Snapshot {
    if (!this.#snapshot) throw new Error('no snapshot: not inside a scheduling cycle');
    return this.#snapshot;
  }

  /** Sets the snapshot plugins see without running a cycle (preemption dry-runs, tests). */
  setSnapshot(snapshot: Snapshot): void {
    this.#snapshot = snapshot;
  }

  // ---- queue -----------------------------------------------------------------

  /** QueueSort: true when `a` should be scheduled before `b`. */
  less(a: QueuedPodInfo, b: QueuedPodInfo): boolean {
    const p = this.queueSortPlugins[0];
    return p ? p.less(a, b) : a.timestamp < b.timestamp;
  }

  runPreEnqueuePlugins(pod: PodInfo): PluginResult {
    for (const p of this.preEnqueuePlugins) {
      const s = call(p, () => p.preEnqueue(pod));
      if (s && !s.isSuccess()) return s.withPlugin(p.name);
    }
    return undefined;
  }

  // ---- filtering -------------------------------------------------------------

  /**
   * PreFilter: Skip switches the plugin's Filter off; node restrictions are
   * intersected; the first rejection or error ends the cycle.
   */
  runPreFilterPlugins(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[]): { status?: Status; nodeNames?: ReadonlySet<string>; rejectors: string[] } {
    let names: Set<string> | undefined;
    const withNodes: string[] = [];
    for (const p of this.preFilterPlugins) {
      const r = call(p, () => p.preFilter(state, pod, nodes));
      if (r instanceof Status) {
        if (r.isSkip()) {
          state.skipFilterPlugins.add(p.name);
          continue;
        }
        if (r.isSuccess()) continue;
        if (r.isRejected()) return { status: r.withPlugin(p.name), rejectors: [p.name] };
        return { status: errorFrom(r, p.name, 'PreFilter'), rejectors: [] };
      }
      if (!r) continue;
      withNodes.push(p.name);
      names = names ? new Set([...names].filter((n) => r.nodeNames.has(n))) : new Set(r.nodeNames);
      if (names.size === 0) {
        const msg = withNodes.length === 1
          ? `node(s) didn't satisfy plugin ${withNodes[0]}`
          : `node(s) didn't satisfy plugin(s) [${withNodes.join(' ')}] simultaneously`;
        return { status: new Status('UnschedulableAndUnresolvable', [msg], { plugin: p.name }), nodeNames: names, rejectors: withNodes };
      }
    }
    return { nodeNames: names, rejectors: withNodes };
  }

  /** The Filter plugins on one node; undefined when it passes, else the first rejection (or an Error). */
  runFilterPlugins(state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): PluginResult {
    const skip = state.skipFilterPlugins;
    const plugins = this.filterPlugins;
    for (let i = 0; i < plugins.length; i++) {
      const p = plugins[i]!;
      if (skip.size !== 0 && skip.has(p.name)) continue;
      let s: PluginResult;
      try {
        s = p.filter(state, pod, nodeInfo);
      } catch (err) {
        return asStatus(err).withPlugin(p.name);
      }
      if (s === undefined || s.code === 'Success') continue;
      return s.isRejected() ? s.withPlugin(p.name) : errorFrom(s, p.name, 'Filter');
    }
    return undefined;
  }

  /**
   * Filter with the room of nominated pods (priority >= the pod's) held:
   * first as if they were running, then, if that passed, without them — a
   * pod must fit both ways because nominated pods may or may not arrive.
   */
  runFilterPluginsWithNominatedPods(state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): PluginResult {
    const added = this.#withNominatedPods(state, pod, nodeInfo);
    if (!added) return this.runFilterPlugins(state, pod, nodeInfo);
    if (added instanceof Status) return added;
    const s = this.runFilterPlugins(added.state, pod, added.nodeInfo);
    if (s !== undefined) return s;
    return this.runFilterPlugins(state, pod, nodeInfo);
  }

  /** True when a nominated pod could change this node's verdict (then the per-node caches are bypassed). */
  hasNominatedPodsOn(nodeName: string): boolean {
    return this.nominator !== undefined && this.nominator.hasNominatedPods() && this.nominator.nominatedPodsForNode(nodeName).length > 0;
  }

  #withNominatedPods(state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): { state: CycleState; nodeInfo: NodeInfo } | Status | undefined {
    if (!this.nominator || !this.nominator.hasNominatedPods()) return undefined;
    const nominated = this.nominator.nominatedPodsForNode(nodeInfo.name);
    let out: { state: CycleState; nodeInfo: NodeInfo } | undefined;
    for (const np of nominated) {
      if (np.priority < pod.priority || np.uid === pod.uid) continue;
      out ??= { state: state.clone(), nodeInfo: nodeInfo.clone() };
      out.nodeInfo.addPod(np);
      const s = this.runPreFilterExtensionAddPod(out.state, pod, np, out.nodeInfo);
      if (s && !s.isSuccess()) return s;
    }
    return out;
  }

  runPreFilterExtensionAddPod(state: CycleState, podToSchedule: PodInfo, podToAdd: PodInfo, nodeInfo: NodeInfo): PluginResult {
    for (const p of this.preFilterPlugins) {
      if (state.skipFilterPlugins.has(p.name)) continue;
      const ext = p.preFilterExtensions?.();
      if (!ext) continue;
      const s = call(p, () => ext.addPod(state, podToSchedule, podToAdd, nodeInfo));
      if (s && !s.isSuccess()) return errorFrom(s, p.name, 'AddPod');
    }
    return undefined;
  }

  runPreFilterExtensionRemovePod(state: CycleState, podToSchedule: PodInfo, podToRemove: PodInfo, nodeInfo: NodeInfo): PluginResult {
    for (const p of this.preFilterPlugins) {
      if (state.skipFilterPlugins.has(p.name)) continue;
      const ext = p.preFilterExtensions?.();
      if (!ext) continue;
      const s = call(p, () => ext.removePod(state, podToSchedule, podToRemove, nodeInfo));
      if (s && !s.isSuccess()) return errorFrom(s, p.name, 'RemovePod');
    }
    return undefined;
  }

  /**
   * PostFilter after a failed Filter pass: the first plugin that succeeds (or
   * says UnschedulableAndUnresolvable) decides; otherwise the reasons of all
   * are collected.
   */
  runPostFilterPlugins(state: CycleState, pod: PodInfo, diagnosis: Diagnosis): { result?: PostFilterResult; status: Status } {
    let result: PostFilterResult | undefined;
    const reasons: string[] = [];
    let rejector = '';
    for (const p of this.postFilterPlugins) {
      let out: { result?: PostFilterResult; status: PluginResult };
      try {
        out = p.postFilter(state, pod, diagnosis);
      } catch (err) {
        return { status: asStatus(err).withPlugin(p.name) };
      }
      const s = out.status ?? new Status('Success');
      if (s.isSuccess()) return { result: out.result, status: s.withPlugin(p.name) };
      if (s.code === 'UnschedulableAndUnresolvable') return { result: out.result, status: s.withPlugin(p.name) };
      if (!s.isRejected()) return { status: errorFrom(s, p.name, 'PostFilter') };
      // '' is a result too: it clears a stale nomination.
      if (out.result?.nominatedNodeName !== undefined) result = out.result;
      reasons.push(...s.reasons);
      rejector ||= p.name;
    }
    return { result, status: new Status('Unschedulable', reasons, { plugin: rejector }) };
  }

  // ---- scoring (the scores themselves are run by cycle.ts, which owns the cache) ----

  runPreScorePlugins(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[]): PluginResult {
    for (const p of this.preScorePlugins) {
      const s = call(p, () => p.preScore(state, pod, nodes));
      if (s === undefined || s.isSuccess()) continue;
      if (s.isSkip()) {
        state.skipScorePlugins.add(p.name);
        continue;
      }
      return errorFrom(s, p.name, 'PreScore');
    }
    return undefined;
  }

  /** What the active Filter plugins read this cycle (after PreFilter decided the skips). */
  filterReads(state: CycleState): Reads {
    const out: Reads = {};
    for (const p of this.filterPlugins) {
      const r = p.filterReads;
      if (!r || state.skipFilterPlugins.has(p.name)) continue;
      out.podLabels ||= r.podLabels;
      out.otherNodes ||= r.otherNodes;
      out.nodeSet ||= r.nodeSet;
    }
    return out;
  }

  // ---- reserve, permit, binding ------------------------------------------------

  /** Reserve in order; on a failure the caller runs Unreserve (all plugins, reverse order). */
  runReservePluginsReserve(state: CycleState, pod: PodInfo, nodeName: string): PluginResult {
    for (const p of this.reservePlugins) {
      const s = call(p, () => p.reserve(state, pod, nodeName));
      if (s === undefined || s.isSuccess()) continue;
      return s.isRejected() ? s.withPlugin(p.name) : errorFrom(s, p.name, 'Reserve');
    }
    return undefined;
  }

  runReservePluginsUnreserve(state: CycleState, pod: PodInfo, nodeName: string): void {
    for (let i = this.reservePlugins.length - 1; i >= 0; i--) {
      const p = this.reservePlugins[i]!;
      try {
        p.unreserve(state, pod, nodeName);
      } catch {
        // Unreserve must not fail; a broken plugin cannot stop the others from cleaning up.
      }
    }
  }

  /** Permit: a rejection ends it; Wait statuses register the pod as waiting and return Wait. */
  runPermitPlugins(state: CycleState, pod: PodInfo, nodeName: string): PluginResult {
    const waits = new Map<string, number>();
    for (const p of this.permitPlugins) {
      const out = call(p, () => p.permit(state, pod, nodeName));
      const s = out instanceof Status || out === undefined ? out : out.status;
      if (s === undefined || s.isSuccess()) continue;
      if (s.isRejected()) return s.withPlugin(p.name);
      if (s.isWait()) {
        waits.set(p.name, out instanceof Status || out === undefined ? 0 : out.timeoutMs);
        continue;
      }
      return errorFrom(s, p.name, 'Permit');
    }
    if (waits.size === 0) return undefined;
    this.waitingPods.add(new WaitingPodImpl(pod, nodeName, waits));
    return new Status('Wait', [`one or more plugins asked to wait and no plugin rejected pod "${pod.name}"`]);
  }

  /** Resolves when a pod that Permit held is allowed or rejected (immediately when it was not held). */
  async waitOnPermit(pod: PodInfo): Promise<PluginResult> {
    const wp = this.waitingPods.get(pod.uid);
    if (!wp) return undefined;
    try {
      const s = await wp.done;
      return s.isSuccess() ? undefined : s;
    } finally {
      this.waitingPods.remove(pod.uid);
    }
  }

  getWaitingPod(uid: string): WaitingPodImpl | undefined {
    return this.waitingPods.get(uid);
  }

  iterateOverWaitingPods(fn: (wp: WaitingPodImpl) => void): void {
    this.waitingPods.forEach(fn);
  }

  async runPreBindPlugins(state: CycleState, pod: PodInfo, nodeName: string): Promise<PluginResult> {
    for (const p of this.preBindPlugins) {
      const s = await callAsync(p, () => p.preBind(state, pod, nodeName));
      if (s === undefined || s.isSuccess() || s.isSkip()) continue;
      return s.isRejected() ? s.withPlugin(p.name) : errorFrom(s, p.name, 'PreBind');
    }
    return undefined;
  }

  /** Bind: the first plugin that does not Skip binds; all skipping is a Skip status. */
  async runBindPlugins(state: CycleState, pod: PodInfo, nodeName: string): Promise<PluginResult> {
    for (const p of this.bindPlugins) {
      const s = await callAsync(p, () => p.bind(state, pod, nodeName));
      if (s?.isSkip()) continue;
      if (s === undefined || s.isSuccess()) return undefined;
      return s.isRejected() ? s.withPlugin(p.name) : errorFrom(s, p.name, 'Bind');
    }
    return new Status('Skip', ['all bind plugins skipped the pod']);
  }

  runPostBindPlugins(state: CycleState, pod: PodInfo, nodeName: string): void {
    for (const p of this.postBindPlugins) {
      try {
        p.postBind(state, pod, nodeName);
      } catch {
        // PostBind is informational; the pod is already bound.
      }
    }
  }

  /**
   * The binding cycle after a successful Reserve and Permit: wait at Permit,
   * PreBind, Bind, PostBind. On failure it runs Unreserve and returns the
   * status; the caller then forgets the assumed pod and requeues it.
   */
  async bindingCycle(state: CycleState, pod: PodInfo, nodeName: string): Promise<PluginResult> {
    const fail = (s: Status) => {
      this.runReservePluginsUnreserve(state, pod, nodeName);
      return s;
    };
    const permit = await this.waitOnPermit(pod);
    if (permit) return fail(permit);
    const pre = await this.runPreBindPlugins(state, pod, nodeName);
    if (pre) return fail(pre);
    const bound = await this.runBindPlugins(state, pod, nodeName);
    if (bound) return fail(bound);
    this.runPostBindPlugins(state, pod, nodeName);
    return undefined;
  }

  /** Rejects pods waiting at Permit (clears their timers); call when stopping the scheduler. */
  stop(): void {
    this.waitingPods.rejectAll('scheduler stopped');
  }
}

/** Runs a plugin method, turning a throw into an Error status attributed to the plugin. */
function call<T>(p: Plugin, f: () => T): T | Status {
  try {
    return f();
  } catch (err) {
    return asStatus(err).withPlugin(p.name);
  }
}

async function callAsync(p: Plugin, f: () => PluginResult | Promise<PluginResult>): Promise<PluginResult> {
  try {
    return await f();
  } catch (err) {
    return asStatus(err).withPlugin(p.name);
  }
}

function errorFrom(s: Status, plugin: string, point: string): Status {
  if (s.code === 'Error') return s.withPlugin(plugin);
  return new Status('Error', [`running ${point} plugin "${plugin}": unexpected status ${s.code}: ${s.message()}`], { plugin, error: s.error });
}

