// Heartbeats of all hollow nodes, as kubelets send them: the node's Lease
// renewed every heartbeat interval (what the node lifecycle controller
// watches), and the Node's conditions refreshed less often (lastHeartbeatTime).
// ONE timer for all nodes, ticking through them in slices so thousands of
// nodes spread their writes over the interval instead of firing together.
import { isConflict, isNotFound, resources, type ApiClient } from '../../client/interface.ts';
import type { Limiter } from './limiter.ts';
import { NODE_LEASE_NAMESPACE, LEASE_DURATION_SECONDS, microTime, nodeConditions } from './node-object.ts';
import { rfc3339 } from './pod-status.ts';
import { ensureLease, type RegisteredNode } from './register.ts';

export interface HeartbeatOptions {
  client: ApiClient;
  limiter: Limiter;
  nodes: RegisteredNode[];
  /** Lease renewal period (kubelet: 10 s). */
  intervalMs: number;
  /** Node status refresh period (about a minute, as kubelets report unchanged status). */
  statusIntervalMs: number;
  now: () => Date;
  warn: (message: string) => void;
  /** A paused node beats again (its status is refreshed on the next beat; pods may need their readiness back). */
  onResume?: (nodeName: string) => void;
}

export interface HeartbeatStats {
  leaseRenewals: number;
  statusUpdates: number;
  failures: number;
  /** Nodes whose Node object was deleted: their heartbeats stopped. */
  retired: string[];
}

interface NodeState {
  node: RegisteredNode;
  busy: boolean;
  lastStatusAt: number;
  retired: boolean;
  /** Heartbeats held back on request (tests of node failure): no lease renewals, no status. */
  paused: boolean;
}

/** At most this many timer ticks per interval, however many nodes there are. */
const MAX_SLICES = 20;

export class NodeHeartbeats {
  private readonly options: HeartbeatOptions;
  private readonly states: NodeState[];
  private readonly byName = new Map<string, NodeState>();
  private readonly slices: number;
  private timer: NodeJS.Timeout | undefined;
  private tick = 0;
  private stopped = false;
  private readonly inFlight = new Set<Promise<void>>();
  readonly stats: HeartbeatStats = { leaseRenewals: 0, statusUpdates: 0, failures: 0, retired: [] };

  constructor(options: HeartbeatOptions) {
    this.options = options;
    const started = options.now().getTime();
    this.states = options.nodes.map((node) => ({ node, busy: false, lastStatusAt: started, retired: false, paused: false }));
    for (const state of this.states) this.byName.set(state.node.identity.name, state);
    this.slices = Math.max(1, Math.min(MAX_SLICES, options.nodes.length));
  }

  start(): void {
    const period = Math.max(1, Math.floor(this.options.intervalMs / this.slices));
    this.timer = setInterval(() => this.beat(), period);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    // Let writes already sent finish, so the caller may close the client next.
    await Promise.allSettled([...this.inFlight]);
  }

  /**
   * Hold back (or resume) one node's heartbeats, as if its kubelet lost the
   * API server. On resume the status is written on the very next beat, as a
   * kubelet that notices the node controller's Unknown conditions does.
   */
  setPaused(nodeName: string, paused: boolean): void {
    const state = this.byName.get(nodeName);
    if (!state || state.paused === paused) return;
    state.paused = paused;
    this.options.warn(`node ${nodeName}: heartbeats ${paused ? 'paused' : 'resumed'}`);
    if (paused) return;
    state.lastStatusAt = -Infinity;
    this.options.onResume?.(nodeName);
  }

  private beat(): void {
    const slice = this.tick++ % this.slices;
    for (let i = slice; i < this.states.length; i += this.slices) {
      const state = this.states[i]!;
      // A node whose last heartbeat is still waiting (slow server) skips a beat rather than piling up.
      if (state.retired || state.busy || state.paused) continue;
      state.busy = true;
      const work = this.options.limiter.run(() => this.heartbeat(state)).finally(() => {
        state.busy = false;
        this.inFlight.delete(work);
      });
      this.inFlight.add(work);
    }
  }

  private async heartbeat(state: NodeState): Promise<void> {
    if (this.stopped || state.paused) return;
    try {
      await this.renewLease(state);
      const now = this.options.now().getTime();
      if (!state.retired && now - state.lastStatusAt >= this.options.statusIntervalMs) {
        await this.refreshStatus(state);
        state.lastStatusAt = now;
      }
    } catch (error) {
      this.stats.failures++;
      this.options.warn(`heartbeat of node ${state.node.identity.name} failed: ${(error as Error)?.message ?? error}`);
    }
  }

  private async renewLease(state: NodeState): Promise<void> {
    const { client, now } = this.options;
    const name = state.node.identity.name;
    try {
      // A patch without resourceVersion: a renewal never conflicts, one request per beat.
      await client.patch({ ...resources.leases, namespace: NODE_LEASE_NAMESPACE, name }, 'merge', {
        spec: { holderIdentity: name, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime: microTime(now()) },
      });
      this.stats.leaseRenewals++;
    } catch (error) {
      if (!isNotFound(error)) throw error;
      // The lease is gone: with its node (then stop), or by itself (then re-create it).
      if (await this.nodeGone(state)) return;
      await ensureLease({ client, nodeName: name, nodeUid: state.node.uid, exists: false, now });
      this.stats.leaseRenewals++;
    }
  }

  /**
   * lastHeartbeatTime on every condition, read-modify-write with the
   * resourceVersion so a controller's concurrent change (Ready=Unknown from
   * the node lifecycle controller) is never overwritten with a stale
   * lastTransitionTime; a conflict just waits for the next beat.
   */
  private async refreshStatus(state: NodeState): Promise<void> {
    const { client, now } = this.options;
    const ref = { ...resources.nodes, name: state.node.identity.name };
    let node;
    try {
      node = await client.get(ref);
    } catch (error) {
      if (isNotFound(error)) {
        this.retire(state);
        return;
      }
      throw error;
    }
    if (node.metadata.uid !== state.node.uid) {
      // Deleted and re-created by someone else: not the node we registered.
      this.retire(state);
      return;
    }
    const previous = (node.status as { conditions?: unknown } | undefined)?.conditions;
    try {
      await client.patch({ ...ref, subresource: 'status' }, 'merge', {
        metadata: { resourceVersion: node.metadata.resourceVersion },
        status: { conditions: nodeConditions(rfc3339(now()), previous) },
      });
      this.stats.statusUpdates++;
    } catch (error) {
      if (isNotFound(error)) this.retire(state);
      else if (!isConflict(error)) throw error;
    }
  }

  private async nodeGone(state: NodeState): Promise<boolean> {
    try {
      const node = await this.options.client.get({ ...resources.nodes, name: state.node.identity.name });
      if (node.metadata.uid === state.node.uid) return false;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    this.retire(state);
    return true;
  }

  /**
   * A deleted Node stays deleted: like a kubelet that only registers at
   * start, the hollow node stops heartbeating (restarting the simulation
   * registers it again).
   */
  private retire(state: NodeState): void {
    if (state.retired) return;
    state.retired = true;
    this.stats.retired.push(state.node.identity.name);
    this.options.warn(`node ${state.node.identity.name} was deleted; its heartbeats stop`);
  }
}
