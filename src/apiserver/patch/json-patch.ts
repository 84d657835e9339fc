// RFC 6902 JSON Patch (`application/json-patch+json`) on top of fast-json-patch.
//
// Atomic: the operations run on a deep copy, so a failing operation (including
// a failing `test`) leaves the caller's object untouched. Error codes follow
// upstream's PATCH handler: a document that is not a list of operation objects
// is a 400, more than 10000 operations a 413, and an operation that cannot be
// applied (unknown op, bad or missing path, failed test) a 422.
import jsonpatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { PatchError, badRequest, unprocessable } from './errors.ts';
import { cloneJson, describe, isObject } from './json-value.ts';

/** Upstream's limit on operations in one JSON patch. */
export const MAX_JSON_PATCH_OPERATIONS = 10000;

const OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

/**
 * Apply a parsed JSON Patch to `original` and return the patched copy.
 * Throws PatchError; `original` is never modified.
 */
export function applyJsonPatch(original: object, patch: unknown): object {
  const operations = decodeOperations(patch);
  // Check each operation's shape ourselves first: fast-json-patch also accepts
  // its private `_get` op, and its own messages embed the whole document.
  operations.forEach(checkOperation);

  let result: unknown;
  try {
    result = jsonpatch.applyPatch(cloneJson(original), operations, true, true, true).newDocument;
  } catch (error) {
    throw unprocessable(explain(error, operations));
  }
  if (!isObject(result)) {
    // A `replace`/`add` at the root may swap the object for something else;
    // upstream then fails to decode the result as an object.
    throw unprocessable(`the patched document is not a JSON object: ${describe(result)}`);
  }
  return result;
}

function decodeOperations(patch: unknown): Operation[] {
  if (!Array.isArray(patch)) {
    throw badRequest(`json patch must be a JSON array of operations, got ${describe(patch)}`);
  }
  if (patch.length > MAX_JSON_PATCH_OPERATIONS) {
    throw new PatchError({
      code: 413,
      message: `The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${patch.length}`,
    });
  }
  patch.forEach((op, index) => {
    if (!isObject(op)) throw badRequest(`json patch operation ${index} must be a JSON object, got ${describe(op)}`);
  });
  // Values of add/replace are inserted by reference: copy them so the result
  // shares nothing with the caller's patch.
  return cloneJson(patch) as Operation[];
}

function checkOperation(op: Operation, index: number): void {
  const raw = op as unknown as Record<string, unknown>;
  const where = `json patch operation ${index}`;
  if (typeof raw.op !== 'string' || !OPS.has(raw.op)) {
    throw unprocessable(`${where}: unexpected kind ${describe(raw.op)}; want one of add, remove, replace, move, copy, test`);
  }
  if (typeof raw.path !== 'string') throw unprocessable(`${where} (${raw.op}): missing "path"`);
  if (raw.path !== '' && !raw.path.startsWith('/')) {
    throw unprocessable(`${where} (${raw.op}): path ${describe(raw.path)} must be empty or start with "/"`);
  }
  if ((raw.op === 'move' || raw.op === 'copy') && typeof raw.from !== 'string') {
    throw unprocessable(`${where} (${raw.op} ${raw.path}): missing "from"`);
  }
  if ((raw.op === 'add' || raw.op === 'replace' || raw.op === 'test') && !Object.hasOwn(raw, 'value')) {
    throw unprocessable(`${where} (${raw.op} ${raw.path}): missing "value"`);
  }
}

/** One line naming the operation and what went wrong, without dumping the document. */
function explain(error: unknown, operations: Operation[]): string {
  if (error instanceof jsonpatch.JsonPatchError) {
    const index = error.index ?? -1;
    const op = operations[index] as unknown as Record<string, unknown> | undefined;
    const firstLine = error.message.split('\n', 1)[0];
    if (!op) return `json patch: ${firstLine}`;
    const target = op.from === undefined ? `${op.path}` : `${op.from} -> ${op.path}`;
    if (error.name === 'TEST_OPERATION_FAILED') {
      return `json patch operation ${index}: test failed: value at ${op.path} is not ${describe(op.value)}`;
    }
    return `json patch operation ${index} (${op.op} ${target}): ${firstLine}`;
  }
  // fast-json-patch throws a TypeError for __proto__/constructor paths.
  return `json patch: ${error instanceof Error ? error.message.split('\n', 1)[0] : String(error)}`;
}
