// The cluster view backed by informers: Services, EndpointSlices and
// Namespaces (and Pods, only for `pods verified`), each listed and watched
// once, with indexes for the lookups a query needs. A query reads memory only.
import { createInformer, type Informer } from '../../client/informer.ts';
import type { ApiClient, KubeObject } from '../../client/interface.ts';
import { normalizeIp } from './names.ts';
import { clusterIps, podIps, SERVICE_NAME_LABEL, type ClusterView, type DnsEndpointSlice, type DnsPod, type DnsService } from './types.ts';

export interface InformerViewOptions {
  client: ApiClient;
  /** Watch pods too (for `pods verified`). */
  watchPods: boolean;
  logger?: { warn(message: string): void };
}

export interface InformerView extends ClusterView {
  start(): void;
  /** Resolves true once every informer listed, false when stopped first or after `timeoutMs`. */
  waitForSync(timeoutMs: number): Promise<boolean>;
  stop(): void;
}

const BY_CLUSTER_IP = 'clusterIP';
const BY_SERVICE = 'service';
const BY_ADDRESS = 'address';
const BY_POD_IP = 'podIP';

/** Pods only matter by namespace and address: keep nothing else in memory. */
function slimPod(pod: DnsPod): DnsPod {
  return {
    apiVersion: pod.apiVersion,
    kind: pod.kind,
    metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace, resourceVersion: pod.metadata.resourceVersion },
    status: { podIP: pod.status?.podIP, podIPs: pod.status?.podIPs },
  };
}

export function createInformerView(options: InformerViewOptions): InformerView {
  const { client, logger } = options;
  const services = createInformer<DnsService>({
    client, logger, ref: { group: '', version: 'v1', resource: 'services' },
    indexers: { [BY_CLUSTER_IP]: (svc) => clusterIps(svc).map(normalizeIp) },
  });
  const slices = createInformer<DnsEndpointSlice>({
    client, logger, ref: { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices' },
    indexers: {
      [BY_SERVICE]: (slice) => {
        const name = slice.metadata.labels?.[SERVICE_NAME_LABEL];
        return name ? [`${slice.metadata.namespace}/${name}`] : [];
      },
      [BY_ADDRESS]: (slice) => (slice.endpoints ?? []).flatMap((e) => (e.addresses ?? []).map(normalizeIp)),
    },
  });
  const namespaces = createInformer<KubeObject>({ client, logger, ref: { group: '', version: 'v1', resource: 'namespaces' }, metadataOnly: true });
  const pods = options.watchPods
    ? createInformer<DnsPod>({
        client, logger, ref: { group: '', version: 'v1', resource: 'pods' }, transform: slimPod,
        indexers: { [BY_POD_IP]: (pod) => podIps(pod).map(normalizeIp) },
      })
    : undefined;
  const informers: Informer<KubeObject>[] = [services, slices, namespaces, ...(pods ? [pods] : [])] as Informer<KubeObject>[];

  // The SOA serial: when the zone's content last changed.
  let lastChange = Math.floor(Date.now() / 1000);
  const touch = () => { lastChange = Math.floor(Date.now() / 1000); };
  for (const informer of [services, slices, namespaces] as Informer<KubeObject>[]) {
    informer.addEventHandler({ onAdd: touch, onUpdate: (old, obj) => { if (old !== obj) touch(); }, onDelete: touch });
  }

  return {
    start() { for (const informer of informers) informer.start(); },
    stop() { for (const informer of informers) informer.stop(); },
    async waitForSync(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs); });
      try {
        return await Promise.race([Promise.all(informers.map((i) => i.waitForSync())).then((all) => all.every(Boolean)), timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    hasSynced: () => informers.every((i) => i.hasSynced()),
    namespaceExists: (namespace) => namespaces.lister.get(undefined, namespace) !== undefined,
    service: (namespace, name) => services.lister.get(namespace, name),
    endpointSlices: (namespace, serviceName) => slices.lister.byIndex(BY_SERVICE, `${namespace}/${serviceName}`),
    servicesByClusterIp: (ip) => services.lister.byIndex(BY_CLUSTER_IP, ip),
    endpointSlicesByAddress: (ip) => slices.lister.byIndex(BY_ADDRESS, ip),
    podsByIp: (ip) => (pods ? pods.lister.byIndex(BY_POD_IP, ip) : []),
    lastChangeSeconds: () => lastChange,
  };
}
