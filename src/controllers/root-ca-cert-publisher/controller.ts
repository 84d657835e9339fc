// root-ca-cert-publisher (kube-controller-manager's controller of that name):
// every active namespace has a ConfigMap "kube-root-ca.crt" whose key
// "ca.crt" holds the cluster CA, so pods can verify the API server's
// certificate (kube-api-access volumes project it). Created when the
// namespace appears, put back when deleted, repaired when edited.
//
// Keys are namespace names. Without a CA (a manager started without one)
// the controller has nothing to publish and watches nothing.
import type { Informer } from '../../client/informer.ts';
import { isAlreadyExists, isNotFound, resources, type KubeObject } from '../../client/interface.ts';
import { Controller, type ControllerOptions } from '../framework/controller.ts';
import { isActive, isForbidden } from '../serviceaccount/controller.ts';

export const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';
export const DESCRIPTION_ANNOTATION = 'kubernetes.io/description';
const DESCRIPTION = 'The cluster CA certificate, for verifying the API server from inside the cluster (kubernetes.default.svc and the service IP).';
const configMapsResource = { group: '', version: 'v1', resource: 'configmaps' } as const;

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

export class RootCaCertPublisher extends Controller {
  readonly name = 'root-ca-cert-publisher';
  protected readonly component = 'root-ca-cert-publisher';
  private readonly rootCa: string | undefined;
  private readonly namespaces: Informer<KubeObject> | undefined;
  private readonly configMaps: Informer<ConfigMap> | undefined;

  constructor(options: ControllerOptions) {
    super(options);
    this.rootCa = options.rootCaCert;
    if (!this.rootCa) return;
    this.namespaces = this.watch<KubeObject>(resources.namespaces, {
      onAdd: (ns) => this.enqueue(ns.metadata.name!),
      onUpdate: (_old, ns) => this.enqueue(ns.metadata.name!),
    });
    const ours = (cm: ConfigMap) => { if (cm.metadata.name === ROOT_CA_CONFIGMAP) this.enqueue(cm.metadata.namespace!); };
    this.configMaps = this.watch<ConfigMap>(configMapsResource, {
      onUpdate: (_old, cm) => ours(cm),
      onDelete: (cm) => ours(cm),
    });
  }

  protected async sync(namespace: string): Promise<void> {
    if (!this.rootCa || !this.namespaces || !this.configMaps) return;
    const ns = this.namespaces.lister.get(undefined, namespace);
    if (!ns || !isActive(ns)) return;
    const data = { 'ca.crt': this.rootCa };
    const current = this.configMaps.lister.get(namespace, ROOT_CA_CONFIGMAP);
    try {
      if (!current) {
        await this.client.create({ ...configMapsResource, namespace }, {
          apiVersion: 'v1', kind: 'ConfigMap',
          metadata: { name: ROOT_CA_CONFIGMAP, annotations: { [DESCRIPTION_ANNOTATION]: DESCRIPTION } },
          data,
        });
        return;
      }
      if (sameData(current.data, data) && current.metadata.annotations?.[DESCRIPTION_ANNOTATION]) return;
      // Only the data and the one annotation are ours; labels and other annotations stay.
      const repaired = structuredClone(current);
      repaired.data = data;
      repaired.metadata.annotations = { ...repaired.metadata.annotations, [DESCRIPTION_ANNOTATION]: DESCRIPTION };
      await this.client.update({ ...configMapsResource, namespace, name: ROOT_CA_CONFIGMAP }, repaired);
    } catch (error) {
      // The namespace is gone or terminating: nothing to publish. AlreadyExists: the cache was behind; the event brings it.
      if (isNotFound(error) || isForbidden(error) || isAlreadyExists(error)) return;
      throw error;
    }
  }
}

function sameData(a: Record<string, string> | undefined, b: Record<string, string>): boolean {
  const keys = Object.keys(a ?? {});
  return keys.length === Object.keys(b).length && keys.every((k) => a![k] === b[k]);
}
