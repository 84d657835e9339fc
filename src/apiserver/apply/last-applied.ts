// Moving from client-side to server-side apply with kubectl. Objects that
// client-side `kubectl apply` manages carry the last-applied-configuration
// annotation and their fields belong to "kubectl-client-side-apply". Upstream
// lets `kubectl apply --server-side` (field manager "kubectl") take those
// fields over without conflicts, and keeps the annotation in step so that a
// later client-side apply still computes the right patch. Both only for the
// manager "kubectl": other managers opt out by choosing another name.
import type { SchemaNode } from '../../api/schema/facts.ts';
import { fieldSetFromObject } from './fieldset.ts';
import type { FieldSet } from './fieldset.ts';
import { goJson, isObject } from './json.ts';
import type { SchemaTypes } from './schema-types.ts';
import { compareValues } from './typed.ts';

export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';
export const MIGRATING_MANAGER = 'kubectl';
/** Upstream's limit on the total size of an object's annotations (keys + values). */
const ANNOTATIONS_SIZE_LIMIT = 256 * 1024;

function lastApplied(object: unknown): string | undefined {
  if (!isObject(object) || !isObject(object.metadata) || !isObject(object.metadata.annotations)) return undefined;
  const value = object.metadata.annotations[LAST_APPLIED_ANNOTATION];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/**
 * Fields whose conflicts the applier may ignore: those the live object's
 * last-applied configuration sets to the value the object still has (so the
 * client-side applier's ownership of them is just the same intent).
 * Undefined when there is no usable annotation.
 */
export function allowedConflictsFromLastApplied(options: {
  live: Record<string, unknown>;
  schema: SchemaNode | undefined;
  types: SchemaTypes;
  apiVersion: string;
}): FieldSet | undefined {
  const text = lastApplied(options.live);
  if (!text) return undefined;
  try {
    const config: unknown = JSON.parse(text);
    if (!isObject(config) || config.apiVersion !== options.apiVersion) return undefined;
    const set = fieldSetFromObject(config, options.schema, options.types);
    const diff = compareValues(config, options.live, options.schema, options.types);
    return set.difference(diff.modified).difference(diff.added).difference(diff.removed);
  } catch {
    return undefined;
  }
}

/**
 * After an apply by "kubectl": when the live object had a last-applied
 * annotation, set it on `result` to the applied configuration (without the
 * annotation itself), encoded as kubectl and upstream encode it (sorted keys,
 * trailing newline). Dropped instead when the annotations would exceed their
 * size limit, as upstream does.
 */
export function syncLastApplied(options: { manager: string; live: unknown; applied: Record<string, unknown>; result: Record<string, unknown> }): void {
  if (options.manager !== MIGRATING_MANAGER || !lastApplied(options.live)) return;
  const config = structuredClone(options.applied);
  if (isObject(config.metadata) && isObject(config.metadata.annotations)) {
    delete config.metadata.annotations[LAST_APPLIED_ANNOTATION];
  }
  const value = `${goJson(config)}\n`;
  const metadata = isObject(options.result.metadata) ? options.result.metadata : (options.result.metadata = {});
  const annotations = isObject(metadata.annotations) ? metadata.annotations : (metadata.annotations = {});
  annotations[LAST_APPLIED_ANNOTATION] = value;
  let size = 0;
  for (const [k, v] of Object.entries(annotations)) size += Buffer.byteLength(k) + Buffer.byteLength(String(v));
  if (size > ANNOTATIONS_SIZE_LIMIT) delete annotations[LAST_APPLIED_ANNOTATION];
}
