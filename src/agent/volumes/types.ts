// Pod volumes as the node agent sees them: every volume of a pod made
// available as a host directory (or file) that the runtime bind-mounts into
// containers. `manager.ts` implements the plugins (emptyDir, hostPath,
// configMap, secret, downwardAPI, projected, persistentVolumeClaim).
import type { KubeObject } from '../../client/interface.ts';

export interface MountedVolume {
  /** Host path to bind-mount (subPath is resolved by the caller inside it). */
  hostPath: string;
  /** The volume itself is read-only (configMap, secret, downwardAPI, projected). */
  readOnly: boolean;
}

export interface VolumeManager {
  /**
   * Make every volume of the pod ready; returns them by volume name. Idempotent:
   * called on every pod sync (it refreshes configMap/secret/projected contents).
   * Throws a VolumeError (reason FailedMount, message as kubelet's) when one cannot be made.
   */
  setUpPodVolumes(pod: KubeObject): Promise<Map<string, MountedVolume>>;
  /** Unmount and remove the pod's volumes (not the data of persistent ones). */
  tearDownPodVolumes(podUid: string): Promise<void>;
}

export class VolumeError extends Error {
  readonly reason = 'FailedMount';
  constructor(message: string) {
    super(message);
    this.name = 'VolumeError';
  }
}
