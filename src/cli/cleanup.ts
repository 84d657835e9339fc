// `skiff cleanup [--data-dir DIR]`: leaves the machine as it was before the
// node ran: stops what the runtime started, unmounts the pods' volumes,
// removes the pod network (netns, veths, bridge, IPAM state) recorded under
// the data dir, and the Service proxy's nftables table. Safe to run twice and after a crash. Run it in the
// node's network namespace (on a real node: the host's; in tests: the test
// host's), since bridge and veths live there; pod namespaces are found either way.
import { Command, Option } from 'commander';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cleanupPodNetworkState } from '../agent/network/cleanup.ts';
import { CommandError, runCommand } from '../agent/network/iproute.ts';
import { networkStateDir } from '../agent/network/state.ts';
import type { OciRuntimeName } from '../agent/runtime/oci-cli.ts';
import { RuncRuntime } from '../agent/runtime/runc.ts';
import { mountPointsUnder, unmount } from '../agent/volumes/mounts.ts';
import { defaultDataDir } from './server.ts';

export interface CleanupResult {
  removed: string[];
  errors: string[];
}

/** The nftables table the Service proxy owns. */
export const NFT_TABLE = ['ip', 'skiff'] as const; // proxy/service's table (render.ts DEFAULT_TABLE)

async function deleteNftTable(): Promise<boolean> {
  try {
    await runCommand(['nft', 'delete', 'table', ...NFT_TABLE]);
    return true;
  } catch (error) {
    // No table (or no nft installed): nothing of ours to remove.
    if (error instanceof CommandError && (/No such file or directory|does not exist/.test(error.stderr) || error.exitCode === null)) return false;
    throw error;
  }
}

/** The runtime's state dir under an agent's data dir (RuncRuntimeOptions.root). */
export function runtimeRoot(dataDir: string): string {
  return join(dataDir, 'runtime');
}

export async function cleanupNode(options: { dataDir: string; runtime?: OciRuntimeName }): Promise<CleanupResult> {
  const result: CleanupResult = { removed: [], errors: [] };
  // Containers first: they hold the pod namespaces and the overlay mounts.
  const root = runtimeRoot(options.dataDir);
  if (existsSync(root)) {
    try {
      await new RuncRuntime({ root, runtime: options.runtime }).cleanupAll();
      result.removed.push(`runtime state ${root}`);
    } catch (error) {
      result.errors.push((error as Error).message);
    }
  }
  // Then the pods' volume mounts (tmpfs of secrets, projected tokens, memory emptyDirs), deepest first.
  try {
    for (const point of await mountPointsUnder(join(options.dataDir, 'pods'))) {
      await unmount(point);
      result.removed.push(`mount ${point}`);
    }
  } catch (error) {
    result.errors.push((error as Error).message);
  }
  const network = await cleanupPodNetworkState({ stateDir: networkStateDir(options.dataDir) });
  result.removed.push(...network.netns.map((n) => `netns ${n}`), ...network.links.map((l) => `link ${l}`));
  result.errors.push(...network.errors);
  try {
    if (await deleteNftTable()) result.removed.push(`nft table ${NFT_TABLE.join(' ')}`);
  } catch (error) {
    result.errors.push((error as Error).message);
  }
  return result;
}

export function cleanupCommand(): Command {
  return new Command('cleanup')
    .description('Stop every container skiff started and remove its network namespaces, bridge, nftables table, mounts and state')
    .option('--data-dir <dir>', 'state directory (as `skiff server`/`skiff agent`)', defaultDataDir())
    .addOption(new Option('--runtime <name>', 'the OCI runtime the agent used').choices(['runc', 'crun']).default('runc'))
    .action(async (flags: { dataDir: string; runtime: OciRuntimeName }) => {
      const result = await cleanupNode({ dataDir: resolve(flags.dataDir), runtime: flags.runtime });
      for (const item of result.removed) console.log(`removed ${item}`);
      for (const error of result.errors) console.error(`skiff cleanup: ${error}`);
      if (result.errors.length) process.exitCode = 1;
    });
}
