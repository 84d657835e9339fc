// The scheduler's view of the cluster (upstream pkg/scheduler/backend/cache):
// nodes and the pods on them, including pods the scheduler has *assumed* onto
// a node before the API confirmed the binding, so the next cycle already
// counts their requests. Every change is applied in place to the one
// affected NodeInfo (its generation bumps), so there is no per-pod snapshot
// rebuild: the cache itself is the Snapshot a synchronous cycle reads.
//
// Nodes are kept in a random order, maintained incrementally (a new node
// swaps into a random position), which with the framework's rotating start
// offset gives Borg's relaxed randomization.
import { NodeInfo, nextGeneration, type ImageState } from '../framework/node-info.ts';
import { PodInfo } from '../framework/pod-info.ts';
import type { Snapshot } from '../framework/interface.ts';
import type { Node, Pod } from '../framework/types.ts';

export interface CacheOptions {
  /** Random source for the node order (seed it in tests). */
  random?: () => number;
  /**
   * How long an assumed pod whose binding finished may wait for the API to
   * confirm it before it is dropped; 0 (the default, as upstream) keeps it
   * until the pod is added, updated or removed.
   */
  assumedPodTTLms?: number;
}

interface PodState {
  pi: PodInfo;
  assumed: boolean;
  bindingFinished: boolean;
  /** ms since epoch; only for assumed pods with finished binding and a TTL. */
  deadline: number | undefined;
}

export class SchedulerCache implements Snapshot {
  readonly #random: () => number;
  readonly #ttl: number;
  /** Every NodeInfo, including ones whose Node was deleted while pods still point at them. */
  readonly #infos = new Map<string, NodeInfo>();
  /** NodeInfos with a Node object, in relaxed-random order. */
  readonly #order: NodeInfo[] = [];
  readonly #position = new Map<string, number>();
  readonly #freeSlots: number[] = [];
  #slotCount = 0;
  readonly #pods = new Map<string, PodState>();
  readonly #images = new Map<string, ImageState>();
  readonly #namespaces = new Map<string, Readonly<Record<string, string>>>();
  readonly #withAffinity = new Set<NodeInfo>();
  readonly #withAntiAffinity = new Set<NodeInfo>();
  #affinityList: { gen: number; affinity: NodeInfo[]; anti: NodeInfo[] } | undefined;
  #generation = nextGeneration();
  #nodeSetGeneration = nextGeneration();

  constructor(options: CacheOptions = {}) {
    this.#random = options.random ?? Math.random;
    this.#ttl = options.assumedPodTTLms ?? 0;
  }

  // ---- Snapshot --------------------------------------------------------------

  /** The cache is its own snapshot: valid as long as nobody mutates it, i.e. for a synchronous cycle. */
  snapshot(): Snapshot {
    return this;
  }

  get nodes(): readonly NodeInfo[] {
    return this.#order;
  }

  get(nodeName: string): NodeInfo | undefined {
    return this.#infos.get(nodeName);
  }

  get generation(): number {
    return this.#generation;
  }

  get nodeSetGeneration(): number {
    return this.#nodeSetGeneration;
  }

  get slotCount(): number {
    return this.#slotCount;
  }

  nodesWithPodAffinity(): readonly NodeInfo[] {
    return this.#affinityLists().affinity;
  }

  nodesWithRequiredAntiAffinity(): readonly NodeInfo[] {
    return this.#affinityLists().anti;
  }

  namespaceLabels(namespace: string): Readonly<Record<string, string>> | undefined {
    return this.#namespaces.get(namespace);
  }

  #affinityLists() {
    if (this.#affinityList?.gen !== this.#generation) {
      this.#affinityList = {
        gen: this.#generation,
        affinity: [...this.#withAffinity].filter((ni) => ni.node),
        anti: [...this.#withAntiAffinity].filter((ni) => ni.node),
      };
    }
    return this.#affinityList;
  }

  // ---- nodes -----------------------------------------------------------------

  addNode(node: Node): NodeInfo {
    const name = node.metadata.name ?? '';
    const existing = this.#infos.get(name);
    if (existing?.node) return this.updateNode(node);
    const ni = existing ?? this.#newInfo(name);
    ni.setNode(node);
    this.#linkImages(ni, node);
    // Insert at a random position: push, then swap with a random element.
    const pos = this.#order.length;
    this.#order.push(ni);
    this.#position.set(name, pos);
    const j = Math.floor(this.#random() * (pos + 1));
    if (j !== pos) this.#swap(j, pos);
    this.#changed(true);
    return ni;
  }

  /** Applies a new version of a node; a no-op for the caches when nothing a plugin reads changed. */
  updateNode(node: Node): NodeInfo {
    const name = node.metadata.name ?? '';
    const ni = this.#infos.get(name);
    if (!ni?.node) return this.addNode(node);
    if (nodeFingerprint(ni.node) === nodeFingerprint(node)) {
      ni.node = node;
      return ni;
    }
    const imagesChanged = JSON.stringify(ni.node.status?.images ?? []) !== JSON.stringify(node.status?.images ?? []);
    this.#unlinkImages(ni);
    ni.setNode(node);
    this.#linkImages(ni, node);
    this.#changed(imagesChanged);
    return ni;
  }

  /** Removes the node; its NodeInfo stays (out of the node list) while pods still point at it. */
  removeNode(node: Node | string): void {
    const name = typeof node === 'string' ? node : (node.metadata.name ?? '');
    const ni = this.#infos.get(name);
    if (!ni?.node) return;
    this.#unlinkImages(ni);
    const pos = this.#position.get(name)!;
    this.#swap(pos, this.#order.length - 1);
    this.#order.pop();
    this.#position.delete(name);
    ni.node = undefined;
    ni.generation = nextGeneration();
    if (ni.pods.length === 0) this.#deleteInfo(ni);
    this.#changed(true);
  }

  // ---- pods ------------------------------------------------------------------

  /**
   * Marks `pod` as placed on `nodeName` before the binding is confirmed; its
   * requests count from now on. Returns the PodInfo now in the cache.
   */
  assumePod(pod: Pod | PodInfo, nodeName: string): PodInfo {
    const src = pod instanceof PodInfo ? pod.pod : pod;
    const pi = new PodInfo({ ...src, spec: { ...src.spec, nodeName } });
    if (this.#pods.has(pi.uid)) throw new Error(`pod ${pi.key} (${pi.uid}) is already in the scheduler cache`);
    this.#place(pi);
    this.#pods.set(pi.uid, { pi, assumed: true, bindingFinished: false, deadline: undefined });
    return pi;
  }

  /** The binding went out; with a TTL the assumed pod now expires unless the API confirms it. */
  finishBinding(pod: Pod | PodInfo, now = Date.now()): void {
    const st = this.#pods.get(uidOf(pod));
    if (!st?.assumed) return;
    st.bindingFinished = true;
    st.deadline = this.#ttl > 0 ? now + this.#ttl : undefined;
  }

  /** Undoes assumePod (binding failed). */
  forgetPod(pod: Pod | PodInfo): void {
    const st = this.#pods.get(uidOf(pod));
    if (!st?.assumed) return;
    this.#unplace(st.pi);
    this.#pods.delete(st.pi.uid);
  }

  isAssumed(pod: Pod | PodInfo): boolean {
    return this.#pods.get(uidOf(pod))?.assumed ?? false;
  }

  getPod(uid: string): PodInfo | undefined {
    return this.#pods.get(uid)?.pi;
  }

  /** A pod with spec.nodeName appeared in the API (confirms an assumed pod, possibly on another node). */
  addPod(pod: Pod): void {
    const pi = new PodInfo(pod);
    if (!pi.nodeName) return;
    const st = this.#pods.get(pi.uid);
    if (!st) {
      this.#place(pi);
      this.#pods.set(pi.uid, { pi, assumed: false, bindingFinished: false, deadline: undefined });
      return;
    }
    this.#replace(st, pi);
    st.assumed = false;
    st.deadline = undefined;
  }

  updatePod(_oldPod: Pod | undefined, newPod: Pod): void {
    const pi = new PodInfo(newPod);
    const st = this.#pods.get(pi.uid);
    if (!st) return this.addPod(newPod);
    if (!pi.nodeName) return this.removePod(newPod);
    this.#replace(st, pi);
    st.assumed = false;
    st.deadline = undefined;
  }

  removePod(pod: Pod | PodInfo): void {
    const st = this.#pods.get(uidOf(pod));
    if (!st) return;
    this.#unplace(st.pi);
    this.#pods.delete(st.pi.uid);
  }

  /** Drops assumed pods whose binding finished more than the TTL ago; returns them. */
  cleanupExpiredAssumedPods(now = Date.now()): PodInfo[] {
    const expired: PodInfo[] = [];
    for (const st of this.#pods.values()) {
      if (st.assumed && st.bindingFinished && st.deadline !== undefined && st.deadline < now) expired.push(st.pi);
    }
    for (const pi of expired) this.removePod(pi);
    return expired;
  }

  get podCount(): number {
    return this.#pods.size;
  }

  get nodeCount(): number {
    return this.#order.length;
  }

  // ---- namespaces (for affinity terms with namespaceSelector) -------------------

  setNamespace(name: string, labels: Readonly<Record<string, string>> | undefined): void {
    this.#namespaces.set(name, labels ?? {});
    this.#changed(false);
  }

  removeNamespace(name: string): void {
    if (this.#namespaces.delete(name)) this.#changed(false);
  }

  // ---- internals -------------------------------------------------------------

  #newInfo(name: string): NodeInfo {
    const ni = new NodeInfo(name);
    ni.slot = this.#freeSlots.pop() ?? this.#slotCount++;
    this.#infos.set(name, ni);
    return ni;
  }

  #deleteInfo(ni: NodeInfo): void {
    this.#infos.delete(ni.name);
    this.#withAffinity.delete(ni);
    this.#withAntiAffinity.delete(ni);
    this.#freeSlots.push(ni.slot);
  }

  #place(pi: PodInfo): void {
    const ni = this.#infos.get(pi.nodeName) ?? this.#newInfo(pi.nodeName);
    ni.addPod(pi);
    this.#trackAffinity(ni);
    this.#changed(false);
  }

  #unplace(pi: PodInfo): void {
    const ni = this.#infos.get(pi.nodeName);
    if (!ni) return;
    ni.removePod(pi);
    this.#trackAffinity(ni);
    if (!ni.node && ni.pods.length === 0) this.#deleteInfo(ni);
    this.#changed(false);
  }

  /** Swaps in the new version; a status-only change keeps the node's generation (and so its cache entries). */
  #replace(st: PodState, pi: PodInfo): void {
    const old = st.pi;
    st.pi = pi;
    if (old.nodeName === pi.nodeName && old.fingerprint() === pi.fingerprint()) {
      this.#infos.get(pi.nodeName)?.replacePodObject(pi);
      return;
    }
    this.#unplace(old);
    this.#place(pi);
  }

  #trackAffinity(ni: NodeInfo): void {
    if (ni.podsWithAffinity.length > 0) this.#withAffinity.add(ni);
    else this.#withAffinity.delete(ni);
    if (ni.podsWithRequiredAntiAffinity.length > 0) this.#withAntiAffinity.add(ni);
    else this.#withAntiAffinity.delete(ni);
  }

  #swap(a: number, b: number): void {
    const x = this.#order[a]!;
    const y = this.#order[b]!;
    this.#order[a] = y;
    this.#order[b] = x;
    this.#position.set(y.name, a);
    this.#position.set(x.name, b);
  }

  #linkImages(ni: NodeInfo, node: Node): void {
    const states = new Map<string, ImageState>();
    for (const image of node.status?.images ?? []) {
      for (const name of image.names ?? []) {
        let st = this.#images.get(name);
        if (!st) this.#images.set(name, (st = { size: image.sizeBytes ?? 0, nodes: new Set() }));
        st.nodes.add(ni.name);
        states.set(name, st);
      }
    }
    ni.imageStates = states;
  }

  #unlinkImages(ni: NodeInfo): void {
    for (const [name, st] of ni.imageStates) {
      st.nodes.delete(ni.name);
      if (st.nodes.size === 0) this.#images.delete(name);
    }
    ni.imageStates = new Map();
  }

  #changed(nodeSet: boolean): void {
    this.#generation = nextGeneration();
    if (nodeSet) this.#nodeSetGeneration = this.#generation;
  }
}

/** Same identity PodInfo uses: the uid, or namespace/name for objects without one (tests). */
const uidOf = (pod: Pod | PodInfo): string =>
  pod instanceof PodInfo ? pod.uid : (pod.metadata.uid ?? `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name ?? ''}`);

/**
 * The node fields plugins read. A heartbeat that changes only conditions or
 * timestamps keeps the fingerprint, and so keeps every cache entry for the
 * node. Add a field here when a plugin starts reading it.
 */
export function nodeFingerprint(node: Node): string {
  return JSON.stringify([
    node.metadata.labels ?? null,
    node.metadata.deletionTimestamp ?? null,
    node.spec?.taints ?? null,
    node.spec?.unschedulable ?? false,
    node.status?.allocatable ?? null,
    node.status?.capacity ?? null,
    node.status?.images ?? null,
  ]);
}
