// Which field labels each kind can be selected by, and how to read them from
// an object. This mirrors the per-kind field sets of the Kubernetes registry
// (pods by node, events by involved object, …); every kind also offers
// metadata.name and metadata.namespace. Values are strings, as upstream.
import { SelectorError } from './errors.ts';
import type { FieldSelector, Fields } from './field-selector.ts';

// Objects arrive as parsed JSON of any kind; readers only look, never trust shapes.
type Obj = any;
export type FieldReader = (obj: Obj) => string;

const text = (v: unknown): string => (v == null ? '' : String(v));
const bool = (v: unknown): string => String(v === true);
const int = (v: unknown): string => String(typeof v === 'number' ? v : 0);

const metadataFields: Record<string, FieldReader> = {
  'metadata.name': (o) => text(o?.metadata?.name),
  'metadata.namespace': (o) => text(o?.metadata?.namespace),
};

const podFields: Record<string, FieldReader> = {
  'spec.nodeName': (o) => text(o?.spec?.nodeName),
  'spec.restartPolicy': (o) => text(o?.spec?.restartPolicy),
  'spec.schedulerName': (o) => text(o?.spec?.schedulerName),
  'spec.serviceAccountName': (o) => text(o?.spec?.serviceAccountName),
  'spec.hostNetwork': (o) => bool(o?.spec?.hostNetwork),
  'status.phase': (o) => text(o?.status?.phase),
  // The primary IP; older objects may carry only status.podIP.
  'status.podIP': (o) => text(o?.status?.podIPs?.[0]?.ip ?? o?.status?.podIP),
  // Upstream accepts this label but never fills it in, so it only equals "".
  'status.podIPs': () => '',
  'status.nominatedNodeName': (o) => text(o?.status?.nominatedNodeName),
};

const eventFields: Record<string, FieldReader> = {
  'involvedObject.kind': (o) => text(o?.involvedObject?.kind),
  'involvedObject.namespace': (o) => text(o?.involvedObject?.namespace),
  'involvedObject.name': (o) => text(o?.involvedObject?.name),
  'involvedObject.uid': (o) => text(o?.involvedObject?.uid),
  'involvedObject.apiVersion': (o) => text(o?.involvedObject?.apiVersion),
  'involvedObject.resourceVersion': (o) => text(o?.involvedObject?.resourceVersion),
  'involvedObject.fieldPath': (o) => text(o?.involvedObject?.fieldPath),
  reason: (o) => text(o?.reason),
  reportingComponent: (o) => text(o?.reportingComponent),
  // Old-style events name their source; new-style ones only the reporting controller.
  source: (o) => text(o?.source?.component || o?.reportingComponent),
  type: (o) => text(o?.type),
};

const replicasField: Record<string, FieldReader> = { 'status.replicas': (o) => int(o?.status?.replicas) };

/** Kind-specific field labels, keyed by "group/Kind" ("" is the core group). */
const kindFields: Record<string, Record<string, FieldReader>> = {
  '/Pod': podFields,
  '/Event': eventFields,
  '/Secret': { type: (o) => text(o?.type) },
  '/Node': { 'spec.unschedulable': (o) => bool(o?.spec?.unschedulable) },
  '/Namespace': { 'status.phase': (o) => text(o?.status?.phase) },
  '/ReplicationController': replicasField,
  '/Service': {
    'spec.clusterIP': (o) => text(o?.spec?.clusterIP),
    'spec.type': (o) => text(o?.spec?.type),
  },
  'apps/ReplicaSet': replicasField,
  'batch/Job': { 'status.successful': (o) => int(o?.status?.succeeded) },
  'certificates.k8s.io/CertificateSigningRequest': { 'spec.signerName': (o) => text(o?.spec?.signerName) },
};

export interface FieldLabelOptions {
  kind: string;
  /** API group; "" (or "core") for the core group. */
  group?: string;
  /**
   * Fields for this kind instead of the built-in table, e.g. a custom
   * resource's selectableFields. metadata.name/namespace are always added.
   */
  supportedFields?: Readonly<Record<string, FieldReader>>;
}

function tableFor(options: FieldLabelOptions): { fields: Record<string, FieldReader>; custom: boolean } {
  if (options.supportedFields) return { fields: { ...metadataFields, ...options.supportedFields }, custom: true };
  const group = options.group === 'core' ? '' : (options.group ?? '');
  const specific = kindFields[`${group}/${options.kind}`];
  return { fields: { ...metadataFields, ...specific }, custom: specific !== undefined };
}

/** The field labels a kind can be selected by. */
export function supportedFieldLabels(options: FieldLabelOptions): string[] {
  return Object.keys(tableFor(options).fields).sort();
}

/** Every supported field of one object, as the strings selectors compare against. */
export function objectFields(obj: unknown, options: FieldLabelOptions): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [label, read] of Object.entries(tableFor(options).fields)) out[label] = read(obj);
  return out;
}

/**
 * Checks the selector against the kind's field labels and returns a predicate
 * for objects. Throws SelectorError (→ 400) for a label the kind lacks, with
 * upstream's two wordings: kinds with their own field table say "field label
 * not supported", kinds with only metadata fields list the two they have.
 */
export function fieldSelectorMatcher(selector: FieldSelector, options: FieldLabelOptions): (obj: unknown) => boolean {
  const { fields, custom } = tableFor(options);
  const readers: Record<string, FieldReader> = {};
  for (const { field } of selector.requirements) {
    const read = fields[field];
    if (!read) {
      throw new SelectorError(
        custom
          ? `field label not supported: ${field}`
          : `${JSON.stringify(field)} is not a known field selector: only "metadata.name", "metadata.namespace"`,
      );
    }
    readers[field] = read;
  }
  if (selector.isEmpty()) return () => true;
  return (obj) => {
    const values: Record<string, string> = {};
    for (const [label, read] of Object.entries(readers)) values[label] = read(obj);
    return selector.matches(values as Fields);
  };
}
