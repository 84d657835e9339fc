// The StatefulSet controller: pods with stable names, hostnames and storage,
// started and stopped in order.
//
// sync(key), after upstream's StatefulSetController.sync:
// 1. The set from the cache (gone: only collect its claims, see below).
// 2. Its revisions (claimed by controllerRef; orphans adopted), the update
//    revision for the current template found or made (framework/history),
//    the current revision from status (the update one at first).
// 3. Its pods: same namespace, name `<set>-<n>`, claimed by controllerRef.
// 4. One step (control.ts), the status written when it changed, old
//    revisions pruned.
//
// No expectations as in ReplicaSets: pod names are fixed, so a create from a
// stale cache meets AlreadyExists (taken as "wait for the cache") and a
// repeated delete meets NotFound; neither can double a pod.
//
// Claims and the missing garbage collector: upstream marks claims with
// ownerReferences (to the set for whenDeleted=Delete, to the pod for
// whenScaled=Delete) and lets the garbage collector delete a claim whose
// owners are gone. skiff has no garbage collector yet, so collectClaims does
// that one job for the claims of this set — and, as the pvc-protection
// finalizer would, only once no pod mounts the claim any more.
import { selectorFromLabelSelector, type LabelSelector } from '../../api/selectors/index.ts';
import { splitKey } from '../../client/cache.ts';
import type { Informer } from '../../client/informer.ts';
import { isAlreadyExists, isNotFound, resources, type KubeObject } from '../../client/interface.ts';
import { Controller, type ControllerOptions } from '../framework/controller.ts';
import { claimObjects, getControllerOf, groupOf, recheckOwner, resolveControllerRef } from '../framework/controller-ref.ts';
import { controllerRevisionsResource, syncRevisions, truncateHistory, type ControllerRevision } from '../framework/history.ts';
import { isPodReady } from '../framework/pods.ts';
import type { Pod } from '../framework/types.ts';
import { completeRollingUpdate, compactStatus, statusChanged, updateStatefulSet, type PodControl } from './control.ts';
import {
  REVISION_HASH_LABEL, claimIsStale, claimOwnersFor, claimsFor, identityLabels, identityMatches, isMemberOf, ordinalOf, parentAndOrdinal,
  podRevision, replicasOf, statefulSetsResource, type Claim, type StatefulSet,
} from './identity.ts';

const claimsResource = resources.persistentVolumeClaims;

const sameLabels = (a: Record<string, string> | undefined, b: Record<string, string> | undefined) =>
  JSON.stringify(Object.entries(a ?? {}).sort()) === JSON.stringify(Object.entries(b ?? {}).sort());

const isStatefulSetRef = (r: { kind: string; apiVersion: string }) => r.kind === 'StatefulSet' && groupOf(r.apiVersion) === 'apps';

export class StatefulSetController extends Controller {
  readonly name = 'statefulset';
  protected readonly component = 'statefulset-controller';
  private readonly sets: Informer<StatefulSet>;
  private readonly pods: Informer<Pod>;
  private readonly claims: Informer<Claim>;
  private readonly revisions: Informer<ControllerRevision>;
  private readonly podControl: PodControl;

  constructor(options: ControllerOptions) {
    super(options);
    this.podControl = this.makePodControl();
    this.sets = this.watch<StatefulSet>(statefulSetsResource, {
      onAdd: (set) => this.enqueue(set),
      onUpdate: (_old, set) => this.enqueue(set),
      onDelete: (set) => this.enqueue(set),
    });
    this.pods = this.watch<Pod>(resources.pods, {
      onAdd: (pod) => this.onPodChanged(undefined, pod),
      onUpdate: (old, pod) => this.onPodChanged(old, pod),
      onDelete: (pod) => {
        // Even when the set is gone: its claims may be waiting for this pod to go.
        const ref = getControllerOf(pod);
        if (ref && isStatefulSetRef(ref)) this.enqueue(`${pod.metadata.namespace}/${ref.name}`);
      },
    });
    const onClaim = (claim: Claim) => this.onClaimChanged(claim);
    this.claims = this.watch<Claim>(claimsResource, { onAdd: onClaim, onUpdate: (_old, claim) => onClaim(claim), onDelete: onClaim });
    this.revisions = this.watch<ControllerRevision>(controllerRevisionsResource, {
      onDelete: (cr) => { const set = this.ownerOf(cr); if (set) this.enqueue(set); },
    });
  }

  // ---- handlers: only keys ---------------------------------------------------

  private ownerOf(obj: KubeObject): StatefulSet | undefined {
    return resolveControllerRef({
      ref: getControllerOf(obj), kind: 'StatefulSet', group: 'apps',
      lookup: (name) => this.sets.lister.get(obj.metadata.namespace, name),
    });
  }

  private setsMatching(pod: Pod): StatefulSet[] {
    return this.sets.lister.list(pod.metadata.namespace ?? '').filter((set) => {
      try {
        const selector = selectorFromLabelSelector(set.spec.selector);
        return !selector.isEmpty() && selector.matches(pod.metadata.labels) && isMemberOf(set, pod);
      } catch {
        return false;
      }
    });
  }

  private onPodChanged(old: Pod | undefined, pod: Pod): void {
    if (old && old.metadata.resourceVersion === pod.metadata.resourceVersion) return;
    const oldRef = old && getControllerOf(old);
    if (oldRef && oldRef.uid !== getControllerOf(pod)?.uid) {
      const previous = this.ownerOf(old);
      if (previous) this.enqueue(previous);
    }
    if (getControllerOf(pod)) {
      const set = this.ownerOf(pod);
      if (!set) return;
      this.enqueue(set);
      // Ready now, available only after minReadySeconds: look again then.
      const minReady = set.spec.minReadySeconds ?? 0;
      if (minReady > 0 && isPodReady(pod) && !(old && isPodReady(old))) this.enqueueAfter(set, minReady * 1000 + 1000);
      return;
    }
    if (!old || oldRef || !sameLabels(old.metadata.labels, pod.metadata.labels)) for (const set of this.setsMatching(pod)) this.enqueue(set);
  }

  /** The sets a claim's owners point at (directly, or through a pod `<set>-<n>`). */
  private onClaimChanged(claim: Claim): void {
    for (const ref of claim.metadata.ownerReferences ?? []) {
      if (isStatefulSetRef(ref)) this.enqueue(`${claim.metadata.namespace}/${ref.name}`);
      else if (ref.kind === 'Pod') {
        const { parent } = parentAndOrdinal(ref.name);
        if (parent) this.enqueue(`${claim.metadata.namespace}/${parent}`);
      }
    }
  }

  // ---- sync --------------------------------------------------------------------

  protected async sync(key: string): Promise<void> {
    const [namespace, name] = splitKey(key);
    const cached = this.sets.lister.get(namespace, name);
    if (!cached) {
      await this.collectClaims(namespace, name);
      return;
    }
    let selector: LabelSelector;
    try {
      selector = selectorFromLabelSelector(cached.spec.selector);
    } catch (error) {
      // Validation keeps bad selectors out; retrying cannot fix one.
      this.logger.warn(`statefulset: ${key} has an invalid selector: ${(error as Error).message}`);
      return;
    }
    const set: StatefulSet = structuredClone(cached);
    const canAdopt = recheckOwner({ client: this.client, ref: { ...statefulSetsResource, namespace, name }, owner: cached });
    const owned = await claimObjects({
      client: this.client, resource: controllerRevisionsResource, owner: cached, selector, objects: this.revisions.lister.list(namespace), canAdopt,
    });
    const pods = await claimObjects({
      client: this.client, resource: resources.pods, owner: cached, selector, objects: this.pods.lister.list(namespace), canAdopt,
      filter: (pod) => isMemberOf(cached, pod),
    });

    const { update, revisions, collisionCount } = await syncRevisions({
      client: this.client, owner: cached, template: set.spec.template, revisions: owned,
      collisionCount: set.status?.collisionCount, extraHashLabels: [REVISION_HASH_LABEL],
    });
    const current = revisions.find((r) => r.metadata.name === set.status?.currentRevision) ?? update;
    const result = await updateStatefulSet({ set, pods, current, update, collisionCount, control: this.podControl, now: this.now() });
    const { status } = result;
    completeRollingUpdate(set, status);
    if (statusChanged(cached.status, status)) {
      await this.client.update<StatefulSet>({ ...statefulSetsResource, namespace, name, subresource: 'status' }, { ...set, status: compactStatus(status) });
    }
    const live = new Set([current.metadata.name!, update.metadata.name!, ...pods.map(podRevision)]);
    await truncateHistory({ client: this.client, revisions, live, limit: set.spec.revisionHistoryLimit ?? 10 });
    await this.collectClaims(namespace, name);
    const minReady = set.spec.minReadySeconds ?? 0;
    if (minReady > 0 && status.availableReplicas !== replicasOf(set)) this.enqueueAfter(key, minReady * 1000);
    if (result.error !== undefined) throw result.error;
  }

  /**
   * Delete this set's claims whose every owner is gone (the garbage
   * collector's job, see the file comment) and that no pod mounts.
   */
  private async collectClaims(namespace: string, setName: string): Promise<void> {
    const pods = this.pods.lister.list(namespace);
    const podUids = new Set(pods.map((p) => p.metadata.uid));
    const mounted = new Set(pods.filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed')
      .flatMap((p) => ((p.spec?.volumes ?? []) as { persistentVolumeClaim?: { claimName?: string } }[]).map((v) => v.persistentVolumeClaim?.claimName)));
    const setAlive = (name: string, uid: string) => this.sets.lister.get(namespace, name)?.metadata.uid === uid;
    for (const claim of this.claims.lister.list(namespace)) {
      const refs = claim.metadata.ownerReferences ?? [];
      if (claim.metadata.deletionTimestamp || mounted.has(claim.metadata.name)) continue;
      const ours = refs.some((r) => (isStatefulSetRef(r) && r.name === setName) || (r.kind === 'Pod' && parentAndOrdinal(r.name).parent === setName));
      if (!ours) continue;
      const ownersGone = refs.every((r) => (isStatefulSetRef(r) ? !setAlive(r.name, r.uid) : r.kind === 'Pod' && r.apiVersion === 'v1' ? !podUids.has(r.uid) : false));
      if (!ownersGone) continue;
      try {
        await this.client.delete({ ...claimsResource, namespace, name: claim.metadata.name }, { preconditions: { uid: claim.metadata.uid } });
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
  }

  // ---- writes of pods and claims -----------------------------------------------

  private podEvent(set: StatefulSet, verb: 'create' | 'delete' | 'update', pod: Pod, error?: unknown): void {
    const Verb = verb[0].toUpperCase() + verb.slice(1);
    if (error === undefined) {
      this.recorder.record({ object: set, type: 'Normal', reason: `Successful${Verb}`, message: `${verb} Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} successful` });
    } else {
      this.recorder.record({ object: set, type: 'Warning', reason: `Failed${Verb}`, message: `${verb} Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} failed error: ${(error as Error).message}` });
    }
  }

  /** Create the pod's claims that do not exist yet; returns the pod's claims as now known, by name. */
  private async createClaims(set: StatefulSet, pod: Pod): Promise<Map<string, Claim>> {
    const known = new Map<string, Claim>();
    const errors: Error[] = [];
    for (const claim of claimsFor(set, ordinalOf(pod))) {
      const name = claim.metadata.name!;
      const existing = this.claims.lister.get(set.metadata.namespace, name);
      if (existing) {
        known.set(name, existing);
        if (existing.metadata.deletionTimestamp) errors.push(new Error(`pvc ${name} is being deleted`));
        continue;
      }
      // The set's own reference can go on at once (whenDeleted=Delete); the pod's needs the pod's uid.
      const owners = claimOwnersFor(set, pod, claim);
      if (owners?.length) claim.metadata.ownerReferences = owners;
      try {
        known.set(name, await this.client.create<Claim>({ ...claimsResource, namespace: set.metadata.namespace }, claim));
        this.recorder.record({ object: set, type: 'Normal', reason: 'SuccessfulCreate', message: `create Claim ${name} Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} success` });
      } catch (error) {
        if (isAlreadyExists(error)) continue;
        errors.push(new Error(`failed to create PVC ${name}: ${(error as Error).message}`));
        this.recorder.record({ object: set, type: 'Warning', reason: 'FailedCreate', message: `create Claim ${name} for Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} failed error: ${(error as Error).message}` });
      }
    }
    if (errors.length) throw new AggregateError(errors, errors.map((e) => e.message).join('; '));
    return known;
  }

  /** Set the claims' ownerReferences as the retention policy wants them (claims not in view yet are done on a later sync). */
  private async updateClaimOwners(set: StatefulSet, pod: Pod, known?: Map<string, Claim>): Promise<void> {
    for (const template of claimsFor(set, ordinalOf(pod))) {
      const name = template.metadata.name!;
      const claim = known?.get(name) ?? this.claims.lister.get(set.metadata.namespace, name);
      if (!claim) continue;
      const ownerReferences = claimOwnersFor(set, pod, claim);
      if (!ownerReferences) continue;
      const copy: Claim = structuredClone(claim);
      copy.metadata.ownerReferences = ownerReferences;
      await this.client.update({ ...claimsResource, namespace: set.metadata.namespace, name }, copy);
    }
  }

  private makePodControl(): PodControl {
    const podRef = (pod: Pod) => ({ ...resources.pods, namespace: pod.metadata.namespace, name: pod.metadata.name });
    return {
      createPod: async (set, pod) => {
        let known: Map<string, Claim>;
        try {
          known = await this.createClaims(set, pod);
        } catch (error) {
          this.podEvent(set, 'create', pod, error);
          throw error;
        }
        let created: Pod;
        try {
          created = await this.client.create<Pod>({ ...resources.pods, namespace: set.metadata.namespace }, pod);
        } catch (error) {
          if (isAlreadyExists(error)) return false;
          this.podEvent(set, 'create', pod, error);
          throw error;
        }
        this.podEvent(set, 'create', pod);
        await this.updateClaimOwners(set, created, known);
        return true;
      },
      deletePod: async (set, pod) => {
        try {
          await this.client.delete(podRef(pod), { preconditions: { uid: pod.metadata.uid } });
          this.podEvent(set, 'delete', pod);
        } catch (error) {
          if (isNotFound(error)) return;
          this.podEvent(set, 'delete', pod, error);
          throw error;
        }
      },
      updatePod: async (set, pod) => {
        if (!identityMatches(set, pod)) {
          // Only labels can be fixed: a pod's name and most of its spec are immutable.
          try {
            await this.client.patch(podRef(pod), 'merge', { metadata: { labels: identityLabels(set, ordinalOf(pod)) } });
            this.podEvent(set, 'update', pod);
          } catch (error) {
            if (isNotFound(error)) return;
            this.podEvent(set, 'update', pod, error);
            throw error;
          }
        }
        await this.createClaims(set, pod);
        await this.updateClaimOwners(set, pod);
      },
      createMissingClaims: async (set, pod) => { await this.createClaims(set, pod); },
      updateClaimOwners: (set, pod) => this.updateClaimOwners(set, pod),
      claim: (namespace, name) => this.claims.lister.get(namespace, name),
      claimIsStale: (set, pod) => claimsFor(set, ordinalOf(pod)).some((c) => claimIsStale(set, pod, this.claims.lister.get(set.metadata.namespace, c.metadata.name!))),
    };
  }
}

