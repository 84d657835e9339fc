// `skiff server`: the control plane in one process (API server on the
// embedded store). Prints one line when ready; stops cleanly on SIGINT/SIGTERM.
import { Command, Option } from 'commander';
import { mkdirSync, readFileSync } from 'node:fs';
import { homedir, hostname, networkInterfaces } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureClusterPki } from '../apiserver/auth/pki.ts';
import { renderKubeconfig, writeKubeconfig } from '../apiserver/auth/kubeconfig.ts';
import { startApiServer } from '../apiserver/server.ts';
import { parseSimulatedNodesFlag } from '../agent/simulated/index.ts';
import { startComponents } from './components.ts';
import { parsePort } from './node-agent.ts';
import { addNodeAgentOptions, type NodeAgentFlagValues } from './node-agent-flags.ts';
import { addControllerTuningOptions, controllerTuningFromFlags, type ControllerTuningFlags } from './controller-flags.ts';
import { parseSchedulerConfiguration } from '../scheduler/config.ts';
import { parseControllersFlag } from '../controllers/registry.ts';
import { openDatastore } from './datastore.ts';
import { parseGoDuration } from './go-duration.ts';
import type { Store } from '../storage/interface.ts';

export interface ServerFlags extends ControllerTuningFlags, NodeAgentFlagValues {
  dataDir: string;
  bindAddress?: string;
  advertiseAddress?: string;
  httpsListenPort: string;
  writeKubeconfig?: string;
  datastoreEndpoint?: string;
  datastoreCafile?: string;
  datastoreCertfile?: string;
  datastoreKeyfile?: string;
  disableAgent?: boolean;
  nodeIp?: string;
  openapiDescriptions?: string;
  clusterCidr: string;
  serviceCidr: string;
  simulatedNodes?: string;
  metricResolution?: string;
  schedulerConfig?: string;
  disableScheduler?: boolean;
  controllers: string;
  watchCache: string;
}

export function defaultDataDir(): string {
  return process.getuid?.() === 0 ? '/var/lib/skiff' : join(homedir(), '.skiff');
}

/** The node's address: the first non-internal IPv4 address, else loopback. */
export function detectNodeIp(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

export function serverCommand(): Command {
  return addNodeAgentOptions(addControllerTuningOptions(new Command('server')), 'the local agent')
    .description('Run the control plane: API server with the embedded store')
    .option('--data-dir <dir>', 'state directory (certificates, database)', defaultDataDir())
    .option('--bind-address <ip>', 'address to listen on (default: all addresses)')
    .option('--advertise-address <ip>', 'address the kubernetes Service points at (default: the node address)')
    .option('--https-listen-port <port>', 'HTTPS port (0 = pick a free port)', '6443')
    .option('--write-kubeconfig <path>', 'where to write the admin kubeconfig (default: DATA/kubeconfig.yaml)')
    .option('--datastore-endpoint <url>', 'external datastore: etcd client URLs http(s)://HOST:PORT[,…], or sqlite://PATH (default: embedded sqlite in the data dir)')
    .option('--datastore-cafile <file>', 'CA bundle that signed the etcd members\' certificates (https endpoints)')
    .option('--datastore-certfile <file>', 'client certificate for etcd')
    .option('--datastore-keyfile <file>', 'client key for etcd')
    .option('--disable-agent', 'do not run a node agent in this process')
    .option('--node-ip <ip>', 'this node\'s address')
    .option('--openapi-descriptions <path>', 'upstream swagger.json to serve field descriptions from (kubectl explain)')
    .option('--disable-scheduler', 'do not run the scheduler in this process')
    .option('--controllers <list>', 'controllers to run: "*" for all, "-name" to leave one out, e.g. "*,-deployment"', '*')
    .option('--scheduler-config <file>', 'KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1) YAML for the scheduler')
    .option('--simulated-nodes <spec>', 'register N hollow nodes that run pods without containers: N[:cpu,memory,pods]')
    .option('--metric-resolution <duration>', 'metrics.k8s.io: nodes are scraped at most this often, and rates span about this long (default 15s, as metrics-server)')
    .option('--watch-cache <bool>', 'serve LIST and WATCH from an in-memory cache of the store (true|false)', 'true')
    .addOption(new Option('--cluster-cidr <cidr>', 'pod network range').default('10.42.0.0/16'))
    .addOption(new Option('--service-cidr <cidr>', 'service ClusterIP range').default('10.43.0.0/16'))
    .action(async (flags: ServerFlags) => {
      await runServer(flags);
    });
}

function openStore(flags: ServerFlags, dataDir: string): Promise<Store> {
  return openDatastore({
    endpoint: flags.datastoreEndpoint, dataDir,
    caFile: flags.datastoreCafile, certFile: flags.datastoreCertfile, keyFile: flags.datastoreKeyfile,
  });
}

export async function runServer(flags: ServerFlags): Promise<void> {
  // Parse component flags before anything is created, so a typo fails fast.
  const simulatedNodes = flags.simulatedNodes ? parseSimulatedNodesFlag(flags.simulatedNodes) : undefined;
  parseControllersFlag(flags.controllers); // a typo fails before anything starts
  const watchCache = parseBoolFlag('--watch-cache', flags.watchCache);
  const controllerTuning = controllerTuningFromFlags(flags);
  const schedulerConfig = flags.schedulerConfig ? parseSchedulerConfiguration(readFileSync(flags.schedulerConfig, 'utf8')) : undefined;
  const dataDir = resolve(flags.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const nodeIp = flags.nodeIp ?? detectNodeIp();
  const advertiseAddress = flags.advertiseAddress ?? nodeIp;
  const port = Number(flags.httpsListenPort);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--https-listen-port ${flags.httpsListenPort} is not a port`);
  const kubernetesServiceIp = firstServiceIp(flags.serviceCidr);
  const pki = await ensureClusterPki({
    dir: join(dataDir, 'tls'),
    hostnames: [hostname()],
    ipAddresses: [...new Set([advertiseAddress, nodeIp, kubernetesServiceIp, ...(flags.bindAddress && flags.bindAddress !== '0.0.0.0' ? [flags.bindAddress] : [])])],
  });
  const store = await openStore(flags, dataDir);
  const server = await startApiServer({
    store, pki, port,
    bindAddress: flags.bindAddress,
    advertiseAddress,
    serviceCidr: flags.serviceCidr,
    openapiDescriptions: flags.openapiDescriptions,
    metricResolutionMs: flags.metricResolution ? parseGoDuration(flags.metricResolution, '--metric-resolution') : undefined,
    watchCache,
  });
  const loopback = flags.bindAddress && !['0.0.0.0', '::'].includes(flags.bindAddress) ? flags.bindAddress : '127.0.0.1';
  const components = await startComponents({
    server: `https://${loopback.includes(':') ? `[${loopback}]` : loopback}:${server.port}`,
    caCert: pki.caCert,
    token: pki.adminToken,
    clusterCidr: flags.clusterCidr,
    simulatedNodes,
    schedulerConfig,
    scheduler: !flags.disableScheduler,
    controllers: flags.controllers,
    controllerTuning,
    localAgent: flags.disableAgent ? undefined : {
      dataDir, nodeName: flags.nodeName ?? hostname(), nodeIp, runtime: flags.runtime, registriesConfig: flags.registriesConfig,
      clusterDns: flags.clusterDns, clusterDomain: flags.clusterDomain, clusterCidr: flags.clusterCidr, resolvConf: flags.resolvConf,
      kubeletPort: parsePort(flags.kubeletPort, '--kubelet-port'),
      evictionHard: flags.evictionHard, evictionSoft: flags.evictionSoft, evictionSoftGracePeriod: flags.evictionSoftGracePeriod,
      evictionPressureTransitionPeriod: flags.evictionPressureTransitionPeriod, evictionMaxPodGracePeriod: flags.evictionMaxPodGracePeriod,
      disableServiceProxy: flags.disableServiceProxy,
      ingressHttpPort: parsePort(flags.ingressHttpPort, '--ingress-http-port'), ingressHttpsPort: parsePort(flags.ingressHttpsPort, '--ingress-https-port'),
      disableIngress: flags.disableIngress,
    },
  });
  const kubeconfigPath = resolve(flags.writeKubeconfig ?? join(dataDir, 'kubeconfig.yaml'));
  await writeKubeconfig(kubeconfigPath, renderKubeconfig({
    server: `https://127.0.0.1:${server.port}`,
    caCert: pki.caCert,
    clientCert: pki.adminCert,
    clientKey: pki.adminKey,
  }));
  console.log(`skiff server ready: https://127.0.0.1:${server.port} kubeconfig=${kubeconfigPath}`);

  // One broken request must never take the cluster down: log what escaped and keep serving
  // (as kube-apiserver recovers from a handler panic).
  process.on('unhandledRejection', (reason) => console.error('skiff server: unhandled rejection:', reason));
  process.on('uncaughtException', (error) => console.error('skiff server: uncaught exception:', error));

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`skiff server: ${signal}, shutting down`);
    await components.stop();
    await server.close();
    await store.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

function parseBoolFlag(flag: string, value: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new Error(`${flag} ${value}: expected true or false`);
}

function firstServiceIp(cidr: string): string {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  if (!m) throw new Error(`--service-cidr ${cidr} is not an IPv4 CIDR`);
  const size = 2 ** (32 - Number(m[5]));
  const ip = ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
  const first = ((ip & ~(size - 1)) >>> 0) + 1;
  return [first >>> 24, (first >>> 16) & 255, (first >>> 8) & 255, first & 255].join('.');
}
