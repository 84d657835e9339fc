// ServiceAccount admission (upstream plugin/pkg/admission/serviceaccount), on
// pod CREATE:
// - spec.serviceAccountName defaults to "default" (and the deprecated
//   spec.serviceAccount mirrors it, as v1 conversion does);
// - the ServiceAccount must exist (403 otherwise; "default" is retried for a
//   second or two, since the serviceaccount controller creates it just after
//   the namespace);
// - unless automountServiceAccountToken is false (pod first, then the SA),
//   a projected "kube-api-access-xxxxx" volume (token, kube-root-ca.crt's
//   ca.crt, the namespace) is added and mounted read-only at
//   /var/run/secrets/kubernetes.io/serviceaccount in every container and init
//   container that has nothing mounted there;
// - a pod without imagePullSecrets gets the ServiceAccount's.
// Mirror pods (static pods the kubelet reports) are never changed, and may not
// reference service accounts, secrets or token projections. A ServiceAccount
// annotated kubernetes.io/enforce-mountable-secrets=true limits the secrets its
// pods may reference to those it lists.
import { errors } from '../errors.ts';
import { randomSuffix, type KubeObject } from '../registry/resource-store.ts';
import { isCoreKind, type AdmissionAttributes, type AdmissionPlugin } from './chain.ts';

export const DEFAULT_SERVICE_ACCOUNT = 'default';
export const SERVICE_ACCOUNT_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
const VOLUME_PREFIX = 'kube-api-access-';
const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';
const ENFORCE_MOUNTABLE_SECRETS_ANNOTATION = 'kubernetes.io/enforce-mountable-secrets';
/** Upstream's token lifetime in admission-made volumes: an hour and 7 s marks them as extendable. */
const TOKEN_EXPIRATION_SECONDS = 3607;
const DEFAULT_ACCOUNT_ATTEMPTS = 10;

type Obj = Record<string, any>;

interface ServiceAccount extends KubeObject {
  automountServiceAccountToken?: boolean;
  secrets?: { name?: string }[];
  imagePullSecrets?: { name?: string }[];
}

/** The ServiceAccount admit found, so validate does not read it again. */
const admittedAccounts = new WeakMap<KubeObject, ServiceAccount>();

export const serviceAccountAdmission: AdmissionPlugin = {
  name: 'ServiceAccount',
  async admit(attributes) {
    if (!appliesTo(attributes)) return;
    const pod = attributes.object!;
    const spec: Obj = (pod.spec ??= {});
    if (!spec.serviceAccountName && spec.serviceAccount) spec.serviceAccountName = spec.serviceAccount;
    if (isMirrorPod(pod)) return;
    spec.serviceAccountName ||= DEFAULT_SERVICE_ACCOUNT;
    spec.serviceAccount = spec.serviceAccountName;
    const account = await getServiceAccount(attributes, spec.serviceAccountName);
    admittedAccounts.set(pod, account);
    if (shouldAutomount(account, spec)) mountServiceAccountToken(spec);
    if (!Array.isArray(spec.imagePullSecrets) || spec.imagePullSecrets.length === 0) {
      spec.imagePullSecrets = (account.imagePullSecrets ?? []).map((s) => ({ name: s.name }));
      if (spec.imagePullSecrets.length === 0) delete spec.imagePullSecrets;
    }
  },
  async validate(attributes) {
    if (!appliesTo(attributes)) return;
    const pod = attributes.object!;
    const spec: Obj = pod.spec ?? {};
    if (isMirrorPod(pod)) {
      const why = mirrorPodViolation(spec);
      if (why) throw forbidden(attributes, why);
      return;
    }
    const account = admittedAccounts.get(pod) ?? await getServiceAccount(attributes, spec.serviceAccountName);
    if (account.metadata.annotations?.[ENFORCE_MOUNTABLE_SECRETS_ANNOTATION] === 'true') {
      const why = unlistedSecretReference(account, spec);
      if (why) throw forbidden(attributes, why);
    }
  },
};

/** The projected volume upstream's admission adds (volume defaulting later adds defaultMode 420). */
export function serviceAccountTokenVolume(name: string): Obj {
  return {
    name,
    projected: {
      sources: [
        { serviceAccountToken: { expirationSeconds: TOKEN_EXPIRATION_SECONDS, path: 'token' } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
      ],
    },
  };
}

function appliesTo(attributes: AdmissionAttributes): boolean {
  return attributes.operation === 'CREATE' && isCoreKind(attributes, 'Pod') && attributes.object !== undefined;
}

function isMirrorPod(pod: KubeObject): boolean {
  return pod.metadata.annotations?.[MIRROR_POD_ANNOTATION] !== undefined;
}

function forbidden(attributes: AdmissionAttributes, why: string) {
  const meta = attributes.object?.metadata;
  // Before generateName is resolved, upstream names the pod by its prefix.
  const name = attributes.name || meta?.name || meta?.generateName || 'Unknown';
  return errors.forbidden({ group: '', resource: 'pods' }, name, why);
}

async function getServiceAccount(attributes: AdmissionAttributes, name: string): Promise<ServiceAccount> {
  const { parts, namespace } = attributes;
  const resource = parts.registry.lookup('', 'v1', 'serviceaccounts')!;
  const attempts = name === DEFAULT_SERVICE_ACCOUNT ? DEFAULT_ACCOUNT_ATTEMPTS : 1;
  const pause = 100 + Math.floor(Math.random() * 100);
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, pause));
    try {
      return (await parts.store.get(resource, namespace, name)) as ServiceAccount;
    } catch (error) {
      if ((error as { code?: number }).code !== 404) {
        throw forbidden(attributes, `error looking up service account ${namespace}/${name}: ${(error as Error).message}`);
      }
    }
  }
  throw forbidden(attributes, `error looking up service account ${namespace}/${name}: serviceaccount "${name}" not found`);
}

function shouldAutomount(account: ServiceAccount, spec: Obj): boolean {
  if (typeof spec.automountServiceAccountToken === 'boolean') return spec.automountServiceAccountToken;
  if (typeof account.automountServiceAccountToken === 'boolean') return account.automountServiceAccountToken;
  return true;
}

function mountServiceAccountToken(spec: Obj): void {
  const volumes: Obj[] = Array.isArray(spec.volumes) ? spec.volumes : [];
  const existing = volumes.find((v) => typeof v?.name === 'string' && v.name.startsWith(VOLUME_PREFIX));
  const volumeName: string = existing?.name ?? VOLUME_PREFIX + randomSuffix();
  let needed = false;
  for (const container of [...list(spec.initContainers), ...list(spec.containers)]) {
    const mounts: Obj[] = Array.isArray(container.volumeMounts) ? container.volumeMounts : [];
    if (mounts.some((m) => m?.mountPath === SERVICE_ACCOUNT_MOUNT_PATH)) continue;
    container.volumeMounts = [...mounts, { name: volumeName, readOnly: true, mountPath: SERVICE_ACCOUNT_MOUNT_PATH }];
    needed = true;
  }
  if (needed && !existing) spec.volumes = [...volumes, serviceAccountTokenVolume(volumeName)];
}

function mirrorPodViolation(spec: Obj): string | undefined {
  if (spec.serviceAccountName) return 'a mirror pod may not reference service accounts';
  if (referencedSecrets(spec).length > 0) return 'a mirror pod may not reference secrets';
  for (const volume of list(spec.volumes)) {
    if (list(volume.projected?.sources).some((s) => s.serviceAccountToken)) return 'a mirror pod may not use ServiceAccountToken volume projections';
  }
  return undefined;
}

/** Every secret name the pod spec references (volumes, env, envFrom, pull secrets). */
function referencedSecrets(spec: Obj): string[] {
  const names: string[] = [];
  for (const volume of list(spec.volumes)) {
    if (volume.secret?.secretName) names.push(volume.secret.secretName);
    for (const source of list(volume.projected?.sources)) if (source.secret?.name) names.push(source.secret.name);
  }
  for (const container of allContainers(spec)) {
    for (const env of list(container.env)) if (env.valueFrom?.secretKeyRef?.name) names.push(env.valueFrom.secretKeyRef.name);
    for (const from of list(container.envFrom)) if (from.secretRef?.name) names.push(from.secretRef.name);
  }
  for (const pull of list(spec.imagePullSecrets)) if (pull.name) names.push(pull.name);
  return names;
}

/** Upstream's limitSecretReferences: the first reference to a secret the ServiceAccount does not list. */
function unlistedSecretReference(account: ServiceAccount, spec: Obj): string | undefined {
  const sa = account.metadata.name;
  const mountable = new Set((account.secrets ?? []).map((s) => s.name));
  for (const volume of list(spec.volumes)) {
    const name = volume.secret?.secretName;
    if (name !== undefined && !mountable.has(name)) return `volume with secret.secretName="${name}" is not allowed because service account ${sa} does not reference that secret`;
  }
  const groups: [string, Obj[]][] = [['init container', list(spec.initContainers)], ['container', list(spec.containers)], ['ephemeral container', list(spec.ephemeralContainers)]];
  for (const [what, containers] of groups) {
    for (const c of containers) {
      for (const env of list(c.env)) {
        const name = env.valueFrom?.secretKeyRef?.name;
        if (name !== undefined && !mountable.has(name)) return `${what} ${c.name} with envVar ${env.name} referencing secret.secretName="${name}" is not allowed because service account ${sa} does not reference that secret`;
      }
      for (const from of list(c.envFrom)) {
        const name = from.secretRef?.name;
        if (name !== undefined && !mountable.has(name)) return `${what} ${c.name} with envFrom referencing secret.secretName="${name}" is not allowed because service account ${sa} does not reference that secret`;
      }
    }
  }
  const pullable = new Set((account.imagePullSecrets ?? []).map((s) => s.name));
  const pulls = list(spec.imagePullSecrets);
  for (let i = 0; i < pulls.length; i++) {
    if (!pullable.has(pulls[i]!.name)) return `imagePullSecrets[${i}].name="${pulls[i]!.name}" is not allowed because service account ${sa} does not reference that imagePullSecret`;
  }
  return undefined;
}

function allContainers(spec: Obj): Obj[] {
  return [...list(spec.initContainers), ...list(spec.containers), ...list(spec.ephemeralContainers)];
}

function list(value: unknown): Obj[] {
  return Array.isArray(value) ? value.filter((v): v is Obj => typeof v === 'object' && v !== null) : [];
}
