// Test support for the Job, TTL and CronJob controller tests (not a test
// file itself): a testbed with a real in-process API server, the real
// client, the stand-in nodes of ../testing/harness.ts and controllers built
// here with test timings (the controller manager builds them with the
// production ones), and `finishPod`, which plays the kubelet reporting a
// pod's containers exited with a given code.
import { isConflict, resources, type ApiClient } from '../../client/interface.ts';
import type { RunningController } from '../framework/controller.ts';
import { createSharedInformers, type SharedInformers } from '../framework/informers.ts';
import { rfc3339, type Pod } from '../framework/types.ts';
import { createNamespaceWithServiceAccount, newClient, quietLogger, startFakeNodes, waitFor, type FakeNodes } from '../testing/harness.ts';
import { startInProcessServer, type InProcessServer } from '../../../test/support/in-process-server.ts';
import type { Logger } from '../framework/controller.ts';

export interface Testbed {
  server: InProcessServer;
  client: ApiClient;
  nodes: FakeNodes;
  warnings: string[];
  logger: Logger;
  /** Build controllers on fresh shared informers and run them; replaces those running. */
  startControllers(make: (informers: SharedInformers) => RunningController[]): Promise<void>;
  stopControllers(): Promise<void>;
  namespace(name: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startTestbed(): Promise<Testbed> {
  const server = await startInProcessServer();
  const client = newClient(server);
  const nodes = startFakeNodes({ client });
  const warnings: string[] = [];
  const logger = quietLogger(warnings);
  let running: { informers: SharedInformers; controllers: RunningController[]; runs: Promise<void>[] } | undefined;
  const testbed: Testbed = {
    server, client, nodes, warnings, logger,
    async startControllers(make) {
      await testbed.stopControllers();
      const informers = createSharedInformers({ client, logger });
      const controllers = make(informers);
      informers.start();
      running = { informers, controllers, runs: controllers.map((c) => c.run()) };
    },
    async stopControllers() {
      const current = running;
      running = undefined;
      if (!current) return;
      await Promise.all(current.controllers.map((c) => c.stop()));
      current.informers.stop();
      await Promise.all(current.runs);
    },
    async namespace(name) {
      await createNamespaceWithServiceAccount(client, name);
      return name;
    },
    async stop() {
      await testbed.stopControllers();
      await nodes.stop();
      await client.close();
      await server.close();
    },
  };
  return testbed;
}

const isRunningReady = (pod: Pod) => pod.status?.phase === 'Running' && (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

/**
 * Report the pod's containers as exited with `exitCode` (0: Succeeded,
 * else Failed), as a kubelet would. Waits until the stand-in kubelet has
 * the pod Running and Ready first, so that it never overwrites the outcome.
 */
export async function finishPod(client: ApiClient, pod: Pod, exitCode: number): Promise<Pod> {
  const ref = { ...resources.pods, namespace: pod.metadata.namespace, name: pod.metadata.name };
  for (;;) {
    const current = await waitFor(`pod ${pod.metadata.name} running`, async () => {
      const p = await client.get<Pod>(ref);
      return isRunningReady(p) && p;
    });
    const now = rfc3339(new Date());
    const containers = ((current.spec?.containers ?? []) as { name: string; image?: string }[]);
    const status = {
      ...current.status,
      phase: exitCode === 0 ? 'Succeeded' : 'Failed',
      conditions: (current.status?.conditions ?? []).map((c) => (c.type === 'Ready' || c.type === 'ContainersReady' ? { ...c, status: 'False', lastTransitionTime: now } : c)),
      containerStatuses: containers.map((c) => ({
        name: c.name, image: c.image ?? '', imageID: '', ready: false, restartCount: 0, started: false,
        state: { terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt: current.status?.startTime ?? now, finishedAt: now } },
      })),
    };
    try {
      return await client.update<Pod>({ ...ref, subresource: 'status' }, { ...current, status });
    } catch (error) {
      if (!isConflict(error)) throw error;
    }
  }
}
