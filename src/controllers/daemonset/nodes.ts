// Which nodes a DaemonSet's pod belongs on (upstream's
// nodeShouldRunDaemonPod): the template's nodeName, nodeSelector and
// required node affinity must match the node, and its NoSchedule/NoExecute
// taints must be tolerated — counting the tolerations every daemon pod gets
// (not-ready, unreachable, pressure, unschedulable), so daemons keep running
// on sick or cordoned nodes, which is what node agents, log shippers and
// network plugins need.
//
// The matching re-implements the API's node selector semantics here
// because controllers may not import the scheduler (src/layout.test.ts);
// the rules are the API's own, so both agree.
import { LabelSelector, newRequirement, selectorFromSet, type LabelOperator } from '../../api/selectors/index.ts';
import type { KubeObject } from '../../client/interface.ts';
import type { Pod } from '../framework/types.ts';

export interface Taint {
  key: string;
  value?: string;
  effect: string;
  timeAdded?: string;
}

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

export interface Node extends KubeObject {
  spec?: { taints?: Taint[]; unschedulable?: boolean; [field: string]: unknown };
}

export interface NodeSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

export interface NodeSelectorTerm {
  matchExpressions?: NodeSelectorRequirement[];
  matchFields?: NodeSelectorRequirement[];
}

export interface Affinity {
  nodeAffinity?: {
    requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: NodeSelectorTerm[] };
    [field: string]: unknown;
  };
  [field: string]: unknown;
}

/** The parts of a pod spec placement reads. */
export interface PlacementSpec {
  nodeName?: string;
  nodeSelector?: Record<string, string>;
  affinity?: Affinity;
  tolerations?: Toleration[];
  hostNetwork?: boolean;
  [field: string]: unknown;
}

export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_NETWORK_UNAVAILABLE = 'node.kubernetes.io/network-unavailable';

/** Added to every daemon pod (upstream's AddOrUpdateDaemonPodTolerations). */
const DEFAULT_TOLERATIONS: readonly Toleration[] = [
  { key: TAINT_NOT_READY, operator: 'Exists', effect: 'NoExecute' },
  { key: TAINT_UNREACHABLE, operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];

/** Only host-network daemons can start before the pod network is up. */
const HOST_NETWORK_TOLERATION: Toleration = { key: TAINT_NETWORK_UNAVAILABLE, operator: 'Exists', effect: 'NoSchedule' };

const sameToleration = (a: Toleration, b: Toleration) =>
  (a.key ?? '') === (b.key ?? '') && (a.operator || 'Equal') === (b.operator || 'Equal') && (a.value ?? '') === (b.value ?? '') && (a.effect ?? '') === (b.effect ?? '');

/**
 * The template's tolerations with the daemon defaults: one the user wrote
 * for the same key, operator, value and effect is replaced (so a
 * not-ready toleration loses its tolerationSeconds: a daemon is never
 * evicted for it), the others are appended.
 */
export function withDaemonTolerations(spec: PlacementSpec): Toleration[] {
  const result = [...(spec.tolerations ?? [])];
  const wanted = spec.hostNetwork ? [...DEFAULT_TOLERATIONS, HOST_NETWORK_TOLERATION] : DEFAULT_TOLERATIONS;
  for (const t of wanted) {
    const i = result.findIndex((existing) => sameToleration(existing, t));
    if (i >= 0) result[i] = { ...t };
    else result.push({ ...t });
  }
  return result;
}

/** core/v1 ToleratesTaint: effects agree (empty tolerates all), keys agree (empty key + Exists tolerates all), value per operator. */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  if (t.operator === 'Exists') return true;
  if (!t.operator || t.operator === 'Equal') return (t.value ?? '') === (taint.value ?? '');
  return false;
}

/** The first taint passing `relevant` that no toleration tolerates. */
export function untoleratedTaint(taints: readonly Taint[], tolerations: readonly Toleration[], relevant: (t: Taint) => boolean): Taint | undefined {
  return taints.find((taint) => relevant(taint) && !tolerations.some((t) => tolerates(t, taint)));
}

const labelOperators: Record<string, LabelOperator | undefined> = {
  In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!', Gt: 'gt', Lt: 'lt',
};

/** One node selector term: expressions on labels and fields on metadata.name, ANDed; a malformed term matches nothing. */
function termMatches(term: NodeSelectorTerm, node: Node): boolean {
  try {
    const expressions = term.matchExpressions ?? [];
    if (expressions.length) {
      const selector = new LabelSelector(expressions.map((e) => {
        const op = labelOperators[e.operator];
        if (!op) throw new Error(`${e.operator} is not a valid node selector operator`);
        return newRequirement(e.key, op, e.values ?? []);
      }));
      if (!selector.matches(node.metadata.labels)) return false;
    }
    for (const f of term.matchFields ?? []) {
      const values = f.values ?? [];
      if (values.length !== 1 || (f.operator !== 'In' && f.operator !== 'NotIn')) return false;
      const actual = f.key === 'metadata.name' ? node.metadata.name : '';
      if ((actual === values[0]) !== (f.operator === 'In')) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/** spec.nodeSelector and required node affinity (terms ORed; empty terms match nothing). */
export function nodeAffinityMatches(spec: PlacementSpec, node: Node): boolean {
  const nodeSelector = spec.nodeSelector;
  if (nodeSelector && Object.keys(nodeSelector).length && !selectorFromSet(nodeSelector).matches(node.metadata.labels)) return false;
  const required = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (!required) return true;
  const terms = (required.nodeSelectorTerms ?? []).filter((t) => t.matchExpressions?.length || t.matchFields?.length);
  return terms.some((t) => termMatches(t, node));
}

export interface Placement {
  /** A daemon pod should be created here. */
  shouldRun: boolean;
  /** A daemon pod already here may stay (it tolerates the NoExecute taints; NoSchedule ones only stop new pods). */
  shouldContinueRunning: boolean;
}

/** Upstream's nodeShouldRunDaemonPod, for the template's pod spec. */
export function nodeShouldRunDaemonPod(node: Node, spec: PlacementSpec): Placement {
  if (spec.nodeName && spec.nodeName !== node.metadata.name) return { shouldRun: false, shouldContinueRunning: false };
  if (!nodeAffinityMatches(spec, node)) return { shouldRun: false, shouldContinueRunning: false };
  const taints = node.spec?.taints ?? [];
  const tolerations = withDaemonTolerations(spec);
  if (!untoleratedTaint(taints, tolerations, (t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute')) {
    return { shouldRun: true, shouldContinueRunning: true };
  }
  return { shouldRun: false, shouldContinueRunning: !untoleratedTaint(taints, tolerations, (t) => t.effect === 'NoExecute') };
}

/**
 * The node a daemon pod is for: its nodeName once bound, else the node its
 * own required affinity pins (metadata.name In [node]), as upstream's
 * GetTargetNodeName.
 */
export function targetNodeOf(pod: Pod): string | undefined {
  const spec = pod.spec as PlacementSpec | undefined;
  if (spec?.nodeName) return spec.nodeName;
  const terms = spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const term of terms) {
    for (const f of term.matchFields ?? []) {
      if (f.key === 'metadata.name' && f.operator === 'In' && f.values?.length === 1) return f.values[0];
    }
  }
  return undefined;
}

/**
 * The pod's affinity with its required node terms replaced by one that pins
 * `nodeName` (upstream's ReplaceDaemonSetPodNodeNameNodeAffinity): the
 * controller already checked the template's own terms against this node,
 * and the scheduler then places the pod only there. Preferred terms and
 * pod (anti-)affinity stay.
 */
export function pinToNode(affinity: Affinity | undefined, nodeName: string): Affinity {
  const pinned = { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] }] };
  const copy: Affinity = structuredClone(affinity ?? {});
  copy.nodeAffinity = { ...(copy.nodeAffinity ?? {}), requiredDuringSchedulingIgnoredDuringExecution: pinned };
  return copy;
}
