// The built-in local-path provisioner (rancher.io/local-path, as k3s ships):
// for a claim the binder handed to it (volume.kubernetes.io/storage-provisioner)
// whose WaitForFirstConsumer pod was placed (volume.kubernetes.io/selected-node),
// it creates a hostPath PersistentVolume `pvc-<claim uid>` at
// <nodePath>/<pv-name> (nodePath: the class's `nodePath` parameter, else the
// controller's storage root, default /var/lib/skiff/storage), type
// DirectoryOrCreate, pinned to that node by required node affinity, and
// pre-bound to the claim (the binder completes the binding). When the claim
// goes and the volume is Released with reclaim policy Delete, it deletes the
// PersistentVolume; the directory is on the node, so the node agent removes
// it (src/agent/volumes/local-path.ts sweeps directories no PV names).
import { join } from 'node:path';
import type { Informer } from '../../client/informer.ts';
import { isAlreadyExists, isNotFound, type KubeObject } from '../../client/interface.ts';
import { Controller, type ControllerOptions } from '../framework/controller.ts';
import {
  ANN_BETA_STORAGE_PROVISIONER, ANN_PROVISIONED_BY, ANN_SELECTED_NODE, ANN_STORAGE_PROVISIONER, LOCAL_PATH_PROVISIONER,
  claimClass, resourcesOf,
  type PersistentVolume, type PersistentVolumeClaim, type StorageClass,
} from './types.ts';

export const DEFAULT_STORAGE_ROOT = '/var/lib/skiff/storage';
const SUPPORTED_ACCESS_MODES = new Set(['ReadWriteOnce', 'ReadWriteOncePod']);
const CLAIM = 'claim/';
const VOLUME = 'volume/';

export interface LocalPathProvisionerOptions extends ControllerOptions {
  /** Where volumes go on nodes when the class has no `nodePath` parameter. */
  storageRoot?: string;
}

export class LocalPathProvisioner extends Controller {
  readonly name = 'local-path-provisioner';
  protected readonly component = `${LOCAL_PATH_PROVISIONER}_skiff`;
  private readonly storageRoot: string;
  private readonly claims: Informer<PersistentVolumeClaim>;
  private readonly volumes: Informer<PersistentVolume>;
  private readonly classes: Informer<StorageClass>;
  private readonly nodes: Informer<KubeObject>;

  constructor(options: LocalPathProvisionerOptions) {
    super(options);
    this.storageRoot = options.storageRoot ?? DEFAULT_STORAGE_ROOT;
    const onClaim = (claim: PersistentVolumeClaim) => this.enqueue(`${CLAIM}${claim.metadata.namespace}/${claim.metadata.name}`);
    this.claims = this.watch<PersistentVolumeClaim>(resourcesOf.claims, { onAdd: onClaim, onUpdate: (_old, claim) => onClaim(claim) });
    const onVolume = (volume: PersistentVolume) => this.enqueue(`${VOLUME}${volume.metadata.name}`);
    this.volumes = this.watch<PersistentVolume>(resourcesOf.volumes, { onAdd: onVolume, onUpdate: (_old, volume) => onVolume(volume) });
    this.classes = this.watch<StorageClass>(resourcesOf.classes, {});
    this.nodes = this.watch<KubeObject>(resourcesOf.nodes, {});
  }

  protected async sync(key: string): Promise<void> {
    if (key.startsWith(CLAIM)) {
      const [namespace, name] = key.slice(CLAIM.length).split('/');
      const claim = this.claims.lister.get(namespace, name);
      if (claim) await this.syncClaim(claim);
    } else if (key.startsWith(VOLUME)) {
      const volume = this.volumes.lister.get(undefined, key.slice(VOLUME.length));
      if (volume) await this.syncVolume(volume);
    }
  }

  private async syncClaim(claim: PersistentVolumeClaim): Promise<void> {
    if (claim.metadata.deletionTimestamp || claim.spec?.volumeName) return;
    const annotations = claim.metadata.annotations ?? {};
    const asked = annotations[ANN_STORAGE_PROVISIONER] ?? annotations[ANN_BETA_STORAGE_PROVISIONER];
    if (asked !== LOCAL_PATH_PROVISIONER) return;
    const storageClass = this.classes.lister.get(undefined, claimClass(claim));
    if (storageClass?.provisioner !== LOCAL_PATH_PROVISIONER) return;
    const volumeName = `pvc-${claim.metadata.uid}`;
    if (this.volumes.lister.get(undefined, volumeName)) return;

    const nodeName = annotations[ANN_SELECTED_NODE];
    const failure = !nodeName
      ? 'configuration error, no node was specified'
      : [...(claim.spec?.accessModes ?? [])].some((mode) => !SUPPORTED_ACCESS_MODES.has(mode))
        ? 'NodePath only supports ReadWriteOnce and ReadWriteOncePod access modes'
        : undefined;
    if (failure) {
      this.recorder.record({ object: claim, type: 'Warning', reason: 'ProvisioningFailed', message: `failed to provision volume with StorageClass "${storageClass.metadata.name}": ${failure}` });
      return;
    }
    this.recorder.record({ object: claim, type: 'Normal', reason: 'Provisioning', message: `External provisioner is provisioning volume for claim "${claim.metadata.namespace}/${claim.metadata.name}"` });
    const volume = this.volumeFor({ claim, storageClass, nodeName: nodeName!, volumeName });
    try {
      await this.client.create(resourcesOf.volumes, volume);
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
      return;
    }
    this.recorder.record({ object: claim, type: 'Normal', reason: 'ProvisioningSucceeded', message: `Successfully provisioned volume ${volumeName}` });
  }

  private volumeFor(options: { claim: PersistentVolumeClaim; storageClass: StorageClass; nodeName: string; volumeName: string }): PersistentVolume {
    const { claim, storageClass, nodeName, volumeName } = options;
    const root = storageClass.parameters?.nodePath || this.storageRoot;
    // Pinned by the node's hostname label, as local-path-provisioner does (the node name when it has none).
    const hostname = this.nodes.lister.get(undefined, nodeName)?.metadata.labels?.['kubernetes.io/hostname'] ?? nodeName;
    return {
      apiVersion: 'v1', kind: 'PersistentVolume',
      metadata: { name: volumeName, annotations: { [ANN_PROVISIONED_BY]: LOCAL_PATH_PROVISIONER, 'local.path.provisioner/selected-node': nodeName } },
      spec: {
        capacity: { storage: claim.spec?.resources?.requests?.storage ?? '0' },
        accessModes: claim.spec?.accessModes ?? ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: storageClass.reclaimPolicy ?? 'Delete',
        storageClassName: storageClass.metadata.name,
        volumeMode: claim.spec?.volumeMode ?? 'Filesystem',
        ...(storageClass.mountOptions?.length ? { mountOptions: storageClass.mountOptions } : {}),
        claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: claim.metadata.namespace, name: claim.metadata.name, uid: claim.metadata.uid, resourceVersion: claim.metadata.resourceVersion },
        hostPath: { path: join(root, volumeName), type: 'DirectoryOrCreate' },
        nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [hostname] }] }] } },
      },
    };
  }

  /** Reclaim policy Delete: the PV object goes once it is Released (the node removes the directory). */
  private async syncVolume(volume: PersistentVolume): Promise<void> {
    if (volume.metadata.annotations?.[ANN_PROVISIONED_BY] !== LOCAL_PATH_PROVISIONER) return;
    if (volume.status?.phase !== 'Released' || volume.spec?.persistentVolumeReclaimPolicy !== 'Delete') return;
    if (volume.metadata.deletionTimestamp) return;
    try {
      await this.client.delete({ ...resourcesOf.volumes, name: volume.metadata.name }, { preconditions: { uid: volume.metadata.uid } });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}
