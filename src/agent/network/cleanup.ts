// Removes what the pod network of one agent left behind (a crashed agent, or
// a node being retired): the pod namespaces and host-side veths recorded in
// its state dir, its bridge, and the IPAM state. Only what the state dir
// names is touched, so another node's (or another test's) pods are left alone.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { IpRoute2, type CommandRunner } from './iproute.ts';
import { POD_NETNS_PREFIX, readNodeRecord, readPodRecords } from './state.ts';

export interface NetworkCleanupResult {
  netns: string[];
  links: string[];
  errors: string[];
}

export async function cleanupPodNetworkState(options: { stateDir: string; run?: CommandRunner }): Promise<NetworkCleanupResult> {
  const ip = new IpRoute2({ run: options.run });
  const result: NetworkCleanupResult = { netns: [], links: [], errors: [] };
  const attempt = async (work: () => Promise<void>) => {
    try {
      await work();
    } catch (error) {
      result.errors.push((error as Error).message);
    }
  };

  const present = new Set(await ip.netnsNames());
  for (const record of await readPodRecords(options.stateDir)) {
    // Deleting the host end removes the pod end even while something still holds the namespace.
    await attempt(async () => {
      if (await ip.link(record.hostVeth)) {
        await ip.deleteLink(record.hostVeth);
        result.links.push(record.hostVeth);
      }
    });
    if (record.netns.startsWith(POD_NETNS_PREFIX) && present.has(record.netns)) {
      await attempt(async () => {
        await ip.deleteNetns(record.netns);
        result.netns.push(record.netns);
      });
    }
  }

  const node = await readNodeRecord(options.stateDir);
  if (node) {
    await attempt(async () => {
      const bridge = await ip.link(node.bridgeName);
      if (bridge?.linkinfo?.info_kind === 'bridge') {
        await ip.deleteLink(node.bridgeName);
        result.links.push(node.bridgeName);
      }
    });
  }

  if (result.errors.length === 0) {
    for (const entry of ['pods', 'ipam', 'network.json']) await rm(join(options.stateDir, entry), { recursive: true, force: true });
  }
  return result;
}
