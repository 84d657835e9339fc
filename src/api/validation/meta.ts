// ObjectMeta, labels, annotations and label selectors (apimachinery's
// api/validation and apis/meta/v1/validation), plus the update rules every
// kind shares (name/namespace/uid/creationTimestamp are immutable).
import { selectorFromLabelSelector, matches, isEmpty, type LabelSelector } from '../selectors/index.ts';
import {
  type FieldError, child, forbidden, goLabelSelector, goLiteral, goStringMap, immutable, index, invalid, IS_NEGATIVE, required,
  tooLong,
} from './errors.ts';
import { isLabelKey, isLabelValue, isQualifiedName, nameIsDNSLabel, type NameValidator } from './names.ts';
import { deepEqual } from './equal.ts';

export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

const isObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);
const sortedEntries = (m: unknown): [string, unknown][] =>
  isObject(m) ? Object.keys(m).sort().map((k) => [k, m[k]]) : [];

/** ValidateLabels: every key a label key, every value a label value; errors on the map's path. */
export function validateLabels(labels: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  // Go iterates maps in random order; sorting gives a stable message.
  for (const [k, v] of sortedEntries(labels)) {
    errs.push(...validateLabelName(k, path));
    for (const msg of isLabelValue(String(v ?? ''))) errs.push(invalid(path, v, msg));
  }
  return errs;
}

export function validateLabelName(name: string, path: string): FieldError[] {
  return isLabelKey(name).map((msg) => invalid(path, name, msg));
}

/** Annotation keys are qualified names compared case-insensitively; all of them together ≤ 256 KiB. */
export function validateAnnotations(annotations: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  let size = 0;
  for (const [k, v] of sortedEntries(annotations)) {
    for (const msg of isQualifiedName(k.toLowerCase())) errs.push(invalid(path, k, msg));
    size += Buffer.byteLength(k) + Buffer.byteLength(String(v ?? ''));
  }
  if (size > TOTAL_ANNOTATION_SIZE_LIMIT) errs.push(tooLong(path, TOTAL_ANNOTATION_SIZE_LIMIT));
  return errs;
}

const standardFinalizers = new Set(['kubernetes', 'orphan', 'foregroundDeletion']);

/** Finalizer names: qualified names; unprefixed ones must be one of the standard ones. */
export function validateFinalizerName(name: string, path: string): FieldError[] {
  const errs = isQualifiedName(name).map((msg) => invalid(path, name, msg));
  if (!name.includes('/') && !standardFinalizers.has(name)) {
    errs.push(invalid(path, name, 'name is neither a standard finalizer name nor is it fully qualified'));
  }
  return errs;
}

function validateOwnerReferences(refs: unknown, path: string): FieldError[] {
  if (!Array.isArray(refs)) return [];
  const errs: FieldError[] = [];
  let firstController = '';
  for (const ref of refs) {
    const apiVersion = String(ref?.apiVersion ?? '');
    const version = apiVersion.includes('/') ? apiVersion.slice(apiVersion.indexOf('/') + 1) : apiVersion;
    if (!version) errs.push(invalid(child(path, 'apiVersion'), apiVersion, 'version must not be empty'));
    if (!ref?.kind) errs.push(invalid(child(path, 'kind'), ref?.kind ?? '', 'must not be empty'));
    if (!ref?.name) errs.push(invalid(child(path, 'name'), ref?.name ?? '', 'must not be empty'));
    if (!ref?.uid) errs.push(invalid(child(path, 'uid'), ref?.uid ?? '', 'must not be empty'));
    if (apiVersion === 'v1' && ref?.kind === 'Event') {
      errs.push(invalid(path, ref, '/v1, Kind=Event is disallowed from being an owner'));
    }
    if (ref?.controller === true) {
      const name = `${ref.kind}/${ref.name}`;
      if (firstController) {
        errs.push(invalid(path, refs, `Only one reference can have Controller set to true. Found "true" in references for ${firstController} and ${name}`));
      } else {
        firstController = name;
      }
    }
  }
  return errs;
}

export interface ObjectMetaOptions {
  meta: any;
  /** Namespaced kinds must have a namespace; cluster-scoped ones must not. */
  namespaced: boolean;
  nameValidator: NameValidator;
  path?: string;
}

/** ValidateObjectMeta (create): expects name generation to have happened already. */
export function validateObjectMeta(options: ObjectMetaOptions): FieldError[] {
  const { meta = {}, namespaced, nameValidator } = options;
  const path = options.path ?? 'metadata';
  const errs: FieldError[] = [];
  const generateName = typeof meta.generateName === 'string' ? meta.generateName : '';
  const name = typeof meta.name === 'string' ? meta.name : '';
  if (generateName) {
    for (const msg of nameValidator(generateName, true)) errs.push(invalid(child(path, 'generateName'), generateName, msg));
  }
  if (!name) errs.push(required(child(path, 'name'), 'name or generateName is required'));
  else for (const msg of nameValidator(name, false)) errs.push(invalid(child(path, 'name'), name, msg));
  errs.push(...validateMetaCommon(meta, namespaced, path));
  return errs;
}

function validateMetaCommon(meta: any, namespaced: boolean, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const namespace = typeof meta.namespace === 'string' ? meta.namespace : '';
  if (namespaced) {
    if (!namespace) errs.push(required(child(path, 'namespace')));
    else for (const msg of nameIsDNSLabel(namespace, false)) errs.push(invalid(child(path, 'namespace'), namespace, msg));
  } else if (namespace) {
    errs.push(forbidden(child(path, 'namespace'), 'not allowed on this type'));
  }
  if (typeof meta.generation === 'number' && meta.generation < 0) {
    errs.push(invalid(child(path, 'generation'), meta.generation, IS_NEGATIVE));
  }
  errs.push(...validateLabels(meta.labels, child(path, 'labels')));
  errs.push(...validateAnnotations(meta.annotations, child(path, 'annotations')));
  errs.push(...validateOwnerReferences(meta.ownerReferences, child(path, 'ownerReferences')));
  const finalizers: unknown[] = Array.isArray(meta.finalizers) ? meta.finalizers : [];
  for (const f of finalizers) {
    for (const msg of isQualifiedName(String(f))) errs.push(invalid(child(path, 'finalizers'), f, msg));
  }
  if (finalizers.includes('orphan') && finalizers.includes('foregroundDeletion')) {
    errs.push(invalid(child(path, 'finalizers'), finalizers, 'finalizer orphan and foregroundDeletion cannot be both set'));
  }
  // core's extra rule for unprefixed finalizers, reported per index.
  finalizers.forEach((f, i) => {
    const s = String(f);
    if (!s.includes('/') && !standardFinalizers.has(s)) {
      errs.push(invalid(index(child(path, 'finalizers'), i), s, 'name is neither a standard finalizer name nor is it fully qualified'));
    }
  });
  return errs;
}

/** ValidateObjectMetaUpdate. */
export function validateObjectMetaUpdate(options: { meta: any; oldMeta: any; path?: string }): FieldError[] {
  const meta = options.meta ?? {};
  const old = options.oldMeta ?? {};
  const path = options.path ?? 'metadata';
  const errs: FieldError[] = [];
  if (old.deletionTimestamp) {
    const added = (meta.finalizers ?? []).filter((f: string) => !(old.finalizers ?? []).includes(f));
    if (added.length) {
      const list = `[]string{${[...new Set<string>(added)].sort().map((f) => JSON.stringify(f)).join(', ')}}`;
      errs.push(forbidden(child(path, 'finalizers'), `no new finalizers can be added if the object is being deleted, found new finalizers ${list}`));
    }
  }
  if ((meta.generation ?? 0) < (old.generation ?? 0)) {
    errs.push(invalid(child(path, 'generation'), meta.generation ?? 0, 'must not be decremented'));
  }
  for (const f of ['name', 'namespace', 'uid'] as const) {
    if ((meta[f] ?? '') !== (old[f] ?? '')) errs.push(immutable(child(path, f), meta[f] ?? ''));
  }
  for (const f of ['creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds'] as const) {
    if (!deepEqual(meta[f], old[f])) errs.push(immutable(child(path, f), meta[f] ?? null));
  }
  errs.push(...validateLabels(meta.labels, child(path, 'labels')));
  errs.push(...validateAnnotations(meta.annotations, child(path, 'annotations')));
  errs.push(...validateOwnerReferences(meta.ownerReferences, child(path, 'ownerReferences')));
  (Array.isArray(meta.finalizers) ? meta.finalizers : []).forEach((f: unknown, i: number) => {
    const s = String(f);
    for (const msg of isQualifiedName(s)) errs.push(invalid(child(path, 'finalizers'), s, msg));
    if (!s.includes('/') && !standardFinalizers.has(s)) {
      errs.push(invalid(index(child(path, 'finalizers'), i), s, 'name is neither a standard finalizer name nor is it fully qualified'));
    }
  });
  return errs;
}

// ---- label selectors ----------------------------------------------------------------

/** ValidateLabelSelector (the API object form). */
export function validateLabelSelector(selector: any, path: string): FieldError[] {
  if (selector == null) return [];
  const errs = validateLabels(selector.matchLabels, child(path, 'matchLabels'));
  const exprs: any[] = Array.isArray(selector.matchExpressions) ? selector.matchExpressions : [];
  exprs.forEach((e, i) => {
    const p = index(child(path, 'matchExpressions'), i);
    const values: unknown[] = Array.isArray(e?.values) ? e.values : [];
    switch (e?.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) errs.push(required(child(p, 'values'), "must be specified when `operator` is 'In' or 'NotIn'"));
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) errs.push(forbidden(child(p, 'values'), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
        break;
      default:
        errs.push(invalid(child(p, 'operator'), e?.operator ?? '', 'not a valid selector operator'));
    }
    errs.push(...validateLabelName(String(e?.key ?? ''), child(p, 'key')));
    values.forEach((v, j) => {
      for (const msg of isLabelValue(String(v))) errs.push(invalid(index(child(p, 'values'), j), v, msg));
    });
  });
  return errs;
}

/** LabelSelectorAsSelector: undefined when the selector cannot be built (upstream returns an error). */
export function toSelector(selector: any): LabelSelector | undefined {
  try {
    return selectorFromLabelSelector(selector);
  } catch {
    return undefined;
  }
}

/**
 * The check every controller kind makes: the selector must select the
 * template's labels. An absent selector matches nothing (so a missing
 * selector also reports the mismatch, as upstream does); an empty one is
 * skipped. A selector that cannot be built reports `invalid label selector`.
 */
export function validateSelectorMatchesTemplate(options: {
  selector: any;
  templateLabels: unknown;
  selectorPath: string;
  labelsPath: string;
}): FieldError[] {
  const sel = toSelector(options.selector);
  if (!sel) return [invalid(options.selectorPath, goLabelSelector(options.selector), 'invalid label selector')];
  if (isEmpty(sel)) return [];
  const labels = (options.templateLabels ?? {}) as Record<string, string>;
  if (!matches(sel, labels)) {
    return [invalid(options.labelsPath, goStringLiteralMap(options.templateLabels), '`selector` does not match template `labels`')];
  }
  return [];
}

const goStringLiteralMap = (m: unknown) => goLiteral(goStringMap(m));
