// Defaults for core/v1 kinds (upstream pkg/apis/core/v1 defaults plus the
// bits of the core registry strategies that behave like defaulting: service
// IP family selection, namespace finalizers, secret stringData).
import { defaultPVCSpec, defaultPodSpec, defaultPodTemplate, setDefault } from './pod.ts';

type Obj = Record<string, any>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);
const spec = (o: Obj): Obj => (isObj(o.spec) ? o.spec : (o.spec = {}));

export interface CoreDefaultOptions {
  /** Primary service IP family of the cluster (single-stack clusters have only this one). */
  serviceIPFamily?: 'IPv4' | 'IPv6';
}

export function defaultPod(pod: Obj): void {
  defaultPodSpec(spec(pod), { isPod: true });
}

export function defaultPodTemplateObject(pt: Obj): void {
  if (!isObj(pt.template)) pt.template = {};
  defaultPodTemplate(pt.template);
}

export function defaultReplicationController(rc: Obj): void {
  const s = spec(rc);
  const labels = s.template?.metadata?.labels;
  if (isObj(labels)) {
    if (!isObj(s.selector) || Object.keys(s.selector).length === 0) s.selector = { ...labels };
    if (!isObj(rc.metadata?.labels) || Object.keys(rc.metadata.labels).length === 0) {
      rc.metadata = { ...(rc.metadata ?? {}), labels: { ...labels } };
    }
  }
  if (s.replicas == null) s.replicas = 1;
  if (isObj(s.template)) defaultPodTemplate(s.template);
}

const DEFAULT_CLIENT_IP_TIMEOUT = 10800;

export function defaultService(svc: Obj, options: CoreDefaultOptions = {}): void {
  const s = spec(svc);
  setDefault(s, 'sessionAffinity', 'None');
  if (s.sessionAffinity === 'None') delete s.sessionAffinityConfig;
  if (s.sessionAffinity === 'ClientIP' && s.sessionAffinityConfig?.clientIP?.timeoutSeconds == null) {
    s.sessionAffinityConfig = { clientIP: { timeoutSeconds: DEFAULT_CLIENT_IP_TIMEOUT } };
  }
  setDefault(s, 'type', 'ClusterIP');
  for (const p of list(s.ports)) {
    setDefault(p, 'protocol', 'TCP');
    if (p.targetPort === undefined || p.targetPort === null || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
  }
  const externallyAccessible =
    s.type === 'LoadBalancer' || s.type === 'NodePort' || (s.type === 'ClusterIP' && Array.isArray(s.externalIPs) && s.externalIPs.length > 0);
  if (externallyAccessible) setDefault(s, 'externalTrafficPolicy', 'Cluster');
  if (s.internalTrafficPolicy == null && ['NodePort', 'LoadBalancer', 'ClusterIP'].includes(s.type)) s.internalTrafficPolicy = 'Cluster';
  if (s.type === 'LoadBalancer') {
    if (s.allocateLoadBalancerNodePorts == null) s.allocateLoadBalancerNodePorts = true;
    for (const ing of list(svc.status?.loadBalancer?.ingress)) if (ing.ip && ing.ipMode == null) ing.ipMode = 'VIP';
  }
  defaultServiceIPFields(svc, options);
}

/**
 * The registry strategy's normalisation (clusterIP ⇄ clusterIPs) and IP
 * family choice. Address allocation itself is the API server's job.
 */
function defaultServiceIPFields(svc: Obj, options: CoreDefaultOptions): void {
  const s = svc.spec;
  if (s.type === 'ExternalName') return;
  if (s.clusterIP && !(Array.isArray(s.clusterIPs) && s.clusterIPs.length)) s.clusterIPs = [s.clusterIP];
  else if (!s.clusterIP && Array.isArray(s.clusterIPs) && s.clusterIPs.length) s.clusterIP = s.clusterIPs[0];
  const family = options.serviceIPFamily ?? 'IPv4';
  const headlessSelectorless = s.clusterIP === 'None' && !(isObj(s.selector) && Object.keys(s.selector).length);
  if (!Array.isArray(s.ipFamilies) || s.ipFamilies.length === 0) {
    // A given cluster IP decides its own family.
    const ip = s.clusterIP && s.clusterIP !== 'None' ? String(s.clusterIP) : '';
    s.ipFamilies = [ip ? (ip.includes(':') ? 'IPv6' : 'IPv4') : family];
  }
  // Headless services without a selector list endpoints of any family.
  if (s.ipFamilyPolicy == null) s.ipFamilyPolicy = headlessSelectorless ? 'RequireDualStack' : 'SingleStack';
}

/**
 * Keeps what the server allocated when an update (e.g. `kubectl replace`)
 * leaves it out, as upstream's service strategy does before validation.
 */
export function preserveServiceAllocations(options: { object: any; oldObject: any }): void {
  const s = options.object?.spec;
  const old = options.oldObject?.spec;
  if (!isObj(s) || !isObj(old)) return;
  if (s.type !== 'ExternalName' && old.type !== 'ExternalName') {
    if (!s.clusterIP && old.clusterIP) s.clusterIP = old.clusterIP;
    if (!(Array.isArray(s.clusterIPs) && s.clusterIPs.length) && old.clusterIPs) s.clusterIPs = [...old.clusterIPs];
    if (!(Array.isArray(s.ipFamilies) && s.ipFamilies.length) && old.ipFamilies) s.ipFamilies = [...old.ipFamilies];
    if (s.ipFamilyPolicy == null && old.ipFamilyPolicy) s.ipFamilyPolicy = old.ipFamilyPolicy;
  }
  const oldPorts = list(old.ports);
  for (const p of list(s.ports)) {
    if (p.nodePort) continue;
    const match = oldPorts.find((o) => o.port === p.port && (o.protocol ?? 'TCP') === (p.protocol ?? 'TCP'));
    if (match?.nodePort && (s.type === 'NodePort' || s.type === 'LoadBalancer')) p.nodePort = match.nodePort;
  }
  if (!s.healthCheckNodePort && old.healthCheckNodePort && s.type === 'LoadBalancer' && s.externalTrafficPolicy === 'Local') {
    s.healthCheckNodePort = old.healthCheckNodePort;
  }
}

export function defaultNamespace(ns: Obj, options: { operation?: 'create' | 'update' } = {}): void {
  const name = ns.metadata?.name;
  // Nameless (generateName) namespaces get the label once the name exists.
  if (typeof name === 'string' && name) {
    ns.metadata.labels = { ...(ns.metadata.labels ?? {}), 'kubernetes.io/metadata.name': name };
  }
  // On create the namespace strategy makes sure the namespace controller
  // finalizes it. Never on update: the controller removes this finalizer
  // while deleting, and re-adding it would keep the namespace forever.
  const s = spec(ns);
  const finalizers: string[] = Array.isArray(s.finalizers) ? s.finalizers : [];
  if (options.operation !== 'update' && !finalizers.includes('kubernetes')) s.finalizers = [...finalizers, 'kubernetes'];
  if (!isObj(ns.status)) ns.status = {};
  setDefault(ns.status, 'phase', 'Active');
}

export function defaultSecret(secret: Obj): void {
  setDefault(secret, 'type', 'Opaque');
  // stringData is write-only: upstream's conversion merges it into data (it wins over data).
  if (isObj(secret.stringData)) {
    secret.data = { ...(isObj(secret.data) ? secret.data : {}) };
    for (const [k, v] of Object.entries(secret.stringData)) secret.data[k] = Buffer.from(String(v), 'utf8').toString('base64');
    delete secret.stringData;
  }
}

export function defaultPVC(pvc: Obj): void {
  defaultPVCSpec(spec(pvc));
  if (!isObj(pvc.status)) pvc.status = {};
  setDefault(pvc.status, 'phase', 'Pending');
}

export function defaultPV(pv: Obj): void {
  const s = spec(pv);
  setDefault(s, 'persistentVolumeReclaimPolicy', 'Retain');
  setDefault(s, 'volumeMode', 'Filesystem');
  if (isObj(s.hostPath) && s.hostPath.type == null) s.hostPath.type = '';
  if (!isObj(pv.status)) pv.status = {};
  setDefault(pv.status, 'phase', 'Pending');
}

export function defaultEndpoints(ep: Obj): void {
  for (const ss of list(ep.subsets)) for (const p of list(ss.ports)) setDefault(p, 'protocol', 'TCP');
}

export function defaultNode(node: Obj): void {
  const status = node.status;
  if (isObj(status) && status.allocatable == null && isObj(status.capacity)) status.allocatable = { ...status.capacity };
}

export function defaultLimitRange(lr: Obj): void {
  for (const item of list(lr.spec?.limits)) {
    if (item.type !== 'Container') continue;
    item.default ??= {};
    item.defaultRequest ??= {};
    // max → default limit → default request; min → default request.
    for (const [k, v] of Object.entries(item.max ?? {})) if (!(k in item.default)) item.default[k] = v;
    for (const [k, v] of Object.entries(item.default)) if (!(k in item.defaultRequest)) item.defaultRequest[k] = v;
    for (const [k, v] of Object.entries(item.min ?? {})) if (!(k in item.defaultRequest)) item.defaultRequest[k] = v;
    // Empty maps are omitted when upstream serialises them.
    if (Object.keys(item.default).length === 0) delete item.default;
    if (Object.keys(item.defaultRequest).length === 0) delete item.defaultRequest;
  }
}
