// Defaults for PodSpecs, wherever they appear (Pods and every pod template).
// Mirrors what upstream's generated defaulters do for a v1 PodSpec; a few
// defaults apply to real Pods only (isPod), because upstream applies them in
// SetDefaults_Pod rather than SetDefaults_PodSpec so that existing
// controllers' templates do not change when the API server is upgraded.

type Obj = Record<string, any>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);

/** Sets `obj[key]` when it is absent, null or "" (Go's zero value for strings). */
export function setDefault(obj: Obj, key: string, value: unknown): void {
  if (obj[key] === undefined || obj[key] === null || obj[key] === '') obj[key] = value;
}

const DOCKER_NAME = /^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;

/**
 * The tag of an image reference as the kubelet's parser sees it: "latest"
 * when neither tag nor digest is given, "" for a digest-only or unparsable
 * reference.
 */
export function imageTag(image: string): string {
  let rest = image;
  let digest = '';
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag = '';
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) return '';
  }
  if (!DOCKER_NAME.test(rest)) return '';
  if (!tag && !digest) return 'latest';
  return tag;
}

/** Always for `:latest` (or no tag), IfNotPresent otherwise. */
export const defaultPullPolicy = (image: unknown): string =>
  imageTag(typeof image === 'string' ? image : '') === 'latest' ? 'Always' : 'IfNotPresent';

function defaultHTTPGet(action: unknown): void {
  if (!isObj(action)) return;
  setDefault(action, 'path', '/');
  setDefault(action, 'scheme', 'HTTP');
}

function defaultProbe(probe: unknown): void {
  if (!isObj(probe)) return;
  // Zero means "unset" for these int32 fields upstream.
  if (!probe.timeoutSeconds) probe.timeoutSeconds = 1;
  if (!probe.periodSeconds) probe.periodSeconds = 10;
  if (!probe.successThreshold) probe.successThreshold = 1;
  if (!probe.failureThreshold) probe.failureThreshold = 3;
  defaultHTTPGet(probe.httpGet);
  if (isObj(probe.grpc) && probe.grpc.service == null) probe.grpc.service = '';
}

function defaultFieldRef(ref: unknown): void {
  if (isObj(ref)) setDefault(ref, 'apiVersion', 'v1');
}

function defaultContainer(c: Obj): void {
  setDefault(c, 'imagePullPolicy', defaultPullPolicy(c.image));
  setDefault(c, 'terminationMessagePath', '/dev/termination-log');
  setDefault(c, 'terminationMessagePolicy', 'File');
  for (const port of list(c.ports)) setDefault(port, 'protocol', 'TCP');
  for (const env of list(c.env)) defaultFieldRef(env.valueFrom?.fieldRef);
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
  if (isObj(c.lifecycle)) {
    defaultHTTPGet(c.lifecycle.postStart?.httpGet);
    defaultHTTPGet(c.lifecycle.preStop?.httpGet);
  }
}

const VOLUME_SOURCES = [
  'hostPath', 'emptyDir', 'gcePersistentDisk', 'awsElasticBlockStore', 'gitRepo', 'secret', 'nfs', 'iscsi', 'glusterfs',
  'persistentVolumeClaim', 'rbd', 'flexVolume', 'cinder', 'cephfs', 'flocker', 'downwardAPI', 'fc', 'azureFile',
  'configMap', 'vsphereVolume', 'quobyte', 'azureDisk', 'photonPersistentDisk', 'projected', 'portworxVolume', 'scaleIO',
  'storageos', 'csi', 'ephemeral', 'image',
];

const FILE_MODE = 0o644; // 420

function defaultVolume(v: Obj): void {
  if (!VOLUME_SOURCES.some((s) => v[s] != null)) v.emptyDir = {};
  if (isObj(v.hostPath) && v.hostPath.type == null) v.hostPath.type = '';
  if (isObj(v.secret) && v.secret.defaultMode == null) v.secret.defaultMode = FILE_MODE;
  if (isObj(v.configMap) && v.configMap.defaultMode == null) v.configMap.defaultMode = FILE_MODE;
  if (isObj(v.downwardAPI)) {
    if (v.downwardAPI.defaultMode == null) v.downwardAPI.defaultMode = FILE_MODE;
    for (const item of list(v.downwardAPI.items)) defaultFieldRef(item.fieldRef);
  }
  if (isObj(v.projected)) {
    if (v.projected.defaultMode == null) v.projected.defaultMode = FILE_MODE;
    for (const src of list(v.projected.sources)) {
      for (const item of list(src.downwardAPI?.items)) defaultFieldRef(item.fieldRef);
      if (isObj(src.serviceAccountToken) && src.serviceAccountToken.expirationSeconds == null) {
        src.serviceAccountToken.expirationSeconds = 3600;
      }
    }
  }
  if (isObj(v.iscsi)) setDefault(v.iscsi, 'iscsiInterface', 'default');
  if (isObj(v.rbd)) {
    setDefault(v.rbd, 'pool', 'rbd');
    setDefault(v.rbd, 'user', 'admin');
    setDefault(v.rbd, 'keyring', '/etc/ceph/keyring');
  }
  if (isObj(v.azureDisk)) {
    setDefault(v.azureDisk, 'cachingMode', 'ReadWrite');
    setDefault(v.azureDisk, 'fsType', 'ext4');
    if (v.azureDisk.readOnly == null) v.azureDisk.readOnly = false;
    setDefault(v.azureDisk, 'kind', 'Shared');
  }
  if (isObj(v.scaleIO)) {
    setDefault(v.scaleIO, 'storageMode', 'ThinProvisioned');
    setDefault(v.scaleIO, 'fsType', 'xfs');
  }
  if (isObj(v.ephemeral?.volumeClaimTemplate?.spec)) defaultPVCSpec(v.ephemeral.volumeClaimTemplate.spec);
  if (isObj(v.image)) setDefault(v.image, 'pullPolicy', defaultPullPolicy(v.image.reference));
}

export function defaultPVCSpec(spec: Obj): void {
  setDefault(spec, 'volumeMode', 'Filesystem');
}

/** SetDefaults_PodSpec plus the per-container/volume defaults every PodSpec gets. */
export function defaultPodSpec(spec: Obj, options: { isPod: boolean }): void {
  setDefault(spec, 'dnsPolicy', 'ClusterFirst');
  setDefault(spec, 'restartPolicy', 'Always');
  if (spec.securityContext == null) spec.securityContext = {};
  if (spec.terminationGracePeriodSeconds == null) spec.terminationGracePeriodSeconds = 30;
  setDefault(spec, 'schedulerName', 'default-scheduler');
  for (const v of list(spec.volumes)) defaultVolume(v);
  for (const c of [...list(spec.initContainers), ...list(spec.containers), ...list(spec.ephemeralContainers)]) defaultContainer(c);
  if (options.isPod) defaultPodOnly(spec);
}

/** SetDefaults_Pod: only for Pod objects, never templates. */
function defaultPodOnly(spec: Obj): void {
  // Limits without requests: requests default to the limits.
  for (const c of [...list(spec.containers), ...list(spec.initContainers)]) {
    const limits = c.resources?.limits;
    if (!isObj(limits)) continue;
    const requests = (c.resources.requests ??= {});
    for (const [k, v] of Object.entries(limits)) if (!(k in requests)) requests[k] = v;
  }
  if (spec.enableServiceLinks == null) spec.enableServiceLinks = true;
  if (spec.hostNetwork === true) {
    for (const c of [...list(spec.containers), ...list(spec.initContainers)]) {
      for (const port of list(c.ports)) if (!port.hostPort) port.hostPort = port.containerPort;
    }
  }
}

/** A PodTemplateSpec (`{metadata, spec}`) inside a controller. */
export function defaultPodTemplate(template: unknown): void {
  if (!isObj(template)) return;
  if (!isObj(template.spec)) template.spec = {};
  defaultPodSpec(template.spec, { isPod: false });
}
