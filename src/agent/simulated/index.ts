// Simulated ("hollow") nodes, in the spirit of kubemark and kwok: N nodes
// that behave like real agents toward the API — registered Node objects,
// Lease heartbeats, pods bound to them reported Running with IPs and Ready,
// deletions finished — without running any container. For scheduler and
// controller tests and benchmarks at a scale no machine could run for real.
//
//   const sim = await startSimulatedNodes({ client, count: 100, capacity: { cpu: '4', memory: '16Gi', pods: '110' }, zones: 3 });
//   …
//   await sim.stop();   // stops heartbeats and the pod watch; the Node objects stay
import type { ApiClient } from '../../client/interface.ts';
import { isNegative, isZero, parseQuantity } from '../../api/validation/quantity.ts';
import { DEFAULT_SIMULATED_CAPACITY, MAX_SIMULATED_NODES, type SimulatedCapacity } from './flag.ts';
import { NodeHeartbeats, type HeartbeatStats } from './heartbeat.ts';
import { formatCidr, nodeInternalIp, nodeMaskSize, nodePodCidr, parseCidr } from './ipam.ts';
import { Limiter } from './limiter.ts';
import { newBootId, nodeLabels, type SimulatedNodeIdentity } from './node-object.ts';
import { watchPausedNodes } from './pause.ts';
import { PodSimulator, type PodStats } from './pods.ts';
import { registerNodes } from './register.ts';

export { parseSimulatedNodesFlag, DEFAULT_SIMULATED_CAPACITY, MAX_SIMULATED_NODES } from './flag.ts';
export type { SimulatedCapacity, SimulatedNodesSpec } from './flag.ts';
export { SIMULATED_LABEL, ZONE_LABEL, REGION_LABEL, zoneName } from './node-object.ts';
export { HEARTBEAT_LABEL, HEARTBEAT_PAUSED } from './pause.ts';

export interface SimulatedNodesOptions {
  client: ApiClient;
  count: number;
  capacity?: SimulatedCapacity;
  /** Node names are `${namePrefix}${index}`: stable, so a restart finds its nodes again. Default "sim-". */
  namePrefix?: string;
  /** Spread topology.kubernetes.io/zone over zone-a, zone-b, … round-robin (0: no zone/region labels). */
  zones?: number;
  /** topology.kubernetes.io/region when zones > 0. Default "sim-region". */
  region?: string;
  /**
   * One node standing in for a real agent (`skiff agent --simulated`): its
   * name, InternalIP and podCIDR instead of the generated ones. Only with
   * count 1. An existing Node's podCIDR still wins.
   */
  single?: { name: string; internalIp?: string; podCidr?: string };
  /** Extra labels on every node (ours win on conflicts). */
  labels?: Record<string, string>;
  /** Lease renewal period. Default 10 s, as the kubelet. */
  heartbeatIntervalMs?: number;
  /** Node condition refresh (lastHeartbeatTime) period. Default 60 s. */
  statusIntervalMs?: number;
  /** Pod network; each node gets a block of it as its podCIDR. Default 10.42.0.0/16 (--cluster-cidr). */
  clusterCidr?: string;
  /** Preferred per-node block (upstream's node-cidr-mask-size); shrunk when the nodes would not fit. Default 24. */
  nodeCidrMaskSize?: number;
  /** API writes in flight at once, for all nodes together. Default 16. */
  maxInFlight?: number;
  /** Injected clock, for tests. */
  now?: () => Date;
  /** Where problems are reported. Default: stderr. */
  warn?: (message: string) => void;
}

export interface SimulatedNodesStats {
  nodes: number;
  heartbeats: HeartbeatStats;
  pods: PodStats;
}

export interface SimulatedNodes {
  /** The node names, in index order. */
  readonly nodeNames: readonly string[];
  /** The podCIDR each node uses for its pods' addresses. */
  readonly podCidrs: ReadonlyMap<string, string>;
  /** Resolves once the first pod list is processed (pods already bound to our nodes are started). */
  synced(): Promise<void>;
  /** Resolves when no pod work is queued or running right now. */
  idle(): Promise<void>;
  stats(): SimulatedNodesStats;
  /** Stops heartbeats, the pod watch and queued work. Node objects and leases stay. */
  stop(): Promise<void>;
}

function checkCapacity(capacity: SimulatedCapacity): void {
  for (const [name, value] of Object.entries(capacity)) {
    const q = parseQuantity(value);
    if (!q || isNegative(q) || isZero(q)) throw new Error(`simulated node capacity ${name} ${JSON.stringify(value)} is not a positive quantity`);
  }
}

/**
 * Registers `count` hollow nodes (creating or adopting Node objects and
 * leases) and starts their heartbeats and the shared pod watch. Resolves
 * when every node is registered; rejects if any cannot be (nothing is left
 * running then).
 */
export async function startSimulatedNodes(options: SimulatedNodesOptions): Promise<SimulatedNodes> {
  const { client, count } = options;
  if (!Number.isInteger(count) || count < 1 || count > MAX_SIMULATED_NODES) {
    throw new Error(`simulated node count must be a whole number from 1 to ${MAX_SIMULATED_NODES}, got ${count}`);
  }
  const capacity = { ...DEFAULT_SIMULATED_CAPACITY, ...options.capacity };
  checkCapacity(capacity);
  const zones = options.zones ?? 0;
  if (!Number.isInteger(zones) || zones < 0) throw new Error(`zones must be a whole number, got ${zones}`);
  const now = options.now ?? (() => new Date());
  const warn = options.warn ?? ((message: string) => process.stderr.write(`simulated nodes: ${message}\n`));
  const prefix = options.namePrefix ?? 'sim-';
  const clusterCidr = parseCidr(options.clusterCidr ?? '10.42.0.0/16');
  const mask = nodeMaskSize({ clusterCidr, count, preferred: options.nodeCidrMaskSize });
  const bootId = newBootId();

  const single = options.single;
  if (single && count !== 1) throw new Error(`a single named simulated node needs count 1, got ${count}`);
  if (single?.podCidr) parseCidr(single.podCidr);

  const identities: SimulatedNodeIdentity[] = Array.from({ length: count }, (_, index) => {
    const name = single?.name ?? `${prefix}${index}`;
    return {
      name,
      index,
      internalIp: single?.internalIp ?? nodeInternalIp(index),
      podCidr: single?.podCidr ?? formatCidr(nodePodCidr({ clusterCidr, mask, index })),
      labels: nodeLabels({ name, index, zones, region: options.region ?? 'sim-region', extra: options.labels }),
      capacity,
      bootId,
    };
  });

  const podsPerNode = Number(capacity.pods);
  const addresses = 2 ** (32 - mask) - 3;
  if (!single?.podCidr && Number.isFinite(podsPerNode) && addresses < podsPerNode) {
    // Not fatal: the scheduler packs nodes this full rarely; pods beyond the range wait (reported) for an address.
    warn(`${count} nodes share ${formatCidr(clusterCidr)}, so each gets a /${mask} with ${addresses} pod addresses, fewer than its ${podsPerNode} pods; use a larger --cluster-cidr to run them all`);
  }

  const limiter = new Limiter(options.maxInFlight ?? 16);
  const registered = await registerNodes({ client, limiter, nodes: identities, now });

  const pods = new PodSimulator({ client, limiter, nodes: registered, now, warn });
  const heartbeats = new NodeHeartbeats({
    client, limiter, nodes: registered, now, warn,
    intervalMs: options.heartbeatIntervalMs ?? 10_000,
    statusIntervalMs: options.statusIntervalMs ?? 60_000,
    onResume: (nodeName) => pods.nodeResumed(nodeName),
  });
  heartbeats.start();
  pods.start();
  const paused = watchPausedNodes({ client, warn, setPaused: (name, value) => heartbeats.setPaused(name, value) });

  let stopping: Promise<void> | undefined;
  return {
    nodeNames: identities.map((n) => n.name),
    podCidrs: new Map(registered.map((n) => [n.identity.name, n.podCidr])),
    synced: () => pods.synced(),
    idle: () => pods.idle(),
    stats: () => ({ nodes: count, heartbeats: { ...heartbeats.stats, retired: [...heartbeats.stats.retired] }, pods: pods.podStats() }),
    stop() {
      paused.stop();
      stopping ??= Promise.all([heartbeats.stop(), pods.stop()]).then(() => undefined);
      return stopping;
    },
  };
}
