// persistentVolumeClaim volumes: the claim must be Bound; its PersistentVolume
// must point back at it; the node uses the PV's `hostPath` (checked and
// created by its type, as local-path PVs ask for DirectoryOrCreate) or
// `local.path` (must exist) directly. Other PV sources need plugins skiff has
// not got.
import { chmod, lstat } from 'node:fs/promises';
import { isNotFound, type ApiClient, type KubeObject } from '../../client/interface.ts';
import { checkHostPathType } from './host-path.ts';
import { LOCAL_PATH_PROVISIONER } from './local-path.ts';

interface Claim extends KubeObject {
  spec?: { volumeName?: string };
  status?: { phase?: string };
}

export interface PersistentVolume extends KubeObject {
  spec?: {
    claimRef?: { uid?: string; namespace?: string; name?: string };
    hostPath?: { path: string; type?: string };
    local?: { path: string };
  };
}

/** A claim that cannot be used yet: kubelet reports these before any SetUp ("error processing PVC …"). */
export class ClaimNotReadyError extends Error {}

export interface ResolvedClaim {
  path: string;
  pvName: string;
  /** Made by the built-in local-path provisioner (its directory is the node's to remove). */
  localPath: boolean;
}

export async function resolveClaim(options: { client: ApiClient; namespace: string; claimName: string }): Promise<ResolvedClaim> {
  const { client, namespace, claimName } = options;
  let claim: Claim;
  try {
    claim = await client.get<Claim>({ group: '', version: 'v1', resource: 'persistentvolumeclaims', namespace, name: claimName });
  } catch (error) {
    throw new ClaimNotReadyError(`failed to fetch PVC from API server: ${(error as Error).message}`);
  }
  if (claim.metadata.deletionTimestamp) throw new ClaimNotReadyError('PVC is being deleted');
  if (claim.status?.phase !== 'Bound') throw new ClaimNotReadyError('PVC is not bound');
  const pvName = claim.spec?.volumeName;
  if (!pvName) throw new ClaimNotReadyError('PVC has empty pvc.Spec.VolumeName');

  let pv: PersistentVolume;
  try {
    pv = await client.get<PersistentVolume>({ group: '', version: 'v1', resource: 'persistentvolumes', name: pvName });
  } catch (error) {
    const message = isNotFound(error) ? `persistentvolumes "${pvName}" not found` : (error as Error).message;
    throw new ClaimNotReadyError(`failed to fetch PV ${pvName} from API server: ${message}`);
  }
  const claimRef = pv.spec?.claimRef;
  if (!claimRef) throw new ClaimNotReadyError(`found PV object ${pvName} but it has a nil pv.Spec.ClaimRef indicating it is not yet bound to the claim`);
  if (claimRef.uid !== claim.metadata.uid) {
    throw new ClaimNotReadyError(`found PV object ${pvName} but its pv.Spec.ClaimRef.UID (${claimRef.uid}) does not point to claim.UID (${claim.metadata.uid})`);
  }

  if (pv.spec?.hostPath) {
    const { path, type } = pv.spec.hostPath;
    const localPath = pv.metadata.annotations?.['pv.kubernetes.io/provisioned-by'] === LOCAL_PATH_PROVISIONER;
    const created = type === 'DirectoryOrCreate' && !(await pathExists(path));
    await checkHostPathType(path, type);
    // The local-path provisioner's volumes are world-writable (its helper runs mkdir -m 0777), so any container user can write.
    if (created && localPath) await chmod(path, 0o777);
    return { path, pvName, localPath };
  }
  if (pv.spec?.local) {
    await checkHostPathType(pv.spec.local.path, 'Directory').catch(() => { throw new Error(`path "${pv.spec!.local!.path}" does not exist`); });
    return { path: pv.spec.local.path, pvName, localPath: false };
  }
  throw new Error(`PersistentVolume ${pvName}: no volume plugin matched (skiff mounts hostPath and local volumes)`);
}

async function pathExists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}
