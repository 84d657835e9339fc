// A container's environment as the kubelet builds it: envFrom sources (with
// prefix) first, then env entries in order — `value` with `$(VAR)` expanded
// against what is defined so far, `valueFrom` from the pod's fields, its
// resources, ConfigMaps and Secrets — then the Service link variables of the
// namespace where nothing else set them. `$(VAR)` expansion follows
// upstream's rules: a defined name is replaced, an undefined one stays as
// written, `$$` is an escaped `$`, and anything else is left alone.
import type { KubeObject } from '../../client/interface.ts';
import type { ContainerSpec, EnvVar } from './pod-types.ts';
import { milliValue, wholeValue } from './resources.ts';

/** A problem that makes the container's config unbuildable: status CreateContainerConfigError (or `reason`) with this message. */
export class ContainerConfigError extends Error {
  override name = 'ContainerConfigError';
  readonly reason: 'CreateContainerConfigError' | 'CreateContainerError';
  constructor(message: string, reason: 'CreateContainerConfigError' | 'CreateContainerError' = 'CreateContainerConfigError') {
    super(message);
    this.reason = reason;
  }
}

/**
 * upstream's expansion.Expand: `$(NAME)` → lookup(NAME) when defined, else
 * kept; `$$` → `$`; an unterminated `$(` and `$x` stay as written.
 */
export function expandVariables(input: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] !== '$' || cursor + 1 >= input.length) continue;
    out += input.slice(checkpoint, cursor);
    const next = input[cursor + 1];
    let advance = 1;
    if (next === '$') {
      out += '$';
    } else if (next === '(') {
      const close = input.indexOf(')', cursor + 2);
      if (close < 0) {
        out += '$(';
      } else {
        const name = input.slice(cursor + 2, close);
        const value = lookup(name);
        out += value ?? `$(${name})`;
        advance = close - cursor;
      }
    } else {
      out += `$${next}`;
    }
    cursor += advance;
    checkpoint = cursor + 1;
  }
  return out + input.slice(checkpoint);
}

/** Where env values come from: the API objects a container refers to. */
export interface EnvSources {
  configMap(namespace: string, name: string): Promise<KubeObject | undefined>;
  secret(namespace: string, name: string): Promise<KubeObject | undefined>;
  /** Services of the namespace (and `default/kubernetes`), for enableServiceLinks. */
  serviceEnv(namespace: string, includeAll: boolean): Promise<Map<string, string>>;
}

export interface PodFacts {
  pod: KubeObject;
  hostIp: string;
  podIps: string[];
  /** Node allocatable, for resourceFieldRef of a container without that limit. */
  allocatable: { cpu: string; memory: string; 'ephemeral-storage'?: string };
}

function dataOf(object: KubeObject, secret: boolean): Map<string, string> {
  const out = new Map<string, string>();
  const data = (object.data ?? {}) as Record<string, string>;
  for (const [k, v] of Object.entries(data)) out.set(k, secret ? Buffer.from(v, 'base64').toString('utf8') : v);
  if (!secret) for (const [k, v] of Object.entries((object.binaryData ?? {}) as Record<string, string>)) out.set(k, Buffer.from(v, 'base64').toString('utf8'));
  return out;
}

const podFieldPattern = /^metadata\.(labels|annotations)\['(.*)'\]$/;

/** The downward API's fieldRef values (upstream's podFieldSelectorRuntimeValue). */
export function fieldRefValue(path: string, facts: PodFacts): string {
  const { pod } = facts;
  const spec = (pod.spec ?? {}) as { nodeName?: string; serviceAccountName?: string };
  const m = podFieldPattern.exec(path);
  if (m) {
    const map = (m[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations) ?? {};
    return map[m[2]!] ?? '';
  }
  switch (path) {
    case 'metadata.name': return pod.metadata.name ?? '';
    case 'metadata.namespace': return pod.metadata.namespace ?? '';
    case 'metadata.uid': return pod.metadata.uid ?? '';
    case 'metadata.labels': return formatMap(pod.metadata.labels);
    case 'metadata.annotations': return formatMap(pod.metadata.annotations);
    case 'spec.nodeName': return spec.nodeName ?? '';
    case 'spec.serviceAccountName': return spec.serviceAccountName ?? '';
    case 'status.hostIP': return facts.hostIp;
    case 'status.hostIPs': return facts.hostIp;
    case 'status.podIP': return facts.podIps[0] ?? '';
    case 'status.podIPs': return facts.podIps.join(',');
  }
  throw new ContainerConfigError(`unsupported fieldPath: ${path}`);
}

function formatMap(map: Record<string, string> | undefined): string {
  return Object.keys(map ?? {}).sort().map((k) => `${k}="${map![k]!.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`).join('\n');
}

/**
 * resourceFieldRef (upstream's ExtractContainerResourceValue with the node's
 * allocatable standing in for absent limits): the value divided by the
 * divisor, rounded up.
 */
export function resourceFieldValue(options: { ref: { containerName?: string; resource: string; divisor?: string | number }; container: ContainerSpec; pod: KubeObject; allocatable: PodFacts['allocatable'] }): string {
  const { ref, allocatable } = options;
  const containers = [...((options.pod.spec as { containers?: ContainerSpec[] }).containers ?? []), ...((options.pod.spec as { initContainers?: ContainerSpec[] }).initContainers ?? [])];
  const container = ref.containerName ? containers.find((c) => c.name === ref.containerName) : options.container;
  if (!container) throw new ContainerConfigError(`container ${ref.containerName} not found`);
  const [kind, resource] = ref.resource.split('.', 2) as [string, string];
  const list = (kind === 'limits' ? container.resources?.limits : container.resources?.requests) ?? {};
  let value = list[resource];
  if (value === undefined && kind === 'limits') value = allocatable[resource as keyof PodFacts['allocatable']];
  if (value === undefined) value = '0';
  const divisor = ref.divisor ?? (resource === 'cpu' ? '1' : '1');
  if (resource === 'cpu') {
    const divisorMilli = Math.max(1, milliValue(divisor));
    return String(Math.ceil(milliValue(value) / divisorMilli));
  }
  const divisorWhole = Math.max(1, wholeValue(divisor));
  return String(Math.ceil(wholeValue(value) / divisorWhole));
}

async function keyValue(options: { sources: EnvSources; namespace: string; kind: 'configmap' | 'secret'; ref: { name?: string; key: string; optional?: boolean } }): Promise<string | undefined> {
  const { sources, namespace, kind, ref } = options;
  const name = ref.name ?? '';
  const object = kind === 'configmap' ? await sources.configMap(namespace, name) : await sources.secret(namespace, name);
  if (!object) {
    if (ref.optional) return undefined;
    throw new ContainerConfigError(`${kind} "${name}" not found`);
  }
  const value = dataOf(object, kind === 'secret').get(ref.key);
  if (value === undefined && !ref.optional) {
    throw new ContainerConfigError(`couldn't find key ${ref.key} in ${kind === 'configmap' ? 'ConfigMap' : 'Secret'} ${namespace}/${name}`);
  }
  return value;
}

/**
 * The container's variables in order (KEY, VALUE), as kubelet's
 * makeEnvironmentVariables. Throws ContainerConfigError for a missing
 * ConfigMap/Secret/key that is not optional.
 */
export async function containerEnv(options: { container: ContainerSpec; facts: PodFacts; sources: EnvSources }): Promise<Map<string, string>> {
  const { container, facts, sources } = options;
  const namespace = facts.pod.metadata.namespace ?? 'default';
  const enableServiceLinks = (facts.pod.spec as { enableServiceLinks?: boolean }).enableServiceLinks !== false;
  const serviceEnv = await sources.serviceEnv(namespace, enableServiceLinks);
  const env = new Map<string, string>();

  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    const ref = from.configMapRef ?? from.secretRef;
    if (!ref) continue;
    const isSecret = !from.configMapRef;
    const name = ref.name ?? '';
    const object = isSecret ? await sources.secret(namespace, name) : await sources.configMap(namespace, name);
    if (!object) {
      if (ref.optional) continue;
      throw new ContainerConfigError(`${isSecret ? 'secret' : 'configmap'} "${name}" not found`);
    }
    for (const [key, value] of dataOf(object, isSecret)) env.set(prefix + key, value);
  }

  const lookup = (name: string) => env.get(name) ?? serviceEnv.get(name);
  for (const variable of container.env ?? []) {
    const value = await envValue({ variable, container, facts, sources, namespace, lookup });
    if (value !== undefined) env.set(variable.name, value);
  }
  // Service links never override what the container sets itself.
  for (const [key, value] of serviceEnv) if (!env.has(key)) env.set(key, value);
  return env;
}

async function envValue(options: { variable: EnvVar; container: ContainerSpec; facts: PodFacts; sources: EnvSources; namespace: string; lookup: (name: string) => string | undefined }): Promise<string | undefined> {
  const { variable, facts, sources, namespace } = options;
  const from = variable.valueFrom;
  if (!from) return expandVariables(variable.value ?? '', options.lookup);
  if (from.fieldRef) return fieldRefValue(from.fieldRef.fieldPath, facts);
  if (from.resourceFieldRef) return resourceFieldValue({ ref: from.resourceFieldRef, container: options.container, pod: facts.pod, allocatable: facts.allocatable });
  if (from.configMapKeyRef) return keyValue({ sources, namespace, kind: 'configmap', ref: from.configMapKeyRef });
  if (from.secretKeyRef) return keyValue({ sources, namespace, kind: 'secret', ref: from.secretKeyRef });
  return '';
}

/**
 * The final KEY=VALUE list the runtime gets: the image's Env, overridden by
 * the container's variables (as containerd merges them), with HOSTNAME and a
 * default PATH when the image has none.
 */
export function mergeWithImageEnv(options: { imageEnv: string[] | undefined; env: Map<string, string>; hostname: string }): string[] {
  const merged = new Map<string, string>();
  merged.set('PATH', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
  merged.set('HOSTNAME', options.hostname);
  for (const entry of options.imageEnv ?? []) {
    const eq = entry.indexOf('=');
    if (eq > 0) merged.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  for (const [k, v] of options.env) merged.set(k, v);
  return [...merged].map(([k, v]) => `${k}=${v}`);
}

/**
 * argv as containerd builds it from the pod and the image: `command` replaces
 * the image's Entrypoint (and drops its Cmd), `args` replace Cmd; `$(VAR)` in
 * command and args expands against the container's variables.
 */
export function containerArgv(options: { container: ContainerSpec; imageEntrypoint?: string[] | null; imageCmd?: string[] | null; env: Map<string, string> }): string[] {
  const { container, env } = options;
  const expand = (items: string[]) => items.map((item) => expandVariables(item, (name) => env.get(name)));
  const command = container.command?.length ? expand(container.command) : undefined;
  const args = container.args?.length ? expand(container.args) : undefined;
  if (command) return [...command, ...(args ?? [])];
  return [...(options.imageEntrypoint ?? []), ...(args ?? options.imageCmd ?? [])];
}
