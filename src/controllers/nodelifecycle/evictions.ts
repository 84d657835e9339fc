// The NoExecute side of the node lifecycle controller: which unhealthy
// nodes get the not-ready / unreachable NoExecute taint (which makes the
// taint-eviction controller evict their pods), paced per zone, and the
// zones' disruption states that set the pace (upstream's zoneNoExecuteTainter,
// markNodeForTainting, markNodeAsReachable, doNoExecuteTaintingPass and
// handleDisruption).
import type { ApiClient } from '../../client/interface.ts';
import type { Logger } from '../framework/controller.ts';
import type { NodeLifecycleSettings } from './options.ts';
import { getCondition, hasTaint, NOT_READY_NO_EXECUTE, swapNodeTaints, UNREACHABLE_NO_EXECUTE } from './taints.ts';
import { zoneKey, type NodeObject } from './types.ts';
import { computeZoneState, RateLimitedTimedQueue, zoneEvictionRate, type ZoneState } from './zones.ts';

export interface ZoneEvictionsOptions {
  client: ApiClient;
  settings: NodeLifecycleSettings;
  /** The cached node (undefined when gone). */
  getNode: (name: string) => NodeObject | undefined;
  now: () => Date;
  logger: Logger;
  /** Reset every node's probe time to now (leaving full disruption: give nodes a fresh grace period). */
  resetProbeTimes: () => void;
  /** Ask for a tainting pass soon (a node was queued). */
  wake: () => void;
}

export class ZoneEvictions {
  private readonly o: ZoneEvictionsOptions;
  private readonly states = new Map<string, ZoneState>();
  private readonly tainters = new Map<string, RateLimitedTimedQueue>();

  constructor(options: ZoneEvictionsOptions) {
    this.o = options;
  }

  zoneState(zone: string): ZoneState | undefined {
    return this.states.get(zone);
  }

  /** Make sure the node's zone has a state and a queue (upstream's addPodEvictorForNewZone). */
  ensureZone(node: NodeObject): void {
    const zone = zoneKey(node);
    if (this.states.has(zone)) return;
    this.states.set(zone, 'Initial');
    if (!this.tainters.has(zone)) {
      this.tainters.set(zone, new RateLimitedTimedQueue({ qps: this.o.settings.nodeEvictionRate, now: () => this.o.now().getTime() }));
    }
  }

  private tainter(node: NodeObject): RateLimitedTimedQueue {
    this.ensureZone(node);
    return this.tainters.get(zoneKey(node))!;
  }

  /** The node's Ready is False or Unknown: swap an opposite taint at once, else queue it for the NoExecute taint. */
  async nodeUnhealthy(node: NodeObject, readyStatus: 'False' | 'Unknown'): Promise<void> {
    const [wanted, opposite] = readyStatus === 'False' ? [NOT_READY_NO_EXECUTE, UNREACHABLE_NO_EXECUTE] : [UNREACHABLE_NO_EXECUTE, NOT_READY_NO_EXECUTE];
    if (hasTaint(node, opposite)) {
      // Already evicting for the other reason: no reason to wait for the rate limiter again.
      await swapNodeTaints({ client: this.o.client, node, add: [wanted], remove: [opposite], now: this.o.now });
      return;
    }
    const tainter = this.tainter(node);
    // Not tainted yet (or the taint was removed by hand): let it be queued afresh.
    if (!hasTaint(node, wanted)) tainter.remove(node.metadata.name!);
    if (tainter.add(node.metadata.name!, node.metadata.uid ?? '')) this.o.wake();
  }

  /** The node is Ready: remove the NoExecute taints and forget it in its queue. */
  async nodeReachable(node: NodeObject): Promise<boolean> {
    if (hasTaint(node, UNREACHABLE_NO_EXECUTE) || hasTaint(node, NOT_READY_NO_EXECUTE)) {
      await swapNodeTaints({ client: this.o.client, node, remove: [UNREACHABLE_NO_EXECUTE, NOT_READY_NO_EXECUTE], now: this.o.now });
    }
    return this.tainter(node).remove(node.metadata.name!);
  }

  /** One tainting pass over every zone's queue; true when something still waits. */
  async taintPass(): Promise<boolean> {
    let waiting = false;
    for (const tainter of this.tainters.values()) {
      await tainter.drain(async (name) => {
        const node = this.o.getNode(name);
        if (!node) return { done: true };
        const ready = getCondition(node, 'Ready');
        if (!ready) return { done: false, retryAfterMs: 50 };
        // Mirror Ready: unreachable and not-ready are mutually exclusive.
        const swap = ready.status === 'False' ? { add: [NOT_READY_NO_EXECUTE], remove: [UNREACHABLE_NO_EXECUTE] }
          : ready.status === 'Unknown' ? { add: [UNREACHABLE_NO_EXECUTE], remove: [NOT_READY_NO_EXECUTE] } : undefined;
        if (!swap) return { done: true }; // ready again meanwhile
        try {
          await swapNodeTaints({ client: this.o.client, node, ...swap, now: this.o.now });
          this.o.logger.info(`node-lifecycle: tainted node ${name} ${swap.add[0]!.key}:NoExecute`);
          return { done: true };
        } catch (error) {
          this.o.logger.warn(`node-lifecycle: tainting node ${name}: ${(error as Error)?.message ?? error}`);
          return { done: false, retryAfterMs: 1000 };
        }
      });
      if (tainter.pending() > 0) waiting = true;
    }
    return waiting;
  }

  /**
   * New zone states from this pass's Ready statuses per zone, and the
   * eviction rates they call for. All zones fully disrupted: stop every
   * eviction and take the NoExecute taints off all nodes.
   */
  async handleDisruption(readyByZone: Map<string, (string | undefined)[]>, nodes: readonly NodeObject[]): Promise<void> {
    const newStates = new Map<string, ZoneState>();
    let allAreFullyDisrupted = true;
    for (const [zone, statuses] of readyByZone) {
      const { state } = computeZoneState(statuses, this.o.settings);
      if (state !== 'FullDisruption') allAreFullyDisrupted = false;
      newStates.set(zone, state);
      if (!this.states.has(zone)) this.states.set(zone, 'Initial');
    }
    let allWereFullyDisrupted = true;
    for (const [zone, state] of [...this.states]) {
      if (!readyByZone.has(zone)) {
        this.states.delete(zone);
        continue;
      }
      if (state !== 'FullDisruption') {
        allWereFullyDisrupted = false;
        break;
      }
    }
    if (allAreFullyDisrupted && allWereFullyDisrupted) return;
    const rateFor = (zone: string, state: ZoneState) => zoneEvictionRate(state, readyByZone.get(zone)?.length ?? 0, this.o.settings);

    if (allAreFullyDisrupted) {
      this.o.logger.warn('node-lifecycle: no node is ready; entering master disruption mode (no evictions)');
      for (const node of nodes) {
        try {
          await this.nodeReachable(node);
        } catch (error) {
          this.o.logger.warn(`node-lifecycle: removing taints from node ${node.metadata.name}: ${(error as Error)?.message ?? error}`);
        }
      }
      for (const zone of this.states.keys()) {
        this.tainters.get(zone)?.swapLimiter(0);
        this.states.set(zone, 'FullDisruption');
      }
      return;
    }
    if (allWereFullyDisrupted) {
      this.o.logger.warn('node-lifecycle: some nodes are ready again; leaving master disruption mode');
      this.o.resetProbeTimes();
      for (const zone of this.states.keys()) {
        const state = newStates.get(zone)!;
        this.tainters.get(zone)?.swapLimiter(rateFor(zone, state));
        this.states.set(zone, state);
      }
      return;
    }
    for (const [zone, old] of this.states) {
      const state = newStates.get(zone)!;
      if (old === state) continue;
      this.o.logger.info(`node-lifecycle: zone ${JSON.stringify(zone)} is now ${state}`);
      this.tainters.get(zone)?.swapLimiter(rateFor(zone, state));
      this.states.set(zone, state);
    }
  }
}
