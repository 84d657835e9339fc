// The real node agent as `skiff agent` and `skiff server` start it: the
// kubelet core (agent/kubelet) on the node's image store, the runc/crun
// runtime, the bridge pod network and the host volume manager, all under
// one data dir. It needs root and the runtime's tools; `nodeAgentProblems`
// says what is missing so `skiff server` can run without a local agent.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { loadRegistriesConfig } from '../agent/images/registries-config.ts';
import { ImageService } from '../agent/images/service.ts';
import { startKubelet, type Kubelet } from '../agent/kubelet/index.ts';
import { BridgePodNetwork } from '../agent/network/bridge.ts';
import { networkStateDir } from '../agent/network/state.ts';
import type { OciRuntimeName } from '../agent/runtime/oci-cli.ts';
import { RuncRuntime } from '../agent/runtime/runc.ts';
import { createVolumeManager } from '../agent/volumes/manager.ts';
import type { ApiClient } from '../client/interface.ts';
import { runtimeRoot } from './cleanup.ts';

export interface NodeAgentFlags {
  dataDir: string;
  nodeName: string;
  nodeIp: string;
  runtime?: string;
  registriesConfig?: string;
  /** Comma-separated cluster DNS addresses. */
  clusterDns?: string;
  clusterDomain?: string;
  clusterCidr?: string;
  /** The streaming (logs/exec) server's port, for daemonEndpoints. */
  kubeletPort?: number;
}

function onPath(binary: string): boolean {
  return (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, binary), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export function runtimeName(value: string | undefined): OciRuntimeName {
  const name = value ?? 'runc';
  if (name !== 'runc' && name !== 'crun') throw new Error(`--runtime ${name}: expected runc or crun`);
  return name;
}

/** What keeps a real node agent from running here (empty: nothing). */
export function nodeAgentProblems(runtime: string | undefined): string[] {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push('it must run as root');
  const name = runtime ?? 'runc';
  for (const tool of [name, 'ip', 'python3']) if (!onPath(tool)) problems.push(`${tool} is not installed`);
  try {
    accessSync('/bin/busybox', constants.X_OK);
  } catch {
    problems.push('/bin/busybox (busybox-static) is not installed');
  }
  return problems;
}

/** `runc version 1.1.5` → `runc://1.1.5`, as kubelet reports containerd's. */
function runtimeVersion(name: string): string {
  try {
    const out = execFileSync(name, ['--version'], { encoding: 'utf8' });
    const m = /version\s+(\S+)/.exec(out);
    return `${name}://${m?.[1] ?? 'unknown'}`;
  } catch {
    return `${name}://unknown`;
  }
}

export interface RunningNodeAgent {
  kubelet: Kubelet;
  stop(): Promise<void>;
}

export async function startNodeAgent(options: { client: ApiClient; flags: NodeAgentFlags }): Promise<RunningNodeAgent> {
  const { client, flags } = options;
  const runtime = runtimeName(flags.runtime);
  const problems = nodeAgentProblems(runtime);
  if (problems.length) throw new Error(`the node agent cannot run: ${problems.join('; ')}`);
  mkdirSync(flags.dataDir, { recursive: true, mode: 0o700 });
  const images = await ImageService.open({ dataDir: flags.dataDir, registriesConfig: loadRegistriesConfig(flags.registriesConfig) });
  try {
    const kubelet = await startKubelet({
      client,
      nodeName: flags.nodeName,
      nodeIp: flags.nodeIp,
      dataDir: flags.dataDir,
      runtime: new RuncRuntime({ root: runtimeRoot(flags.dataDir), runtime }),
      network: ({ podCidr }) => new BridgePodNetwork({ podCidr, stateDir: networkStateDir(flags.dataDir) }),
      volumes: createVolumeManager({ client, podsDir: join(flags.dataDir, 'pods'), nodeName: flags.nodeName }),
      images,
      clusterDns: flags.clusterDns ? flags.clusterDns.split(',').map((s) => s.trim()).filter(Boolean) : [],
      clusterDomain: flags.clusterDomain ?? 'cluster.local',
      clusterCidr: flags.clusterCidr,
      kubeletPort: flags.kubeletPort,
      runtimeVersion: runtimeVersion(runtime),
    });
    return {
      kubelet,
      async stop() {
        await kubelet.stop();
        images.close();
      },
    };
  } catch (error) {
    images.close();
    throw error;
  }
}
