// The real node agent as `skiff agent` and `skiff server` start it: the
// kubelet core (agent/kubelet) on the node's image store, the runc/crun
// runtime, the bridge pod network and the host volume manager, all under
// one data dir, and the agent's streaming server (kubelet's port 10250: logs,
// exec, attach for the API server) over the kubelet's pods. It needs root and
// the runtime's tools; `nodeAgentProblems` says what is missing so `skiff
// server` can run without a local agent.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { loadRegistriesConfig } from '../agent/images/registries-config.ts';
import { ImageService } from '../agent/images/service.ts';
import { startKubelet, type Kubelet } from '../agent/kubelet/index.ts';
import { createStreamingBackend } from '../agent/kubelet/streaming-backend.ts';
import { BridgePodNetwork } from '../agent/network/bridge.ts';
import { networkStateDir } from '../agent/network/state.ts';
import { enableNodeForwarding } from '../agent/network/sysctl.ts';
import type { OciRuntimeName } from '../agent/runtime/oci-cli.ts';
import { RuncRuntime } from '../agent/runtime/runc.ts';
import { DEFAULT_STREAMING_PORT, startStreamingServer, type RunningStreamingServer } from '../agent/streaming/server.ts';
import { createVolumeManager } from '../agent/volumes/manager.ts';
import type { ApiClient } from '../client/interface.ts';
import { clusterDnsAddresses, startNodeDns } from '../proxy/dns/node-dns.ts';
import { startIngressController, type RunningIngressController } from '../proxy/ingress/controller.ts';
import { startServiceProxy, type ServiceProxy } from '../proxy/service/proxy.ts';
import { createStatsEndpoints } from '../agent/stats/endpoints.ts';
import { StatsCollector } from '../agent/stats/collector.ts';
import { runtimeRoot } from './cleanup.ts';
import { parseGoDuration } from './go-duration.ts';

export interface NodeAgentFlags {
  dataDir: string;
  nodeName: string;
  nodeIp: string;
  runtime?: string;
  registriesConfig?: string;
  /** Comma-separated cluster DNS addresses ("" = none); default the ClusterIP of kube-system/kube-dns. */
  clusterDns?: string;
  /** kubelet's --resolv-conf: the node's resolvers, for Default-policy pods and the cluster DNS's upstreams ("" = none). */
  resolvConf?: string;
  clusterDomain?: string;
  clusterCidr?: string;
  /** The streaming (logs/exec) server's port (default 10250; 0: a free one), published in daemonEndpoints. */
  kubeletPort?: number;
  /** PEM of the cluster CA: only client certificates it signed may use the streaming server. */
  clientCa?: string;
  /** kubelet's --eviction-* flags, as given. */
  evictionHard?: string;
  evictionSoft?: string;
  evictionSoftGracePeriod?: string;
  evictionPressureTransitionPeriod?: string;
  evictionMaxPodGracePeriod?: string;
  /** Do not run the service proxy (nftables rules for Services) in this agent. */
  disableServiceProxy?: boolean;
  /** The ingress controller's ports on the node IP (default 80 and 443; 0: a free one). */
  ingressHttpPort?: number;
  ingressHttpsPort?: number;
  disableIngress?: boolean;
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

function parseSeconds(value: string, flag: string): number {
  if (!/^\d+$/.test(value)) throw new Error(`${flag} ${value} is not a number of seconds`);
  return Number(value);
}

export function parsePort(value: string, flag: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new Error(`${flag} ${value} is not a port`);
  return port;
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
  /** The node's service proxy (undefined with --disable-service-proxy or without nft). */
  serviceProxy?: ServiceProxy;
  /** The node's ingress controller (undefined with --disable-ingress or when its ports are taken). */
  ingress?: RunningIngressController;
  /** Where the streaming server listens. */
  streaming: { address: string; port: number };
  stop(): Promise<void>;
}

/**
 * The service proxy (proxy/service) with the kernel switches it needs: IPv4
 * forwarding and bridge-nf-call-iptables, so pod → Service traffic that stays
 * on the bridge (replies from a pod on the same node) passes nftables. This
 * changes the netns the agent runs in (the host's on a real node, the test
 * host's in tests).
 */
async function startNodeServiceProxy(options: { client: ApiClient; flags: NodeAgentFlags; podCidr?: string }): Promise<ServiceProxy | undefined> {
  const { client, flags } = options;
  const log = (message: string) => console.error(`service-proxy: ${message}`);
  if (!onPath('nft')) {
    log('warning: nft is not installed (Debian package nftables): Services are not reachable through this node');
    return undefined;
  }
  if (!existsSync('/proc/sys/net/bridge')) {
    try {
      execFileSync('modprobe', ['br_netfilter'], { stdio: 'ignore' });
    } catch {
      // reported below as a missing sysctl
    }
  }
  const sysctls = await enableNodeForwarding();
  for (const missing of sysctls.missing) log(`warning: cannot set ${missing.key} (${missing.reason}): a pod may not reach a Service whose endpoint is on the same bridge`);
  return startServiceProxy({
    // Without --cluster-cidr (`skiff agent`), "from a pod" means from this node's pods (upstream's --detect-local-mode=NodeCIDR).
    client, nodeName: flags.nodeName, nodeIps: [flags.nodeIp], clusterCidr: flags.clusterCidr ?? options.podCidr,
    logger: { info: log, warn: (message) => log(`warning: ${message}`) },
  });
}

/**
 * The ingress controller (proxy/ingress) on the node address. A port it
 * cannot bind (another server on 80/443, e.g. next to `skiff server`'s local
 * agent) leaves this node without ingress, said in the log, rather than
 * failing the whole agent.
 */
async function startNodeIngress(options: { client: ApiClient; flags: NodeAgentFlags }): Promise<RunningIngressController | undefined> {
  const { client, flags } = options;
  const log = (message: string) => console.error(`ingress: ${message}`);
  try {
    return await startIngressController({
      client, addresses: [flags.nodeIp], httpPort: flags.ingressHttpPort ?? 80, httpsPort: flags.ingressHttpsPort ?? 443,
      logger: { info: log, warn: (message) => log(`warning: ${message}`) },
    });
  } catch (error) {
    log(`warning: ingress disabled on this node: ${(error as Error).message}; free the port, choose others with --ingress-http-port / --ingress-https-port, or pass --disable-ingress`);
    return undefined;
  }
}

/** The cluster CA from the `kube-root-ca.crt` ConfigMap (for an agent started without --ca-file). */
async function clusterCaFromApi(client: ApiClient): Promise<string> {
  const map = await client.get({ group: '', version: 'v1', resource: 'configmaps', namespace: 'kube-system', name: 'kube-root-ca.crt' });
  const pem = (map as { data?: Record<string, string> }).data?.['ca.crt'];
  if (!pem) throw new Error('the kube-root-ca.crt ConfigMap in kube-system has no ca.crt');
  return pem;
}

export async function startNodeAgent(options: { client: ApiClient; flags: NodeAgentFlags }): Promise<RunningNodeAgent> {
  const { client, flags } = options;
  const runtime = runtimeName(flags.runtime);
  const problems = nodeAgentProblems(runtime);
  if (problems.length) throw new Error(`the node agent cannot run: ${problems.join('; ')}`);
  mkdirSync(flags.dataDir, { recursive: true, mode: 0o700 });
  const images = await ImageService.open({ dataDir: flags.dataDir, registriesConfig: loadRegistriesConfig(flags.registriesConfig) });
  let streaming: RunningStreamingServer | undefined;
  try {
    const containers = new RuncRuntime({ root: runtimeRoot(flags.dataDir), runtime });
    const volumes = createVolumeManager({ client, podsDir: join(flags.dataDir, 'pods'), nodeName: flags.nodeName });
    // The server starts first so that the Node registers with its real port; until the kubelet
    // is up, every pod is unknown to it (404).
    let kubelet: Kubelet | undefined;
    let bridge: BridgePodNetwork | undefined;
    streaming = await startStreamingServer({
      backend: createStreamingBackend({ runtime: containers, podUid: (namespace, name) => kubelet?.podUid(namespace, name) }),
      address: flags.nodeIp,
      port: flags.kubeletPort ?? DEFAULT_STREAMING_PORT,
      clientCa: flags.clientCa ?? await clusterCaFromApi(client),
      certDir: join(flags.dataDir, 'agent', 'pki'),
      nodeName: flags.nodeName,
      log: (message) => console.error(`kubelet: ${message}`),
      stats: createStatsEndpoints({ stats: new StatsCollector({ runtime: containers }), nodeName: flags.nodeName }),
    });
    kubelet = await startKubelet({
      client,
      nodeName: flags.nodeName,
      nodeIp: flags.nodeIp,
      dataDir: flags.dataDir,
      runtime: containers,
      network: ({ podCidr }) => (bridge = new BridgePodNetwork({ podCidr, stateDir: networkStateDir(flags.dataDir) })),
      volumes,
      images,
      housekeeping: { images, reclaimVolumes: () => volumes.reclaimLocalPathVolumes() },
      clusterDns: await clusterDnsAddresses({ client, configured: flags.clusterDns, warn: (message) => console.error(`kubelet: ${message}`) }),
      hostResolvConfPath: flags.resolvConf === '' ? null : flags.resolvConf,
      clusterDomain: flags.clusterDomain ?? 'cluster.local',
      clusterCidr: flags.clusterCidr,
      kubeletPort: streaming.port,
      runtimeVersion: runtimeVersion(runtime),
      eviction: {
        hard: flags.evictionHard, soft: flags.evictionSoft, softGracePeriod: flags.evictionSoftGracePeriod,
        pressureTransitionMs: flags.evictionPressureTransitionPeriod ? parseGoDuration(flags.evictionPressureTransitionPeriod, '--eviction-pressure-transition-period') : undefined,
        maxPodGracePeriodSeconds: flags.evictionMaxPodGracePeriod ? parseSeconds(flags.evictionMaxPodGracePeriod, '--eviction-max-pod-grace-period') : undefined,
        imageDir: join(flags.dataDir, 'images'),
      },
    });
    const serviceProxy = flags.disableServiceProxy ? undefined : await startNodeServiceProxy({ client, flags, podCidr: kubelet.podCidr });
    const ingress = flags.disableIngress ? undefined : await startNodeIngress({ client, flags });
    // The cluster DNS server on the pod bridge's gateway (made now if no pod made it yet).
    const podBridge = bridge!;
    const nodeDns = startNodeDns({
      client, nodeName: flags.nodeName, address: podBridge.gateway, ensureAddress: () => podBridge.ensureBridge(),
      zone: flags.clusterDomain ?? 'cluster.local', resolvConfPath: flags.resolvConf || undefined,
      // The node address explicitly: an interface that is down is missing from the node's own list.
      clientCidrs: [kubelet.podCidr, `${flags.nodeIp}/32`, ...(flags.clusterCidr ? [flags.clusterCidr] : [])],
      upstreams: flags.resolvConf === '' ? [] : undefined,
    });
    const running = { kubelet, server: streaming };
    return {
      kubelet,
      serviceProxy,
      ingress,
      streaming: { address: streaming.address, port: streaming.port },
      async stop() {
        await nodeDns.stop();
        await ingress?.stop();
        await serviceProxy?.stop(); // its rules stay, as upstream's kube-proxy leaves them; `skiff cleanup` removes them
        await running.server.close();
        await running.kubelet.stop();
        images.close();
      },
    };
  } catch (error) {
    await streaming?.close();
    images.close();
    throw error;
  }
}
