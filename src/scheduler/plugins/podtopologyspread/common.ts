// What Filter and Score share: constraints parsed once per cycle (selector
// with matchLabelKeys merged in, defaults for minDomains and the node
// inclusion policies), which nodes count for a constraint, the default
// cluster constraints and the selector they borrow from the pod's Services
// and controller, and the per-node count of matching pods.
import { LabelSelector, selectorFromLabelSelector, selectorFromSet, type LabelRequirement } from '../../../api/selectors/index.ts';
import type { DataProviders } from '../../framework/interface.ts';
import type { NodeInfo } from '../../framework/node-info.ts';
import type { PodInfo } from '../../framework/pod-info.ts';
import type { LabelSelected, TopologySpreadConstraint } from '../../framework/types.ts';
import { RequiredNodeAffinity } from '../helper/node-affinity.ts';
import { doNotScheduleTaint, findUntoleratedTaint } from '../helper/taints.ts';

export const ERR_REASON_CONSTRAINTS_NOT_MATCH = "node(s) didn't match pod topology spread constraints";
export const ERR_REASON_NODE_LABEL_NOT_MATCH = `${ERR_REASON_CONSTRAINTS_NOT_MATCH} (missing required label)`;

export const LABEL_HOSTNAME = 'kubernetes.io/hostname';
export const LABEL_ZONE = 'topology.kubernetes.io/zone';

export const DO_NOT_SCHEDULE = 'DoNotSchedule';
export const SCHEDULE_ANYWAY = 'ScheduleAnyway';

/** Upstream's system defaults: spread a Service's or controller's pods a little over hosts and zones. */
export const SYSTEM_DEFAULT_CONSTRAINTS: readonly TopologySpreadConstraint[] = Object.freeze([
  { topologyKey: LABEL_HOSTNAME, whenUnsatisfiable: SCHEDULE_ANYWAY, maxSkew: 3 },
  { topologyKey: LABEL_ZONE, whenUnsatisfiable: SCHEDULE_ANYWAY, maxSkew: 5 },
]);

/** A constraint ready for counting. */
export interface Constraint {
  readonly maxSkew: number;
  readonly topologyKey: string;
  readonly selector: LabelSelector;
  readonly minDomains: number;
  /** nodeAffinityPolicy Honor (the default): nodes the pod's node affinity rules out do not count. */
  readonly honorNodeAffinity: boolean;
  /** nodeTaintsPolicy Honor (default Ignore): nodes with taints the pod does not tolerate do not count. */
  readonly honorNodeTaints: boolean;
}

/** A label's value, or undefined when absent (labels are plain objects: "constructor" is a valid key). */
export function labelValue(labels: Readonly<Record<string, string>>, key: string): string | undefined {
  return Object.hasOwn(labels, key) ? labels[key] : undefined;
}

/** True when the node has every constraint's topology key (only such nodes count, as upstream). */
export function hasAllTopologyKeys(labels: Readonly<Record<string, string>>, constraints: readonly Constraint[]): boolean {
  for (const c of constraints) if (!Object.hasOwn(labels, c.topologyKey)) return false;
  return true;
}

/**
 * The pod's constraints with `action` (DoNotSchedule for Filter,
 * ScheduleAnyway for Score). matchLabelKeys adds the pod's own values for
 * those keys to the selector, so each revision of a Deployment spreads on
 * its own. Throws on a selector that does not parse.
 */
export function parseConstraints(list: readonly TopologySpreadConstraint[], podLabels: Readonly<Record<string, string>>, action: string): Constraint[] {
  const out: Constraint[] = [];
  for (const c of list) {
    if (c.whenUnsatisfiable !== action) continue;
    let selector = selectorFromLabelSelector(c.labelSelector);
    const keys = c.matchLabelKeys ?? [];
    if (keys.length > 0 && !selector.matchesNothing) {
      const own: Record<string, string> = {};
      let any = false;
      for (const k of keys) {
        const v = labelValue(podLabels, k);
        if (v !== undefined) {
          own[k] = v;
          any = true;
        }
      }
      if (any) selector = new LabelSelector([...selectorFromSet(own).requirements, ...selector.requirements]);
    }
    out.push({
      maxSkew: c.maxSkew,
      topologyKey: c.topologyKey,
      selector,
      minDomains: c.minDomains ?? 1,
      honorNodeAffinity: (c.nodeAffinityPolicy ?? 'Honor') === 'Honor',
      honorNodeTaints: (c.nodeTaintsPolicy ?? 'Ignore') === 'Honor',
    });
  }
  return out;
}

/**
 * The selector the default constraints use for `pod`: the union of the
 * selectors of the Services that select it, and its controller's selector
 * (ReplicationController, ReplicaSet or StatefulSet). Empty when nothing
 * selects the pod or the loop supplied no providers; then no defaults apply.
 */
export function defaultSelector(pod: PodInfo, data: DataProviders | undefined): LabelSelector {
  if (!data) return new LabelSelector();
  const set: Record<string, string> = {};
  for (const svc of data.services?.(pod.namespace) ?? []) {
    const sel = svc.spec?.selector;
    // A Service without a selector selects nothing (its endpoints are managed by hand).
    if (sel == null) continue;
    if (selectorFromSet(sel).matches(pod.labels)) Object.assign(set, sel);
  }
  let selector = selectorFromSet(set);
  const owner = (pod.pod.metadata.ownerReferences ?? []).find((r) => r.controller === true);
  if (!owner) return selector;
  const extra = (obj: LabelSelected | undefined): LabelRequirement[] => {
    if (!obj) return [];
    try {
      const s = selectorFromLabelSelector(obj.spec?.selector);
      return s.matchesNothing ? [] : [...s.requirements];
    } catch {
      return [];
    }
  };
  switch (`${owner.apiVersion}/${owner.kind}`) {
    case 'v1/ReplicationController': {
      const rc = data.replicationController?.(pod.namespace, owner.name);
      if (rc) selector = selectorFromSet({ ...set, ...(rc.spec?.selector ?? {}) });
      break;
    }
    case 'apps/v1/ReplicaSet':
      selector = selector.add(...extra(data.replicaSet?.(pod.namespace, owner.name)));
      break;
    case 'apps/v1/StatefulSet':
      selector = selector.add(...extra(data.statefulSet?.(pod.namespace, owner.name)));
      break;
    default:
      // Other controllers (Jobs, DaemonSets, …) do not give defaults, as upstream.
  }
  return selector;
}

/** Which nodes count for a constraint, per the pod's node affinity and tolerations. */
export class NodeInclusion {
  readonly #pod: PodInfo;
  #affinity: RequiredNodeAffinity | undefined;

  constructor(pod: PodInfo) {
    this.#pod = pod;
  }

  matches(c: Constraint, ni: NodeInfo): boolean {
    if (c.honorNodeAffinity) {
      this.#affinity ??= new RequiredNodeAffinity(this.#pod.pod);
      if (!this.#affinity.match(ni.labels, ni.name)) return false;
    }
    if (c.honorNodeTaints && findUntoleratedTaint(ni.taints, this.#pod.tolerations, doNotScheduleTaint)) return false;
    return true;
  }
}

/** The memo key and predicate for "pods in `namespace` that `selector` selects" (terminating pods never count). */
export function countQuestion(namespace: string, selector: LabelSelector): { key: string; matches: (p: PodInfo) => boolean } {
  // An empty selector counts nothing (upstream countPodsMatchSelector); the nothing-selector neither.
  if (selector.isEmpty() || selector.matchesNothing) return { key: '\u0001none', matches: () => false };
  return {
    key: `${namespace}\u0001${selector.toString()}`,
    matches: (p) => p.namespace === namespace && p.pod.metadata.deletionTimestamp == null && selector.matches(p.labels),
  };
}
