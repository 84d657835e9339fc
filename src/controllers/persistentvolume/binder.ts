// The PersistentVolume binder (kube-controller-manager's
// "persistentvolume-binder"): binds claims to volumes and keeps both phases
// as upstream — claims Pending → Bound (→ Lost when the volume goes), volumes
// Pending → Available → Bound → Released (claim deleted) → deleted by their
// provisioner (reclaim Delete) or kept (Retain), Failed when no plugin can
// reclaim them. Dynamic provisioning is asked for with the
// volume.kubernetes.io/storage-provisioner annotation and done by an
// external provisioner (here: ./provisioner.ts for rancher.io/local-path).
// WaitForFirstConsumer claims wait for the scheduler's selected-node.
import { Controller, type ControllerOptions } from '../framework/controller.ts';
import type { Informer } from '../../client/informer.ts';
import { findBestMatchForClaim, volumeMismatch } from './matching.ts';
import {
  ANN_BETA_STORAGE_PROVISIONER, ANN_BIND_COMPLETED, ANN_BOUND_BY_CONTROLLER, ANN_PROVISIONED_BY, ANN_SELECTED_NODE, ANN_STORAGE_PROVISIONER,
  claimClass, hasAnnotation, isVolumeBoundToClaim, resourcesOf, rfc3339,
  type PersistentVolume, type PersistentVolumeClaim, type StorageClass,
} from './types.ts';

const CLAIM = 'claim/';
const VOLUME = 'volume/';

export class PersistentVolumeBinder extends Controller {
  readonly name = 'persistentvolume-binder';
  protected readonly component = 'persistentvolume-controller';
  private readonly claims: Informer<PersistentVolumeClaim>;
  private readonly volumes: Informer<PersistentVolume>;
  private readonly classes: Informer<StorageClass>;

  constructor(options: ControllerOptions) {
    super(options);
    this.claims = this.watch<PersistentVolumeClaim>(resourcesOf.claims, {
      onAdd: (claim) => this.enqueueClaim(claim),
      onUpdate: (_old, claim) => this.enqueueClaim(claim),
      onDelete: (claim) => this.enqueueVolumesOf(claim),
    });
    this.volumes = this.watch<PersistentVolume>(resourcesOf.volumes, {
      onAdd: (volume) => this.enqueueVolume(volume),
      onUpdate: (_old, volume) => this.enqueueVolume(volume),
      onDelete: (volume) => {
        const ref = volume.spec?.claimRef;
        if (ref?.namespace && ref.name) this.enqueue(`${CLAIM}${ref.namespace}/${ref.name}`);
      },
    });
    // A class appearing (or changing mode) may unblock pending claims.
    const recheckPending = () => {
      for (const claim of this.claims.lister.list()) if (!claim.spec?.volumeName) this.enqueue(`${CLAIM}${claim.metadata.namespace}/${claim.metadata.name}`);
    };
    this.classes = this.watch<StorageClass>(resourcesOf.classes, { onAdd: recheckPending, onUpdate: recheckPending });
  }

  private enqueueClaim(claim: PersistentVolumeClaim): void {
    this.enqueue(`${CLAIM}${claim.metadata.namespace}/${claim.metadata.name}`);
    if (claim.spec?.volumeName) this.enqueue(`${VOLUME}${claim.spec.volumeName}`);
  }

  private enqueueVolume(volume: PersistentVolume): void {
    this.enqueue(`${VOLUME}${volume.metadata.name}`);
    const ref = volume.spec?.claimRef;
    if (ref?.namespace && ref.name) this.enqueue(`${CLAIM}${ref.namespace}/${ref.name}`);
  }

  private enqueueVolumesOf(claim: PersistentVolumeClaim): void {
    for (const volume of this.volumes.lister.list()) {
      if (volume.spec?.claimRef?.uid === claim.metadata.uid) this.enqueue(`${VOLUME}${volume.metadata.name}`);
    }
  }

  protected async sync(key: string): Promise<void> {
    if (key.startsWith(CLAIM)) {
      const [namespace, name] = key.slice(CLAIM.length).split('/');
      const claim = this.claims.lister.get(namespace, name);
      if (claim) await this.syncClaim(structuredClone(claim));
    } else if (key.startsWith(VOLUME)) {
      const volume = this.volumes.lister.get(undefined, key.slice(VOLUME.length));
      if (volume) await this.syncVolume(structuredClone(volume));
    }
  }

  // ---- claims ----------------------------------------------------------------

  private async syncClaim(claim: PersistentVolumeClaim): Promise<void> {
    if (!hasAnnotation(claim, ANN_BIND_COMPLETED)) return this.syncUnboundClaim(claim);
    return this.syncBoundClaim(claim);
  }

  private isDelayBinding(claim: PersistentVolumeClaim): boolean {
    const className = claimClass(claim);
    if (!className) return false;
    return this.classes.lister.get(undefined, className)?.volumeBindingMode === 'WaitForFirstConsumer';
  }

  private async syncUnboundClaim(claim: PersistentVolumeClaim): Promise<void> {
    const volumeName = claim.spec?.volumeName;
    if (!volumeName) {
      const delayBinding = this.isDelayBinding(claim);
      const volume = findBestMatchForClaim({ claim, volumes: this.volumes.lister.list(), delayBinding });
      if (volume) return this.bind(structuredClone(volume), claim);
      if (delayBinding && !hasAnnotation(claim, ANN_SELECTED_NODE)) {
        this.recorder.record({ object: claim, type: 'Normal', reason: 'WaitForFirstConsumer', message: 'waiting for first consumer to be created before binding' });
      } else if (claimClass(claim)) {
        await this.provisionClaim(claim);
      } else {
        this.recorder.record({ object: claim, type: 'Normal', reason: 'FailedBinding', message: 'no persistent volumes available for this claim and no storage class is set' });
      }
      await this.setClaimPhase(claim, 'Pending');
      return;
    }
    // The user named the volume.
    const volume = this.volumes.lister.get(undefined, volumeName);
    if (!volume) {
      await this.setClaimPhase(claim, 'Pending');
      return;
    }
    if (!volume.spec?.claimRef) {
      const mismatch = volumeMismatch(claim, volume);
      if (mismatch) {
        this.recorder.record({ object: claim, type: 'Warning', reason: 'VolumeMismatch', message: `Cannot bind to requested volume "${volumeName}": ${mismatch}` });
        await this.setClaimPhase(claim, 'Pending');
        return;
      }
      return this.bind(structuredClone(volume), claim);
    }
    if (isVolumeBoundToClaim(volume, claim)) return this.bind(structuredClone(volume), claim);
    this.recorder.record({ object: claim, type: 'Warning', reason: 'FailedBinding', message: `volume "${volumeName}" already bound to a different claim.` });
    await this.setClaimPhase(claim, 'Pending');
  }

  private async syncBoundClaim(claim: PersistentVolumeClaim): Promise<void> {
    const volumeName = claim.spec?.volumeName;
    const volume = volumeName ? this.volumes.lister.get(undefined, volumeName) : undefined;
    if (!volume) {
      if (claim.status?.phase !== 'Lost') {
        this.recorder.record({ object: claim, type: 'Warning', reason: 'ClaimLost', message: 'Bound claim has lost reference to PersistentVolume. Data on the volume is lost!' });
      }
      await this.setClaimPhase(claim, 'Lost');
      return;
    }
    if (!volume.spec?.claimRef || isVolumeBoundToClaim(volume, claim)) return this.bind(structuredClone(volume), claim);
    if (claim.status?.phase !== 'Lost') {
      this.recorder.record({ object: claim, type: 'Warning', reason: 'ClaimMisbound', message: 'Two claims are bound to the same volume, this one is bound incorrectly' });
    }
    await this.setClaimPhase(claim, 'Lost');
  }

  /** Ask the class's provisioner for a volume (annotations it watches for); the binder binds what it makes. */
  private async provisionClaim(claim: PersistentVolumeClaim): Promise<void> {
    const className = claimClass(claim);
    const storageClass = this.classes.lister.get(undefined, className);
    if (!storageClass) {
      this.recorder.record({ object: claim, type: 'Warning', reason: 'ProvisioningFailed', message: `storageclass.storage.k8s.io "${className}" not found` });
      return;
    }
    const provisioner = storageClass.provisioner ?? '';
    this.recorder.record({
      object: claim, type: 'Normal', reason: 'ExternalProvisioning',
      message: `Waiting for a volume to be created either by the external provisioner '${provisioner}' or manually by the system administrator. If volume creation is delayed, please verify that your external provisioner is running and correctly registered.`,
    });
    const annotations = claim.metadata.annotations ?? {};
    if (annotations[ANN_STORAGE_PROVISIONER] === provisioner && annotations[ANN_BETA_STORAGE_PROVISIONER] === provisioner) return;
    claim.metadata.annotations = { ...annotations, [ANN_STORAGE_PROVISIONER]: provisioner, [ANN_BETA_STORAGE_PROVISIONER]: provisioner };
    const updated = await this.client.update<PersistentVolumeClaim>(this.claimRef(claim), claim);
    Object.assign(claim, updated);
  }

  /**
   * Bind in upstream's order, each step written only when needed: the
   * volume's claimRef, the volume Bound, the claim's volumeName and
   * bind-completed, the claim Bound with the volume's capacity and modes.
   */
  private async bind(volume: PersistentVolume, claim: PersistentVolumeClaim): Promise<void> {
    if (!isVolumeBoundToClaim(volume, claim) || !volume.spec?.claimRef?.uid) {
      const byController = !volume.spec?.claimRef;
      volume.spec = { ...volume.spec, claimRef: { kind: 'PersistentVolumeClaim', namespace: claim.metadata.namespace, name: claim.metadata.name, uid: claim.metadata.uid, apiVersion: 'v1', resourceVersion: claim.metadata.resourceVersion } };
      if (byController) volume.metadata.annotations = { ...volume.metadata.annotations, [ANN_BOUND_BY_CONTROLLER]: 'yes' };
      volume = await this.client.update<PersistentVolume>({ ...resourcesOf.volumes, name: volume.metadata.name }, volume);
    }
    await this.setVolumePhase(volume, 'Bound');

    const annotations = claim.metadata.annotations ?? {};
    if (claim.spec?.volumeName !== volume.metadata.name || annotations[ANN_BIND_COMPLETED] === undefined) {
      const byController = !claim.spec?.volumeName;
      claim.spec = { ...claim.spec, volumeName: volume.metadata.name };
      claim.metadata.annotations = { ...annotations, [ANN_BIND_COMPLETED]: 'yes', ...(byController ? { [ANN_BOUND_BY_CONTROLLER]: 'yes' } : {}) };
      claim = await this.client.update<PersistentVolumeClaim>(this.claimRef(claim), claim);
    }
    const status = claim.status ?? {};
    const capacity = volume.spec?.capacity ?? {};
    const accessModes = volume.spec?.accessModes ?? [];
    if (status.phase === 'Bound' && JSON.stringify(status.capacity) === JSON.stringify(capacity) && JSON.stringify(status.accessModes) === JSON.stringify(accessModes)) return;
    claim.status = { ...status, phase: 'Bound', capacity, accessModes };
    await this.client.update({ ...this.claimRef(claim), subresource: 'status' }, claim);
  }

  private claimRef(claim: PersistentVolumeClaim) {
    return { ...resourcesOf.claims, namespace: claim.metadata.namespace, name: claim.metadata.name };
  }

  private async setClaimPhase(claim: PersistentVolumeClaim, phase: string): Promise<void> {
    if (claim.status?.phase === phase) return;
    claim.status = { ...claim.status, phase };
    await this.client.update({ ...this.claimRef(claim), subresource: 'status' }, claim);
  }

  // ---- volumes ---------------------------------------------------------------

  private async syncVolume(volume: PersistentVolume): Promise<void> {
    const ref = volume.spec?.claimRef;
    if (!ref || !ref.uid) {
      // Unclaimed, or pre-bound by the user to a claim not yet bound: free for that claim.
      await this.setVolumePhase(volume, 'Available');
      return;
    }
    let claim = ref.namespace && ref.name ? this.claims.lister.get(ref.namespace, ref.name) : undefined;
    if (claim && claim.metadata.uid !== ref.uid) claim = undefined;
    if (!claim) {
      // The claim is gone (a namesake is another claim).
      if (volume.status?.phase !== 'Released' && volume.status?.phase !== 'Failed') volume = await this.setVolumePhase(volume, 'Released');
      await this.reclaimVolume(volume);
      return;
    }
    const claimVolume = claim.spec?.volumeName;
    if (!claimVolume) {
      // Half-bound (we wrote claimRef, the claim not yet): the claim's sync finishes it.
      this.enqueue(`${CLAIM}${claim.metadata.namespace}/${claim.metadata.name}`);
      return;
    }
    if (claimVolume === volume.metadata.name) {
      await this.setVolumePhase(volume, 'Bound');
      return;
    }
    // The claim went to another volume: release ours if we bound it, leave a user's pre-binding alone.
    if (hasAnnotation(volume, ANN_BOUND_BY_CONTROLLER)) {
      const annotations = { ...volume.metadata.annotations };
      delete annotations[ANN_BOUND_BY_CONTROLLER];
      volume.metadata.annotations = annotations;
      volume.spec = { ...volume.spec, claimRef: null };
      const updated = await this.client.update<PersistentVolume>({ ...resourcesOf.volumes, name: volume.metadata.name }, volume);
      await this.setVolumePhase(updated, 'Available');
    }
  }

  /** Released volumes: Retain keeps them; Delete is the provisioner's job; the rest cannot be reclaimed here. */
  private async reclaimVolume(volume: PersistentVolume): Promise<void> {
    const policy = volume.spec?.persistentVolumeReclaimPolicy ?? 'Retain';
    if (policy === 'Retain' || volume.status?.phase === 'Failed') return;
    if (policy === 'Delete' && hasAnnotation(volume, ANN_PROVISIONED_BY)) return;
    const [reason, message] = policy === 'Delete'
      ? ['VolumeFailedDelete', `error getting deleter volume plugin for volume "${volume.metadata.name}": no deletable volume plugin matched`]
      : ['VolumeFailedRecycle', 'No recycler plugin found for the volume!'];
    this.recorder.record({ object: volume, type: 'Warning', reason, message });
    await this.setVolumePhase(volume, 'Failed', message);
  }

  private async setVolumePhase(volume: PersistentVolume, phase: string, message?: string): Promise<PersistentVolume> {
    if (volume.status?.phase === phase) return volume;
    volume.status = { ...volume.status, phase, lastPhaseTransitionTime: rfc3339(this.now()) };
    if (message) volume.status.message = message;
    else delete volume.status.message;
    return this.client.update<PersistentVolume>({ ...resourcesOf.volumes, name: volume.metadata.name, subresource: 'status' }, volume);
  }
}
