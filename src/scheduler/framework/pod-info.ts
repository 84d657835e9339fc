// A pod with everything the plugins would otherwise recompute on every node:
// requests, host ports, parsed pod (anti-)affinity terms. Built once when a
// pod enters the cache or a scheduling cycle (upstream framework.PodInfo).
import { nothing, selectorFromLabelSelector, type LabelSelector } from '../../api/selectors/index.ts';
import { computePodRequests, type PodRequests, type Resource } from './resources.ts';
import type { Container, Pod, PodAffinityTerm, Toleration, WeightedPodAffinityTerm } from './types.ts';

export interface HostPort {
  /** "0.0.0.0" when the container did not name one. */
  hostIP: string;
  /** "TCP" when the container did not name one. */
  protocol: string;
  hostPort: number;
}

/** A pod (anti-)affinity term with its selectors parsed. */
export interface AffinityTerm {
  /** Namespaces named by the term, or the pod's own when it names none and has no namespaceSelector. */
  namespaces: ReadonlySet<string>;
  selector: LabelSelector;
  topologyKey: string;
  /** Matches nothing when the term has no namespaceSelector (as upstream). */
  namespaceSelector: LabelSelector;
}

export interface WeightedAffinityTerm extends AffinityTerm {
  weight: number;
}

export const DEFAULT_BIND_ALL_HOST_IP = '0.0.0.0';

export class PodInfo {
  readonly pod: Pod;
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly priority: number;
  readonly nodeName: string;
  readonly tolerations: readonly Toleration[];
  readonly requests: Resource;
  readonly nonZeroMilliCPU: number;
  readonly nonZeroMemory: number;
  readonly hostPorts: readonly HostPort[];
  readonly requiredAffinityTerms: readonly AffinityTerm[];
  readonly requiredAntiAffinityTerms: readonly AffinityTerm[];
  readonly preferredAffinityTerms: readonly WeightedAffinityTerm[];
  readonly preferredAntiAffinityTerms: readonly WeightedAffinityTerm[];
  /** Set when an affinity term's selector does not parse (upstream fails InterPodAffinity PreFilter then). */
  readonly parseError: string | undefined;

  constructor(pod: Pod) {
    this.pod = pod;
    const meta = pod.metadata;
    this.name = meta.name ?? '';
    this.namespace = meta.namespace ?? 'default';
    this.uid = meta.uid ?? `${this.namespace}/${this.name}`;
    this.labels = meta.labels ?? {};
    const spec = pod.spec ?? {};
    this.priority = spec.priority ?? 0;
    this.nodeName = spec.nodeName ?? '';
    this.tolerations = spec.tolerations ?? [];
    const req: PodRequests = computePodRequests(pod);
    this.requests = req.requests;
    this.nonZeroMilliCPU = req.nonZeroMilliCPU;
    this.nonZeroMemory = req.nonZeroMemory;
    this.hostPorts = hostPortsOf(pod);

    const affinity = spec.affinity;
    let parseError: string | undefined;
    const parse = <T>(f: () => T, empty: T): T => {
      try {
        return f();
      } catch (err) {
        parseError ??= err instanceof Error ? err.message : String(err);
        return empty;
      }
    };
    const pa = affinity?.podAffinity;
    const paa = affinity?.podAntiAffinity;
    this.requiredAffinityTerms = pa ? parse(() => terms(this.namespace, pa.requiredDuringSchedulingIgnoredDuringExecution), []) : [];
    this.requiredAntiAffinityTerms = paa ? parse(() => terms(this.namespace, paa.requiredDuringSchedulingIgnoredDuringExecution), []) : [];
    this.preferredAffinityTerms = pa ? parse(() => weighted(this.namespace, pa.preferredDuringSchedulingIgnoredDuringExecution), []) : [];
    this.preferredAntiAffinityTerms = paa ? parse(() => weighted(this.namespace, paa.preferredDuringSchedulingIgnoredDuringExecution), []) : [];
    this.parseError = parseError;
  }

  get key(): string {
    return `${this.namespace}/${this.name}`;
  }

  hasAffinityTerms(): boolean {
    return this.requiredAffinityTerms.length + this.requiredAntiAffinityTerms.length + this.preferredAffinityTerms.length + this.preferredAntiAffinityTerms.length > 0;
  }

  /**
   * What other pods' scheduling can observe of this pod. Two PodInfos with
   * the same fingerprint are interchangeable on a node, so the cache can swap
   * them without invalidating anything (status-only updates are common).
   */
  fingerprint(): string {
    return JSON.stringify([
      this.nodeName, this.labels, this.priority, this.pod.metadata.deletionTimestamp ?? null,
      this.requests, [...(this.requests.scalar ?? [])], this.nonZeroMilliCPU, this.nonZeroMemory,
      this.hostPorts, this.pod.spec?.affinity ?? null, this.pod.spec?.topologySpreadConstraints ?? null,
      this.pod.status?.nominatedNodeName ?? null, this.pod.spec?.volumes ?? null,
    ]);
  }
}

/** Host ports of containers and sidecars, the ones that hold a port for the pod's lifetime. */
export function hostPortsOf(pod: Pod): HostPort[] {
  const out: HostPort[] = [];
  const spec = pod.spec;
  if (!spec) return out;
  const collect = (c: Container) => {
    for (const p of c.ports ?? []) {
      if (!p.hostPort || p.hostPort <= 0) continue;
      out.push({ hostIP: p.hostIP || DEFAULT_BIND_ALL_HOST_IP, protocol: p.protocol || 'TCP', hostPort: p.hostPort });
    }
  };
  for (const c of spec.initContainers ?? []) if (c.restartPolicy === 'Always') collect(c);
  for (const c of spec.containers ?? []) collect(c);
  return out;
}

function term(namespace: string, t: PodAffinityTerm): AffinityTerm {
  const names = t.namespaces ?? [];
  const namespaces = new Set(names.length === 0 && t.namespaceSelector == null ? [namespace] : names);
  return {
    namespaces,
    selector: selectorFromLabelSelector(t.labelSelector),
    topologyKey: t.topologyKey,
    namespaceSelector: t.namespaceSelector == null ? nothing : selectorFromLabelSelector(t.namespaceSelector),
  };
}

function terms(namespace: string, list: PodAffinityTerm[] | null | undefined): AffinityTerm[] {
  return (list ?? []).map((t) => term(namespace, t));
}

function weighted(namespace: string, list: WeightedPodAffinityTerm[] | null | undefined): WeightedAffinityTerm[] {
  return (list ?? []).map((w) => ({ ...term(namespace, w.podAffinityTerm), weight: w.weight }));
}

/** True when `term` selects `pod` (namespace first, then labels); nsLabels are the labels of pod's namespace. */
export function termMatches(term: AffinityTerm, pod: PodInfo, nsLabels: Readonly<Record<string, string>> | undefined): boolean {
  if (!term.namespaces.has(pod.namespace) && !term.namespaceSelector.matches(nsLabels ?? {})) return false;
  return term.selector.matches(pod.labels);
}
