// The disruption controller: keeps each policy/v1 PodDisruptionBudget's
// status true to its pods, after upstream's pkg/controller/disruption.
//
// sync(key) of a budget:
// 1. its pods from the cache (policy/v1: an empty selector selects every
//    pod of the namespace, an absent one none);
// 2. expectedPods and desiredHealthy (status.ts; for a relative budget the
//    scales of the pods' controllers, scale.ts);
// 3. status.disruptedPods pruned of evictions that happened or timed out,
//    currentHealthy, disruptionsAllowed, and the DisruptionAllowed
//    condition; written only when something changed, and looked at again
//    when the oldest pending eviction times out.
// A sync that fails for any reason but a write conflict sets
// disruptionsAllowed to 0 with DisruptionAllowed=False/SyncFailed (fail
// safe: no eviction is approved on a budget that could not be computed).
//
// Keys "pod:NAMESPACE/NAME" are pods whose DisruptionTarget condition may
// have gone stale (stale-condition.ts).
import {
  budgetSelector, budgetSelectsPod, conditionsAreUpToDate, setStatusCondition, updateDisruptionAllowedCondition,
  DISRUPTION_ALLOWED_CONDITION, SYNC_FAILED_REASON, type PodDisruptionBudget,
} from '../../api/disruption/budget.ts';
import { splitKey } from '../../client/cache.ts';
import type { Informer } from '../../client/informer.ts';
import { isConflict, isNotFound, resources, type KubeObject } from '../../client/interface.ts';
import { Controller, type ControllerOptions } from '../framework/controller.ts';
import { keyOf, type Pod } from '../framework/types.ts';
import { expectedScale, type ScaleSources } from './scale.ts';
import { staleDisruptionWait, withDisruptionTargetReset, STALE_POD_DISRUPTION_TIMEOUT_MS } from './stale-condition.ts';
import {
  countHealthyPods, disruptionsAllowed, expectedAndDesired, needsControllerScale, pruneDisruptedPods, statusMatches,
  type ComputedCounts,
} from './status.ts';

const STALE_POD_PREFIX = 'pod:';

export interface DisruptionControllerOptions extends ControllerOptions {
  /** How long a DisruptionTarget condition without a deletion lives (default 2 minutes). */
  stalePodDisruptionTimeoutMs?: number;
}

const pdbObject = (pdb: PodDisruptionBudget): KubeObject => ({ ...pdb, apiVersion: 'policy/v1', kind: 'PodDisruptionBudget' });
const podObject = (pod: Pod): KubeObject => ({ ...pod, apiVersion: 'v1', kind: 'Pod' });

export class DisruptionController extends Controller {
  readonly name = 'disruption';
  protected readonly component = 'controllermanager';
  private readonly budgets: Informer<PodDisruptionBudget>;
  private readonly pods: Informer<Pod>;
  private readonly scaleSources: ScaleSources;
  private readonly staleTimeoutMs: number;

  constructor(options: DisruptionControllerOptions) {
    super(options);
    this.staleTimeoutMs = options.stalePodDisruptionTimeoutMs ?? STALE_POD_DISRUPTION_TIMEOUT_MS;
    this.budgets = this.watch<PodDisruptionBudget>(resources.podDisruptionBudgets, {
      onAdd: (pdb) => this.enqueue(pdb),
      onUpdate: (_old, pdb) => this.enqueue(pdb),
      onDelete: (pdb) => this.enqueue(pdb),
    });
    this.pods = this.watch<Pod>(resources.pods, {
      onAdd: (pod) => this.onPodChanged(pod),
      onUpdate: (_old, pod) => this.onPodChanged(pod),
      onDelete: (pod) => this.enqueueBudgetsOf(pod),
    });
    // Read for the scales of the pods' controllers; their changes show up as pod changes.
    this.scaleSources = {
      client: this.client,
      replicationControllers: this.watch({ group: '', version: 'v1', resource: 'replicationcontrollers' }, {}).lister,
      replicaSets: this.watch({ group: 'apps', version: 'v1', resource: 'replicasets' }, {}).lister,
      deployments: this.watch({ group: 'apps', version: 'v1', resource: 'deployments' }, {}).lister,
      statefulSets: this.watch({ group: 'apps', version: 'v1', resource: 'statefulsets' }, {}).lister,
    };
  }

  // ---- handlers: only keys ---------------------------------------------------

  private onPodChanged(pod: Pod): void {
    this.enqueueBudgetsOf(pod);
    const wait = staleDisruptionWait(pod, this.now().getTime(), this.staleTimeoutMs);
    if (wait !== undefined) this.enqueueAfter(STALE_POD_PREFIX + keyOf(pod), wait);
  }

  private budgetsOf(pod: Pod): PodDisruptionBudget[] {
    return this.budgets.lister.list(pod.metadata.namespace ?? '').filter((pdb) => budgetSelectsPod(pdb, pod));
  }

  private enqueueBudgetsOf(pod: Pod): void {
    const budgets = this.budgetsOf(pod);
    if (budgets.length > 1 && !pod.metadata.deletionTimestamp) {
      this.recorder.record({
        object: podObject(pod), type: 'Warning', reason: 'MultiplePodDisruptionBudgets',
        message: `Pod "${pod.metadata.namespace}"/"${pod.metadata.name}" matches multiple PodDisruptionBudgets.  Chose "${budgets[0].metadata.name}" arbitrarily.`,
      });
    }
    // Every matching budget is synced: each one's status depends on this pod.
    for (const pdb of budgets) this.enqueue(pdb);
  }

  // ---- sync --------------------------------------------------------------------

  protected async sync(key: string): Promise<void> {
    if (key.startsWith(STALE_POD_PREFIX)) return this.syncStalePod(key.slice(STALE_POD_PREFIX.length));
    const [namespace, name] = splitKey(key);
    const pdb = this.budgets.lister.get(namespace, name);
    if (!pdb) return;
    try {
      await this.trySync(pdb);
    } catch (error) {
      // A conflict only means our cache was behind: retry, without failing safe.
      if (isConflict(error)) throw error;
      this.logger.warn(`${this.name}: failed to sync PodDisruptionBudget ${key}: ${(error as Error).message}`);
      await this.failSafe(pdb, error as Error);
    }
  }

  private async trySync(pdb: PodDisruptionBudget): Promise<void> {
    const pods = this.podsOf(pdb);
    if (pods.length === 0) this.recorder.record({ object: pdbObject(pdb), type: 'Normal', reason: 'NoPods', message: 'No matching pods found' });

    let scale: { expectedPods: number; unmanagedPods: string[] } | undefined;
    if (needsControllerScale(pdb)) {
      try {
        scale = await expectedScale(this.scaleSources, pods);
      } catch (error) {
        this.recorder.record({
          object: pdbObject(pdb), type: 'Warning', reason: 'CalculateExpectedPodCountFailed',
          message: `Failed to calculate the number of expected pods: ${(error as Error).message}`,
        });
        throw error;
      }
      if (scale.unmanagedPods.length > 0) {
        this.recorder.record({
          object: pdbObject(pdb), type: 'Warning', reason: 'UnmanagedPods',
          message: `Pods selected by this PodDisruptionBudget (selector: ${budgetSelector(pdb)?.toString() ?? ''}) were found to be unmanaged. `
            + 'As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. '
            + 'To account for these pods please set ".spec.minAvailable" field of the PDB to an integer value.',
        });
      }
    }
    const { expectedPods, desiredHealthy } = expectedAndDesired(pdb, pods.length, () => scale!.expectedPods);

    const now = this.now().getTime();
    const disrupted = pruneDisruptedPods(pods, pdb.status?.disruptedPods, now);
    for (const pod of disrupted.expired) {
      this.recorder.record({
        object: podObject(pod), type: 'Warning', reason: 'NotDeleted',
        message: `Pod was expected by PDB ${pdb.metadata.namespace}/${pdb.metadata.name} to be deleted but it wasn't`,
      });
    }
    const counts: ComputedCounts = {
      currentHealthy: countHealthyPods(pods, disrupted.kept, now),
      desiredHealthy, expectedPods, disruptedPods: disrupted.kept,
    };
    await this.writeStatus(pdb, counts);
    if (disrupted.recheckAt !== undefined) this.enqueueAfter(keyOf(pdb), Math.max(0, disrupted.recheckAt - now));
  }

  /** The pods the budget selects (none for an absent selector); an unparsable selector is an error. */
  private podsOf(pdb: PodDisruptionBudget): Pod[] {
    const selector = budgetSelector(pdb);
    if (!selector) {
      const message = `invalid selector ${JSON.stringify(pdb.spec?.selector)}`;
      this.recorder.record({ object: pdbObject(pdb), type: 'Warning', reason: 'NoPods', message: `Failed to get pods: ${message}` });
      throw new Error(message);
    }
    return this.pods.lister.list(pdb.metadata.namespace).filter((pod) => selector.matches(pod.metadata.labels));
  }

  private async writeStatus(pdb: PodDisruptionBudget, counts: ComputedCounts): Promise<void> {
    if (statusMatches(pdb, counts) && conditionsAreUpToDate(pdb)) return;
    const next: PodDisruptionBudget = structuredClone(pdb);
    next.status = {
      ...(pdb.metadata.generation ? { observedGeneration: pdb.metadata.generation } : {}),
      ...(Object.keys(counts.disruptedPods).length ? { disruptedPods: counts.disruptedPods } : {}),
      disruptionsAllowed: disruptionsAllowed(counts),
      currentHealthy: counts.currentHealthy,
      desiredHealthy: counts.desiredHealthy,
      expectedPods: counts.expectedPods,
      conditions: next.status?.conditions ?? [],
    };
    updateDisruptionAllowedCondition(next, this.now());
    await this.updateStatus(next);
  }

  /** Whatever went wrong: allow no disruption, and say why. */
  private async failSafe(pdb: PodDisruptionBudget, error: Error): Promise<void> {
    const next: PodDisruptionBudget = structuredClone(pdb);
    const status = (next.status ??= {});
    status.disruptionsAllowed = 0;
    setStatusCondition((status.conditions ??= []), {
      type: DISRUPTION_ALLOWED_CONDITION, status: 'False', reason: SYNC_FAILED_REASON, message: error.message,
      observedGeneration: status.observedGeneration,
    }, this.now());
    await this.updateStatus(next);
  }

  private async updateStatus(pdb: PodDisruptionBudget): Promise<void> {
    const { namespace, name } = pdb.metadata;
    await this.client.update({ ...resources.podDisruptionBudgets, namespace, name, subresource: 'status' }, pdb);
  }

  private async syncStalePod(podKey: string): Promise<void> {
    const [namespace, name] = splitKey(podKey);
    const pod = this.pods.lister.get(namespace, name);
    if (!pod) return;
    const wait = staleDisruptionWait(pod, this.now().getTime(), this.staleTimeoutMs);
    if (wait === undefined) return;
    if (wait > 0) {
      this.enqueueAfter(STALE_POD_PREFIX + podKey, wait);
      return;
    }
    try {
      await this.client.update({ ...resources.pods, namespace, name, subresource: 'status' }, withDisruptionTargetReset(pod, this.now()));
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}
