// Test support for controller tests: a real API server in this process, the
// real REST client, the controller manager, and stand-in nodes.
//
// The stand-in nodes are a test-only binder (there is no scheduler in the
// in-process server) plus a minimal "kubelet" that reports bound pods
// Running and Ready and finishes their deletions. The project's hollow
// nodes (src/agent/simulated) do the latter for real, but src/layout.test.ts
// forbids controllers → agent imports, tests included; a re-export under
// test/support would let this file use them instead.
//
// Not a test file itself (no .test.ts): imported by the controllers' tests.
import { startInProcessServer, type InProcessServer } from '../../../test/support/in-process-server.ts';
import { createInformer } from '../../client/informer.ts';
import { isAlreadyExists, isConflict, isNotFound, resources, type ApiClient, type KubeObject } from '../../client/interface.ts';
import { createRestClient } from '../../client/rest-client.ts';
import { createWorkQueue, runWorkers } from '../../client/workqueue.ts';
import type { Logger } from '../framework/controller.ts';
import { rfc3339, type Pod } from '../framework/types.ts';
import { startControllerManager, type ControllerManager, type ControllerManagerOptions } from '../manager.ts';

export const HOLD_LABEL = 'test.skiff.dev/hold';

/**
 * Pods labelled test.skiff.dev/hold=unbound are never bound; =pending are
 * bound but never started; =unready run but never become Ready.
 */
export interface FakeNodesOptions {
  client: ApiClient;
  nodeNames?: string[];
}

export interface FakeNodes {
  readonly nodeNames: readonly string[];
  /** While false, newly started pods stay Running but not Ready (rollouts freeze at a step); ready pods stay ready. Default true. */
  setReady(ready: boolean): void;
  stop(): Promise<void>;
}

interface PodStatusPatch {
  phase: string;
  conditions: { type: string; status: string; lastTransitionTime: string }[];
  podIP: string;
  startTime: string;
}

/**
 * The node a pod's required node affinity pins it to (metadata.name In
 * [node], as DaemonSet pods carry): the binder honours it, as a scheduler
 * would.
 */
function pinnedNode(pod: Pod): string | undefined {
  const affinity = pod.spec?.affinity as { nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: { matchFields?: { key: string; operator: string; values?: string[] }[] }[] } } } | undefined;
  for (const term of affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []) {
    const field = term.matchFields?.find((f) => f.key === 'metadata.name' && f.operator === 'In' && f.values?.length === 1);
    if (field) return field.values![0];
  }
  return undefined;
}

export function startFakeNodes(options: FakeNodesOptions): FakeNodes {
  const { client } = options;
  const nodeNames = options.nodeNames ?? ['node-a', 'node-b', 'node-c'];
  const informer = createInformer<Pod>({ client, ref: resources.pods, logger: { warn() {} } });
  const queue = createWorkQueue<string>();
  let ready = true;
  let next = 0;
  let ip = 0;
  const key = (pod: KubeObject) => `${pod.metadata.namespace}/${pod.metadata.name}`;
  informer.addEventHandler({
    onAdd: (pod) => queue.add(key(pod)),
    onUpdate: (_old, pod) => queue.add(key(pod)),
  });
  const ref = (pod: Pod) => ({ ...resources.pods, namespace: pod.metadata.namespace, name: pod.metadata.name });

  const sync = async (podKey: string) => {
    const [namespace, name] = podKey.split('/');
    const pod = informer.lister.get(namespace, name);
    if (!pod) return;
    const hold = pod.metadata.labels?.[HOLD_LABEL];
    try {
      if (pod.metadata.deletionTimestamp) {
        await client.delete(ref(pod), { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } });
        return;
      }
      if (hold === 'unbound') return;
      if (!pod.spec?.nodeName) {
        const nodeName = pinnedNode(pod) ?? nodeNames[next++ % nodeNames.length];
        await client.create({ ...ref(pod), subresource: 'binding' }, {
          apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace }, target: { apiVersion: 'v1', kind: 'Node', name: nodeName },
        });
        return;
      }
      const phase = pod.status?.phase;
      if (hold === 'pending' || phase === 'Succeeded' || phase === 'Failed') return;
      // A pod once ready stays ready: freezing readiness only holds back pods still starting.
      const wantReady = ready && hold !== 'unready';
      const isReady = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
      if (phase === 'Running' && (isReady || !wantReady)) return;
      const now = rfc3339(new Date());
      const status: PodStatusPatch = {
        phase: 'Running',
        conditions: [
          { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
          { type: 'Initialized', status: 'True', lastTransitionTime: now },
          { type: 'ContainersReady', status: wantReady ? 'True' : 'False', lastTransitionTime: now },
          { type: 'Ready', status: wantReady ? 'True' : 'False', lastTransitionTime: now },
        ],
        podIP: (pod.status?.podIP as string | undefined) ?? `10.42.0.${(ip++ % 250) + 2}`,
        startTime: (pod.status?.startTime as string | undefined) ?? now,
      };
      await client.patch({ ...ref(pod), subresource: 'status' }, 'merge', { status });
    } catch (error) {
      // Gone or changed meanwhile: the informer brings the newer state.
      if (isNotFound(error) || isConflict(error)) return;
      throw error;
    }
  };
  const workers = runWorkers(queue, 4, sync, { onError: () => {} });
  informer.start();
  return {
    nodeNames,
    setReady(value) {
      ready = value;
      for (const k of informer.lister.keys()) queue.add(k);
    },
    async stop() {
      informer.stop();
      queue.shutDown();
      await workers;
    },
  };
}

export interface Harness {
  server: InProcessServer;
  client: ApiClient;
  nodes: FakeNodes;
  manager: ControllerManager;
  /** Warnings the controllers logged. */
  warnings: string[];
  /** Stop the controller manager, run `meanwhile` with no controller watching, then start a new one. */
  restartManager(meanwhile?: () => Promise<void>): Promise<void>;
  /** Create a fresh namespace for one test. */
  namespace(name: string): Promise<string>;
  stop(): Promise<void>;
}

export const quietLogger = (warnings: string[]): Logger => ({ info: (message) => { if (process.env.SHOW_INFO) warnings.push(`info: ${message}`); }, warn: (message) => { warnings.push(message); } });

export function newClient(server: InProcessServer): ApiClient {
  return createRestClient({ server: server.url, caCert: server.caCert, token: server.token });
}

/** Server, client, fake nodes and a controller manager (without leader election unless asked). */
export async function startHarness(options: Partial<Omit<ControllerManagerOptions, 'client'>> = {}): Promise<Harness> {
  const server = await startInProcessServer();
  const client = newClient(server);
  const warnings: string[] = [];
  const nodes = startFakeNodes({ client });
  const start = () => startControllerManager({ client, logger: quietLogger(warnings), ...options });
  const harness: Harness = {
    server, client, nodes, warnings,
    manager: await start(),
    async restartManager(meanwhile) {
      await harness.manager.stop();
      await meanwhile?.();
      harness.manager = await start();
    },
    async namespace(name) {
      await createNamespaceWithServiceAccount(client, name);
      return name;
    },
    async stop() {
      await harness.manager.stop();
      await nodes.stop();
      await client.close();
      await server.close();
    },
  };
  return harness;
}

/**
 * Create a namespace and its `default` ServiceAccount, as the serviceaccount
 * controller would: pods cannot be created without it, and tests must not
 * depend on which controllers run or how fast.
 */
export async function createNamespaceWithServiceAccount(client: ApiClient, name: string): Promise<void> {
  await client.create(resources.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  try {
    await client.create({ group: '', version: 'v1', resource: 'serviceaccounts', namespace: name }, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } });
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
  }
}

export { waitFor } from '../../util/wait-for.ts';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
