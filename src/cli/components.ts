// The components `skiff server` runs beside the API server. Each is an API
// client like any other: it reaches the server over HTTPS on loopback with
// the admin credentials, never through a side door into storage.
import { createRestClient, type RestClient } from '../client/rest-client.ts';
import { startSimulatedNodes, type SimulatedNodesSpec } from '../agent/simulated/index.ts';
import type { SchedulerConfiguration } from '../scheduler/config.ts';
import { startLeaderElectedScheduler } from '../scheduler/leader-elected.ts';
import { startControllerManager } from '../controllers/manager.ts';
import type { ControllerTuning } from '../controllers/framework/controller.ts';
import { nodeAgentProblems, startNodeAgent, type NodeAgentFlags } from './node-agent.ts';

export interface ComponentsOptions {
  /** https://127.0.0.1:PORT of the API server. */
  server: string;
  caCert: string;
  token: string;
  clusterCidr: string;
  /** Hollow nodes to register (--simulated-nodes). */
  simulatedNodes?: SimulatedNodesSpec;
  /** The scheduler's configuration (--scheduler-config); undefined = default profile. */
  schedulerConfig?: SchedulerConfiguration;
  /** Run the scheduler (on by default). */
  scheduler?: boolean;
  /** --controllers: "*" (default), "*,-deployment", "replicaset,deployment" … ; "" disables the controller manager. */
  controllers?: string;
  /** --node-monitor-grace-period, --node-eviction-rate, --terminated-pod-gc-threshold … */
  controllerTuning?: ControllerTuning;
  /** The local node agent (unless --disable-agent); skipped with a warning where it cannot run. */
  localAgent?: NodeAgentFlags;
}

export interface RunningComponents {
  stop(): Promise<void>;
}

/**
 * Hollow nodes renew their Lease every 10 s, as kubelets do — or, under a
 * --node-monitor-grace-period shorter than 40 s, four times per grace period,
 * so a short grace (tests) marks only the nodes that really stopped.
 */
function simulatedHeartbeatMs(tuning: ControllerTuning | undefined): number {
  const grace = tuning?.nodeMonitorGracePeriodMs;
  return grace === undefined ? 10_000 : Math.max(100, Math.min(10_000, Math.floor(grace / 4)));
}

export async function startComponents(options: ComponentsOptions): Promise<RunningComponents> {
  const clients: RestClient[] = [];
  const stoppers: (() => Promise<void>)[] = [];
  const clientFor = (component: string) => {
    const client = createRestClient({ server: options.server, caCert: options.caCert, token: options.token, userAgent: `${component}/v1.36.0-skiff` });
    clients.push(client);
    return client;
  };
  const stop = async () => {
    // Newest first: components stop before the clients they use.
    for (const s of stoppers.reverse()) await s().catch((error) => console.error(`stopping a component: ${(error as Error).message}`));
    for (const c of clients) await c.close().catch(() => {});
  };
  try {
    if (options.scheduler !== false) {
      // Leader election on a Lease, as the controller manager's: one scheduler binds at a time.
      const scheduler = await startLeaderElectedScheduler({ client: clientFor('default-scheduler'), config: options.schedulerConfig });
      stoppers.push(() => scheduler.stop());
    }
    if (options.controllers !== '') {
      // Leader election on a Lease, so several servers on one datastore run one manager at a time.
      const manager = await startControllerManager({ client: clientFor('kube-controller-manager'), controllers: options.controllers ?? '*', rootCaCert: options.caCert, tuning: options.controllerTuning, leaderElection: true });
      stoppers.push(() => manager.stop());
    }
    if (options.simulatedNodes) {
      const sim = await startSimulatedNodes({
        client: clientFor('skiff-simulated-nodes'),
        count: options.simulatedNodes.count,
        capacity: options.simulatedNodes.capacity,
        clusterCidr: options.clusterCidr,
        heartbeatIntervalMs: simulatedHeartbeatMs(options.controllerTuning),
        warn: (message) => console.error(`simulated nodes: ${message}`),
      });
      stoppers.push(() => sim.stop());
    }
    if (options.localAgent) {
      const problems = nodeAgentProblems(options.localAgent.runtime);
      if (problems.length) {
        console.error(`skiff server: warning: running without a local node agent (${problems.join('; ')}); use --disable-agent to silence this`);
      } else {
        const agent = await startNodeAgent({ client: clientFor('kubelet'), flags: { clientCa: options.caCert, ...options.localAgent } });
        stoppers.push(() => agent.stop());
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { stop };
}
