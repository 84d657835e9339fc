// Test helper: run an object the way the API server will (defaults, then
// semantic validation) and return the error lines as upstream prints them.
import { parse } from 'yaml';
import { applyDefaults, generateJobSelector } from '../defaults/index.ts';
import { formatFieldError } from './errors.ts';
import { validateObject } from './index.ts';

export interface Prepared {
  object: any;
  errors: string[];
}

export function groupOf(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

/** Parses YAML, defaults it and validates it (as an update of `old` when given, which is prepared as a create first). */
export function prepare(yaml: string | object, old?: string): Prepared {
  const object = typeof yaml === 'string' ? parse(yaml) : yaml;
  const { group, version } = groupOf(object.apiVersion);
  const kind = object.kind;
  applyDefaults({ group, version, kind, object });
  let oldObject: any;
  if (old !== undefined) {
    oldObject = prepare(old).object;
  } else if (kind === 'Job' && group === 'batch') {
    object.metadata.uid ??= '00000000-0000-4000-8000-000000000001';
    generateJobSelector(object);
  }
  const errors = validateObject({ group, version, kind, object, oldObject }).map(formatFieldError);
  return { object, errors };
}

export const errorsOf = (yaml: string, old?: string): string[] => prepare(yaml, old).errors;

/**
 * An update as clients make them: start from the stored (defaulted) object,
 * change it, validate against the stored one.
 */
export function errorsOfUpdate(yaml: string, change: (obj: any) => void): string[] {
  const stored = prepare(yaml).object;
  stored.metadata.resourceVersion ??= '1';
  const updated = structuredClone(stored);
  change(updated);
  const { group, version } = groupOf(updated.apiVersion);
  applyDefaults({ group, version, kind: updated.kind, object: updated, operation: 'update' });
  return validateObject({ group, version, kind: updated.kind, object: updated, oldObject: stored }).map(formatFieldError);
}
