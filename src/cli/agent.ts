// `skiff agent`: a worker node that joins a cluster through the API server
// (`--server URL --token T`): the node agent (kubelet) running pods bound to
// it in real containers (node-agent.ts), or with `--simulated` a hollow node
// that registers, heartbeats and reports its pods Running without containers.
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { startSimulatedNodes } from '../agent/simulated/index.ts';
import { createRestClient } from '../client/rest-client.ts';
import { parsePort, startNodeAgent } from './node-agent.ts';
import { defaultDataDir, detectNodeIp } from './server.ts';

interface AgentFlags {
  server: string;
  token?: string;
  caFile?: string;
  nodeName?: string;
  nodeIp?: string;
  dataDir: string;
  simulated?: boolean;
  runtime?: string;
  registriesConfig?: string;
  clusterDns?: string;
  clusterDomain?: string;
  kubeletPort: string;
  evictionHard?: string;
  evictionSoft?: string;
  evictionSoftGracePeriod?: string;
  evictionPressureTransitionPeriod?: string;
  evictionMaxPodGracePeriod?: string;
}

export function agentCommand(): Command {
  return new Command('agent')
    .description('Run a worker node that joins the cluster at --server')
    .requiredOption('--server <url>', 'the API server, e.g. https://192.0.2.10:6443')
    .option('--token <token>', 'bearer token to authenticate with (the server\'s DATA/tls/admin.token)')
    .option('--ca-file <path>', 'CA certificate of the server (the server\'s DATA/tls/ca.crt)')
    .option('--node-name <name>', 'this node\'s name (default: the hostname)')
    .option('--node-ip <ip>', 'this node\'s address')
    .option('--data-dir <dir>', 'state directory (images, runtime state, pod files)', defaultDataDir())
    .option('--runtime <name>', 'OCI runtime: runc or crun', 'runc')
    .option('--registries-config <file>', 'registries.yaml (k3s shape): mirrors, auth, TLS')
    .option('--cluster-dns <ips>', 'cluster DNS Service address(es) for ClusterFirst pods, comma-separated')
    .option('--cluster-domain <domain>', 'the cluster\'s DNS domain', 'cluster.local')
    .option('--kubelet-port <port>', 'port of the agent\'s logs/exec endpoint on the node IP (0 = a free port)', '10250')
    .option('--eviction-hard <thresholds>', 'hard eviction thresholds, e.g. memory.available<100Mi,nodefs.available<10% (default kubelet\'s)')
    .option('--eviction-soft <thresholds>', 'soft eviction thresholds (each needs --eviction-soft-grace-period)')
    .option('--eviction-soft-grace-period <periods>', 'grace period per soft threshold, e.g. memory.available=1m30s')
    .option('--eviction-pressure-transition-period <duration>', 'how long a pressure condition stays True after its signal recovered', '5m')
    .option('--eviction-max-pod-grace-period <seconds>', 'the longest grace period a soft eviction gives a pod', '0')
    .option('--simulated', 'run a simulated node: pods bound to it run without containers')
    .action(async (flags: AgentFlags) => {
      await runAgent(flags);
    });
}

async function runAgent(flags: AgentFlags): Promise<void> {
  const client = createRestClient({
    server: flags.server,
    token: flags.token,
    caCert: flags.caFile ? readFileSync(flags.caFile, 'utf8') : undefined,
    userAgent: 'skiff-agent/v1.36.0-skiff',
  });
  const name = flags.nodeName ?? hostname();
  const node = flags.simulated
    ? await startSimulatedNodes({ client, count: 1, single: { name, internalIp: flags.nodeIp } })
    : await startNodeAgent({ client, flags: {
      ...flags, dataDir: resolve(flags.dataDir), nodeName: name, nodeIp: flags.nodeIp ?? detectNodeIp(),
      kubeletPort: parsePort(flags.kubeletPort, '--kubelet-port'), clientCa: flags.caFile ? readFileSync(flags.caFile, 'utf8') : undefined,
    } });
  console.log(`skiff agent ready: node ${name} joined ${flags.server}`);
  const stop = async () => {
    await node.stop();
    await client.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}
