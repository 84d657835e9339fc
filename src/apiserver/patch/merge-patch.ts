// RFC 7386 JSON Merge Patch (`application/merge-patch+json`): objects merge
// recursively, `null` removes a member, anything else (arrays included)
// replaces the target value. kubectl uses it for custom resources and for
// `scale`; no schema is involved.
import { badRequest } from './errors.ts';
import { cloneJson, describe, getMember, isObject, setMember } from './json-value.ts';
import type { JsonObject } from './json-value.ts';

/**
 * Apply a parsed merge patch to `original` and return the merged copy.
 * The API server patches whole objects, so the patch itself must be a JSON
 * object (anything else would replace the object wholesale); otherwise a
 * 400 PatchError. Neither argument is modified.
 */
export function applyMergePatch(original: object, patch: unknown): object {
  if (!isObject(patch)) {
    throw badRequest(`merge patch must be a JSON object, got ${describe(patch)}`);
  }
  return mergeValue(original, patch) as object;
}

/** The RFC 7386 MergePatch(target, patch) function; returns a new value. */
export function mergeValue(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return cloneJson(patch);
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      delete result[key];
    } else {
      // Members the patch does not touch are shared with `target` by the
      // spread above; copy them so the result never aliases the input.
      setMember(result, key, mergeValue(getMember(result, key), value));
    }
  }
  for (const key of Object.keys(result)) {
    if (!Object.hasOwn(patch, key)) setMember(result, key, cloneJson(result[key]));
  }
  return result;
}
