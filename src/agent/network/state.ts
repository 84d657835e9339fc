// What the pod network keeps in the agent's state directory, so a restarted
// agent finds its pods' namespaces and `skiff cleanup` finds what a crashed
// one left behind:
//   network.json          the bridge and pod CIDR this node used
//   pods/<netns>.json     one record per pod that has (or is getting) a netns
//   ipam/<cidr>/<ip>      host-local allocations (ipam.ts)
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const DEFAULT_BRIDGE = 'skiff0';

/** The pod network's state dir under an agent's data dir (PodNetworkOptions.stateDir; `skiff cleanup` looks here). */
export function networkStateDir(dataDir: string): string {
  return join(dataDir, 'network');
}
/** Where `ip netns add` bind-mounts named namespaces (iproute2's NETNS_RUN_DIR). */
export const NETNS_RUN_DIR = '/var/run/netns';
export const POD_NETNS_PREFIX = 'skiff-';

export interface NodeNetworkRecord {
  bridgeName: string;
  podCidr: string;
}

export interface PodNetworkRecord {
  podUid: string;
  namespace: string;
  name: string;
  netns: string;
  hostVeth: string;
  ip: string;
}

/**
 * 12 hex characters naming the pod's netns and host-side veth: a hash of the
 * whole uid, not its first characters, because hand-made or sequential uids
 * may share a prefix (pods/<netns>.json maps a name back to its pod).
 */
export function shortPodId(podUid: string): string {
  return createHash('sha256').update(podUid).digest('hex').slice(0, 12);
}

export function podNetnsName(podUid: string): string {
  return `${POD_NETNS_PREFIX}${shortPodId(podUid)}`;
}

/** The host end of the pod's veth: 15 characters, the kernel's limit. */
export function hostVethName(podUid: string): string {
  return `skv${shortPodId(podUid)}`;
}

export function ipamDir(stateDir: string, podCidr: string): string {
  return join(stateDir, 'ipam', podCidr.replace('/', '_'));
}

export async function writeJsonAtomically(path: string, value: unknown): Promise<void> {
  const temporary = `${path}.tmp-${randomBytes(6).toString('hex')}`;
  await writeFile(temporary, JSON.stringify(value, null, 2) + '\n');
  await rename(temporary, path);
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || error instanceof SyntaxError) return undefined;
    throw error;
  }
}

export function readNodeRecord(stateDir: string): Promise<NodeNetworkRecord | undefined> {
  return readJson<NodeNetworkRecord>(join(stateDir, 'network.json'));
}

export async function writeNodeRecord(stateDir: string, record: NodeNetworkRecord): Promise<void> {
  await mkdir(stateDir, { recursive: true });
  await writeJsonAtomically(join(stateDir, 'network.json'), record);
}

export function podRecordPath(stateDir: string, netns: string): string {
  return join(stateDir, 'pods', `${netns}.json`);
}

export async function writePodRecord(stateDir: string, record: PodNetworkRecord): Promise<void> {
  await mkdir(join(stateDir, 'pods'), { recursive: true });
  await writeJsonAtomically(podRecordPath(stateDir, record.netns), record);
}

export async function removePodRecord(stateDir: string, netns: string): Promise<void> {
  await unlink(podRecordPath(stateDir, netns)).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
}

export async function readPodRecords(stateDir: string): Promise<PodNetworkRecord[]> {
  let names: string[];
  try {
    names = await readdir(join(stateDir, 'pods'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const records: PodNetworkRecord[] = [];
  for (const name of names.filter((n) => n.startsWith(POD_NETNS_PREFIX) && n.endsWith('.json'))) {
    const record = await readJson<PodNetworkRecord>(join(stateDir, 'pods', name));
    if (record) records.push(record);
  }
  return records;
}
