// `skiff agent`: a worker node that joins a cluster through the API server
// (`--server URL --token T`). Real containers come with the node agent; today
// the agent runs a simulated node (`--simulated`): it registers its Node,
// heartbeats a Lease and runs pods bound to it without containers.
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { startSimulatedNodes } from '../agent/simulated/index.ts';
import { createRestClient } from '../client/rest-client.ts';

interface AgentFlags {
  server: string;
  token?: string;
  caFile?: string;
  nodeName?: string;
  nodeIp?: string;
  dataDir?: string;
  simulated?: boolean;
}

export function agentCommand(): Command {
  return new Command('agent')
    .description('Run a worker node that joins the cluster at --server')
    .requiredOption('--server <url>', 'the API server, e.g. https://192.0.2.10:6443')
    .option('--token <token>', 'bearer token to authenticate with (the server\'s DATA/tls/admin.token)')
    .option('--ca-file <path>', 'CA certificate of the server (the server\'s DATA/tls/ca.crt)')
    .option('--node-name <name>', 'this node\'s name (default: the hostname)')
    .option('--node-ip <ip>', 'this node\'s address')
    .option('--data-dir <dir>', 'state directory (unused by simulated nodes)')
    .option('--simulated', 'run a simulated node: pods bound to it run without containers')
    .action(async (flags: AgentFlags) => {
      await runAgent(flags);
    });
}

async function runAgent(flags: AgentFlags): Promise<void> {
  if (!flags.simulated) {
    throw new Error('skiff agent: only --simulated nodes are available so far (real containers come with the node agent)');
  }
  const client = createRestClient({
    server: flags.server,
    token: flags.token,
    caCert: flags.caFile ? readFileSync(flags.caFile, 'utf8') : undefined,
    userAgent: 'skiff-agent/v1.36.0-skiff',
  });
  const name = flags.nodeName ?? hostname();
  const node = await startSimulatedNodes({ client, count: 1, single: { name, internalIp: flags.nodeIp } });
  console.log(`skiff agent ready: node ${name} joined ${flags.server}`);
  const stop = async () => {
    await node.stop();
    await client.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}
