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
import { addNodeAgentOptions, type NodeAgentFlagValues } from './node-agent-flags.ts';
import { defaultDataDir, detectNodeIp } from './server.ts';

interface AgentFlags extends NodeAgentFlagValues {
  server: string;
  token?: string;
  caFile?: string;
  nodeIp?: string;
  dataDir: string;
  simulated?: boolean;
}

export function agentCommand(): Command {
  const command = new Command('agent')
    .description('Run a worker node that joins the cluster at --server')
    .requiredOption('--server <url>', 'the API server, e.g. https://192.0.2.10:6443')
    .option('--token <token>', 'bearer token to authenticate with (the server\'s DATA/tls/admin.token)')
    .option('--ca-file <path>', 'CA certificate of the server (the server\'s DATA/tls/ca.crt)')
    .option('--node-ip <ip>', 'this node\'s address')
    .option('--data-dir <dir>', 'state directory (images, runtime state, pod files)', defaultDataDir())
    .option('--simulated', 'run a simulated node: pods bound to it run without containers');
  return addNodeAgentOptions(command, 'the agent')
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
      kubeletPort: parsePort(flags.kubeletPort, '--kubelet-port'),
      ingressHttpPort: parsePort(flags.ingressHttpPort, '--ingress-http-port'), ingressHttpsPort: parsePort(flags.ingressHttpsPort, '--ingress-https-port'),
      clientCa: flags.caFile ? readFileSync(flags.caFile, 'utf8') : undefined,
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
