// What configMap, secret, downwardAPI and projected volumes hold: payloads
// built from the API objects, with kubelet's rules for items, modes, optional
// sources and its error messages.
import { isNotFound, type ApiClient, type KubeObject } from '../../client/interface.ts';
import { extractFieldPath, resourceFieldValue } from './downward-api.ts';
import type { ServiceAccountTokens } from './tokens.ts';
import { DEFAULT_FILE_MODE, type DownwardApiFile, type KeyToPath, type Payload, type Pod, type VolumeProjection } from './types-internal.ts';

interface DataObject extends KubeObject {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

export type ObjectKind = 'configmap' | 'secret';

const refs = {
  configmap: { group: '', version: 'v1', resource: 'configmaps' },
  secret: { group: '', version: 'v1', resource: 'secrets' },
} as const;

/**
 * The ConfigMap or Secret a volume names; undefined when it is missing and
 * optional. A missing required one fails with kubelet's `configmap "x" not found`.
 */
export async function fetchSource(options: { client: ApiClient; kind: ObjectKind; namespace: string; name: string; optional: boolean }): Promise<DataObject | undefined> {
  const { client, kind, namespace, name, optional } = options;
  try {
    return await client.get<DataObject>({ ...refs[kind], namespace, name });
  } catch (error) {
    if (!isNotFound(error)) throw error;
    if (optional) return undefined;
    throw new Error(`${kind} "${name}" not found`);
  }
}

/** key → bytes of a ConfigMap (data, binaryData) or Secret (base64 data). */
function entries(kind: ObjectKind, object: DataObject | undefined): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  if (!object) return out;
  for (const [key, value] of Object.entries(object.data ?? {})) out.set(key, kind === 'secret' ? Buffer.from(value, 'base64') : Buffer.from(value, 'utf8'));
  for (const [key, value] of Object.entries(object.binaryData ?? {})) out.set(key, Buffer.from(value, 'base64'));
  return out;
}

/** The payload of a ConfigMap or Secret: every key, or just the listed items. */
export function keyPayload(options: { kind: ObjectKind; object: DataObject | undefined; items?: KeyToPath[]; defaultMode: number; optional: boolean }): Payload {
  const { kind, items, defaultMode, optional } = options;
  const data = entries(kind, options.object);
  const payload: Payload = new Map();
  if (!items?.length) {
    for (const [key, bytes] of data) payload.set(key, { data: bytes, mode: defaultMode });
    return payload;
  }
  for (const item of items) {
    const bytes = data.get(item.key);
    if (!bytes) {
      if (optional) continue;
      throw new Error(kind === 'configmap' ? `configmap references non-existent config key: ${item.key}` : `references non-existent secret key: ${item.key}`);
    }
    payload.set(item.path, { data: bytes, mode: item.mode ?? defaultMode });
  }
  return payload;
}

export interface DownwardContext {
  pod: Pod;
  nodeAllocatable: () => Promise<Record<string, string | number>>;
}

/** The downwardAPI files; every failing item is reported (kubelet aggregates them). */
export async function downwardPayload(options: { context: DownwardContext; items: DownwardApiFile[]; defaultMode: number }): Promise<Payload> {
  const { context, items, defaultMode } = options;
  const payload: Payload = new Map();
  const problems: string[] = [];
  for (const item of items) {
    const mode = item.mode ?? defaultMode;
    try {
      if (item.fieldRef) {
        payload.set(item.path, { data: Buffer.from(extractFieldPath(context.pod, item.fieldRef.fieldPath)), mode });
      } else if (item.resourceFieldRef) {
        const value = resourceFieldValue({ pod: context.pod, ref: item.resourceFieldRef, nodeAllocatable: await context.nodeAllocatable() });
        payload.set(item.path, { data: Buffer.from(value), mode });
      }
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  if (problems.length) throw new Error(aggregate(problems));
  return payload;
}

/** utilerrors.NewAggregate's text: one message as is, several in brackets. */
export const aggregate = (messages: string[]) => (messages.length === 1 ? messages[0] : `[${messages.join(', ')}]`);

export interface ProjectedContext extends DownwardContext {
  client: ApiClient;
  tokens: ServiceAccountTokens;
  /** fsGroup is set: tokens are written 0600 and the group bits added afterwards. */
  hasFsGroup: boolean;
}

/** All sources of a projected volume merged into one payload (later sources win on equal paths). */
export async function projectedPayload(options: { context: ProjectedContext; sources: VolumeProjection[]; defaultMode: number }): Promise<Payload> {
  const { context, sources, defaultMode } = options;
  const { pod, client } = context;
  const namespace = pod.metadata.namespace!;
  const payload: Payload = new Map();
  const problems: string[] = [];
  const add = (part: Payload) => { for (const [path, file] of part) payload.set(path, file); };
  for (const source of sources) {
    try {
      if (source.configMap) {
        const optional = source.configMap.optional === true;
        const object = await fetchSource({ client, kind: 'configmap', namespace, name: source.configMap.name ?? '', optional });
        add(keyPayload({ kind: 'configmap', object, items: source.configMap.items, defaultMode, optional }));
      } else if (source.secret) {
        const optional = source.secret.optional === true;
        const object = await fetchSource({ client, kind: 'secret', namespace, name: source.secret.name ?? '', optional });
        add(keyPayload({ kind: 'secret', object, items: source.secret.items, defaultMode, optional }));
      } else if (source.downwardAPI) {
        add(await downwardPayload({ context, items: source.downwardAPI.items ?? [], defaultMode }));
      } else if (source.serviceAccountToken) {
        const token = await context.tokens.tokenFor({ pod, projection: source.serviceAccountToken });
        payload.set(source.serviceAccountToken.path, { data: Buffer.from(token), mode: context.hasFsGroup ? 0o600 : defaultMode });
      } else if (source.clusterTrustBundle || source.podCertificate) {
        problems.push('clusterTrustBundle and podCertificate projections are not supported by skiff');
      }
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  if (problems.length) throw new Error(aggregate(problems));
  return payload;
}

export { DEFAULT_FILE_MODE };
