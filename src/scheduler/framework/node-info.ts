// What the scheduler knows about one node: the Node object, the pods on it
// (bound and assumed), the sums of their requests, the host ports they hold
// and the images present. Every change bumps `generation` to a number never
// used before by any NodeInfo, so caches keyed by (node, generation) are
// invalidated by the change itself and never confused by a reused slot.
import { CPU, MEMORY, Resource } from './resources.ts';
import { DEFAULT_BIND_ALL_HOST_IP, type HostPort, type PodInfo } from './pod-info.ts';
import type { Node, Taint } from './types.ts';

let generationCounter = 0;
/** A process-wide increasing number: every NodeInfo change takes a fresh one. */
export const nextGeneration = (): number => ++generationCounter;
/** The last generation handed out (a cheap "has anything changed" stamp). */
export const currentGeneration = (): number => generationCounter;

/** How many nodes hold an image, shared by all NodeInfos (upstream ImageStateSummary). */
export interface ImageState {
  size: number;
  /** Names of the nodes that report the image. */
  nodes: Set<string>;
}

/** Host ports in use on a node: hostIP → "protocol/port" → number of holders. */
export class HostPortInfo {
  readonly #byIP = new Map<string, Map<string, number>>();

  add(p: HostPort): void {
    let ports = this.#byIP.get(p.hostIP);
    if (!ports) this.#byIP.set(p.hostIP, (ports = new Map()));
    const key = `${p.protocol}/${p.hostPort}`;
    ports.set(key, (ports.get(key) ?? 0) + 1);
  }

  remove(p: HostPort): void {
    const ports = this.#byIP.get(p.hostIP);
    const key = `${p.protocol}/${p.hostPort}`;
    const n = ports?.get(key);
    if (!ports || n === undefined) return;
    if (n > 1) ports.set(key, n - 1);
    else ports.delete(key);
    if (ports.size === 0) this.#byIP.delete(p.hostIP);
  }

  /**
   * True when `p` collides with a port in use: 0.0.0.0 collides with the same
   * protocol/port on any address, and any address collides with 0.0.0.0.
   */
  conflicts(p: HostPort): boolean {
    if (p.hostPort <= 0) return false;
    const key = `${p.protocol}/${p.hostPort}`;
    if (p.hostIP === DEFAULT_BIND_ALL_HOST_IP) {
      for (const ports of this.#byIP.values()) if (ports.has(key)) return true;
      return false;
    }
    return (this.#byIP.get(p.hostIP)?.has(key) ?? false) || (this.#byIP.get(DEFAULT_BIND_ALL_HOST_IP)?.has(key) ?? false);
  }

  get size(): number {
    let n = 0;
    for (const ports of this.#byIP.values()) n += ports.size;
    return n;
  }

  clone(): HostPortInfo {
    const c = new HostPortInfo();
    for (const [ip, ports] of this.#byIP) c.#byIP.set(ip, new Map(ports));
    return c;
  }
}

/** Appends ":latest" to an image without a tag or digest (upstream normalizedImageName). */
export function normalizedImageName(name: string): string {
  return name.lastIndexOf(':') <= name.lastIndexOf('/') ? `${name}:latest` : name;
}

export class NodeInfo {
  readonly name: string;
  /** Undefined for a node that was deleted while pods still point at it (kept until they go). */
  node: Node | undefined;
  pods: PodInfo[] = [];
  /** Pods with any pod affinity or anti-affinity term (InterPodAffinity scoring looks at these). */
  podsWithAffinity: PodInfo[] = [];
  /** Pods with required anti-affinity (they can reject incoming pods). */
  podsWithRequiredAntiAffinity: PodInfo[] = [];
  usedPorts = new HostPortInfo();
  /** Sum of the pods' requests. */
  requested = new Resource();
  /** Sum of the pods' requests with missing CPU/memory requests counted at the defaults (scoring). */
  nonZeroRequested = new Resource();
  allocatable = new Resource();
  /** Image name (as the node reports it) → shared state. */
  imageStates = new Map<string, ImageState>();
  generation = nextGeneration();
  /**
   * A small integer the cache assigns for the node's lifetime; per-node cache
   * arrays are indexed by it. -1 for copies made for what-if checks.
   */
  slot = -1;

  constructor(name: string, node?: Node) {
    this.name = name;
    if (node) this.setNode(node);
  }

  get labels(): Readonly<Record<string, string>> {
    return this.node?.metadata.labels ?? {};
  }

  get taints(): readonly Taint[] {
    return this.node?.spec?.taints ?? [];
  }

  /** Replaces the Node object; image states default to "only this node has it" unless the cache sets them. */
  setNode(node: Node): void {
    this.node = node;
    const status = node.status ?? {};
    this.allocatable = Resource.fromList(status.allocatable ?? status.capacity);
    this.imageStates = new Map();
    for (const image of status.images ?? []) {
      for (const name of image.names ?? []) this.imageStates.set(name, { size: image.sizeBytes ?? 0, nodes: new Set([this.name]) });
    }
    this.generation = nextGeneration();
  }

  addPod(pi: PodInfo): void {
    this.pods.push(pi);
    if (pi.hasAffinityTerms()) this.podsWithAffinity.push(pi);
    if (pi.requiredAntiAffinityTerms.length > 0) this.podsWithRequiredAntiAffinity.push(pi);
    this.#account(pi, 1);
    this.generation = nextGeneration();
  }

  /** Removes the pod with pi's uid; false when it was not here. */
  removePod(pi: PodInfo): boolean {
    const i = this.pods.findIndex((p) => p.uid === pi.uid);
    if (i < 0) return false;
    const old = this.pods[i]!;
    swapRemove(this.pods, i);
    removeByUid(this.podsWithAffinity, old.uid);
    removeByUid(this.podsWithRequiredAntiAffinity, old.uid);
    this.#account(old, -1);
    this.generation = nextGeneration();
    return true;
  }

  /** Swaps in a new object for a pod whose scheduling facts did not change; no generation bump. */
  replacePodObject(pi: PodInfo): boolean {
    const swap = (list: PodInfo[]) => {
      const i = list.findIndex((p) => p.uid === pi.uid);
      if (i >= 0) list[i] = pi;
      return i >= 0;
    };
    swap(this.podsWithAffinity);
    swap(this.podsWithRequiredAntiAffinity);
    return swap(this.pods);
  }

  #account(pi: PodInfo, sign: 1 | -1): void {
    this.requested.add(pi.requests, sign);
    this.nonZeroRequested.addValue(CPU, sign * pi.nonZeroMilliCPU);
    this.nonZeroRequested.addValue(MEMORY, sign * pi.nonZeroMemory);
    for (const p of pi.hostPorts) {
      if (sign > 0) this.usedPorts.add(p);
      else this.usedPorts.remove(p);
    }
  }

  /**
   * An independent copy for what-if checks (preemption, nominated pods):
   * adding or removing pods on it leaves this one alone. Keeps the generation
   * until the copy changes; slot -1 keeps it out of per-node caches.
   */
  clone(): NodeInfo {
    const c = new NodeInfo(this.name);
    c.node = this.node;
    c.pods = [...this.pods];
    c.podsWithAffinity = [...this.podsWithAffinity];
    c.podsWithRequiredAntiAffinity = [...this.podsWithRequiredAntiAffinity];
    c.usedPorts = this.usedPorts.clone();
    c.requested = this.requested.clone();
    c.nonZeroRequested = this.nonZeroRequested.clone();
    c.allocatable = this.allocatable;
    c.imageStates = this.imageStates;
    c.generation = this.generation;
    return c;
  }
}

function swapRemove<T>(list: T[], i: number): void {
  list[i] = list[list.length - 1]!;
  list.pop();
}

function removeByUid(list: PodInfo[], uid: string): void {
  const i = list.findIndex((p) => p.uid === uid);
  if (i >= 0) swapRemove(list, i);
}
