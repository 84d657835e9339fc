// The cluster view backed by informers, each listed and watched once per
// agent: Ingresses, IngressClasses, Services, EndpointSlices (indexed by
// Service) and TLS Secrets. Requests and TLS handshakes read memory only.
//
// Secrets: an informer over Secrets with the field selector
// `type=kubernetes.io/tls`, rather than fetching each referenced Secret on
// demand. A reference can appear with any new Ingress, and a handshake must
// not wait for an API round trip (nor fail while the API server is away);
// the watch also delivers renewals (cert-manager rotating a certificate) at
// once. The selector keeps service-account tokens and other credentials out
// of the cache, and a transform keeps only tls.crt / tls.key.
import { createInformer, type Informer } from '../../client/informer.ts';
import type { ApiClient, KubeObject } from '../../client/interface.ts';
import { SERVICE_NAME_LABEL, type EndpointSlice, type Ingress, type IngressClass, type IngressView, type Secret, type Service } from './types.ts';

export interface IngressInformerViewOptions {
  client: ApiClient;
  logger?: { warn(message: string): void };
}

export interface IngressInformerView extends IngressView {
  start(): void;
  /** Resolves true once every informer listed, false when stopped first or after `timeoutMs`. */
  waitForSync(timeoutMs: number): Promise<boolean>;
  stop(): void;
}

const BY_SERVICE = 'service';

const meta = (obj: KubeObject) => ({
  name: obj.metadata.name, namespace: obj.metadata.namespace, uid: obj.metadata.uid,
  resourceVersion: obj.metadata.resourceVersion, labels: obj.metadata.labels,
});

/** Only what routing reads stays in memory. */
const slimService = (svc: Service): Service => ({ metadata: meta(svc), spec: { type: svc.spec?.type, ports: svc.spec?.ports } });
const slimSlice = (slice: EndpointSlice): EndpointSlice => ({
  metadata: meta(slice), addressType: slice.addressType, ports: slice.ports,
  endpoints: (slice.endpoints ?? []).map((e) => ({ addresses: e.addresses, conditions: e.conditions })),
});
const slimSecret = (secret: Secret): Secret => ({
  metadata: { ...meta(secret), labels: undefined }, type: secret.type,
  data: { 'tls.crt': secret.data?.['tls.crt'] ?? '', 'tls.key': secret.data?.['tls.key'] ?? '' },
});

export function createIngressInformerView(options: IngressInformerViewOptions): IngressInformerView {
  const { client, logger } = options;
  const ingresses = createInformer<Ingress>({ client, logger, ref: { group: 'networking.k8s.io', version: 'v1', resource: 'ingresses' } });
  const classes = createInformer<IngressClass>({ client, logger, ref: { group: 'networking.k8s.io', version: 'v1', resource: 'ingressclasses' } });
  const services = createInformer<Service>({ client, logger, ref: { group: '', version: 'v1', resource: 'services' }, transform: slimService });
  const slices = createInformer<EndpointSlice>({
    client, logger, ref: { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices' }, transform: slimSlice,
    indexers: {
      [BY_SERVICE]: (slice) => {
        const name = slice.metadata.labels?.[SERVICE_NAME_LABEL];
        return name ? [`${slice.metadata.namespace}/${name}`] : [];
      },
    },
  });
  const secrets = createInformer<Secret>({
    client, logger, ref: { group: '', version: 'v1', resource: 'secrets' }, fieldSelector: 'type=kubernetes.io/tls', transform: slimSecret,
  });
  const informers = [ingresses, classes, services, slices, secrets] as Informer<KubeObject>[];

  const listeners = new Set<(what: 'routes' | 'secrets') => void>();
  const notify = (what: 'routes' | 'secrets') => {
    for (const listener of listeners) listener(what);
  };
  const watchChanges = (informer: Informer<KubeObject>, what: 'routes' | 'secrets') => informer.addEventHandler({
    onAdd: () => notify(what),
    // A resync hands the same object again: nothing changed.
    onUpdate: (old, obj) => { if (old !== obj) notify(what); },
    onDelete: () => notify(what),
  });
  watchChanges(ingresses as Informer<KubeObject>, 'routes');
  watchChanges(classes as Informer<KubeObject>, 'routes');
  watchChanges(secrets as Informer<KubeObject>, 'secrets');

  return {
    start() { for (const informer of informers) informer.start(); },
    stop() {
      for (const informer of informers) informer.stop();
      listeners.clear();
    },
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
    ingresses: () => ingresses.lister.list(),
    ingressClasses: () => classes.lister.list(),
    service: (namespace, name) => services.lister.get(namespace, name),
    endpointSlices: (namespace, serviceName) => slices.lister.byIndex(BY_SERVICE, `${namespace}/${serviceName}`),
    secret: (namespace, name) => secrets.lister.get(namespace, name),
    onChange(listener) {
      listeners.add(listener);
      return () => { listeners.delete(listener); };
    },
  };
}
