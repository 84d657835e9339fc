// Element order of merged lists in a strategic merge patch.
//
// Upstream's rule (apimachinery strategicpatch, "preserve order in strategic
// merge patch" design): the items named by the patch (or by its
// `$setElementOrder/<list>` directive) take the order the patch gives them;
// items only the server knows keep their order relative to each other; the two
// runs are then interleaved using the live list as reference: a server-only
// item goes before a patch item when it stood before that item in the live
// list. Patch items the live list does not know yet are emitted as soon as
// they come up, so with no `$setElementOrder` a new item named first in the
// patch lands at the front of the result — as it does upstream. (Which live
// order `$setElementOrder` uses after deletions: see mergeListWithOrder in
// strategic-merge-patch.ts.)
import { internal } from './errors.ts';
import { describe, isObject, jsonEqual } from './json-value.ts';
import type { JsonObject } from './json-value.ts';

export const PATCH_DIRECTIVE = '$patch';

/**
 * How list items are identified: objects by their merge key, primitives by value.
 * `mergeKey` is only used when `objects` is true.
 */
export interface ItemIdentity {
  objects: boolean;
  mergeKey: string;
}

export function noMergeKeyError(item: unknown, mergeKey: string) {
  return internal(`map: ${describe(item)} does not contain declared merge key: ${mergeKey}`);
}

/** The value an item is matched by. Throws (500, as upstream) for an object without its merge key. */
function identityOf(item: unknown, id: ItemIdentity): unknown {
  if (!id.objects) return item;
  if (!isObject(item)) throw internal(`expected a map, but received ${describe(item)}`);
  if (!Object.hasOwn(item, id.mergeKey)) throw noMergeKeyError(item, id.mergeKey);
  return item[id.mergeKey];
}

/**
 * Position of `item` in `list`, or -1. List entries without the merge key
 * never match (they are not validated: `$setElementOrder` lists are checked
 * where upstream checks them).
 */
function positionIn(list: unknown[], key: unknown, id: ItemIdentity): number {
  return list.findIndex((entry) => {
    if (!id.objects) return jsonEqual(entry, key);
    if (!isObject(entry)) throw internal(`expected a map, but received ${describe(entry)}`);
    return Object.hasOwn(entry, id.mergeKey) && jsonEqual(entry[id.mergeKey], key);
  });
}

/** Split `items` into those named in `by` and the rest, keeping relative order. */
export function partitionByPresence(items: unknown[], by: unknown[], id: ItemIdentity): { named: unknown[]; others: unknown[] } {
  const named: unknown[] = [];
  const others: unknown[] = [];
  for (const item of items) {
    (positionIn(by, identityOf(item, id), id) >= 0 ? named : others).push(item);
  }
  return { named, others };
}

/** Stable sort of `items` by their position in `order`; items `order` lacks go last. */
function sortByOrder(items: unknown[], order: unknown[], id: ItemIdentity): unknown[] {
  if (id.objects) {
    // Upstream insists on the merge key in both lists before sorting.
    for (const entry of order) identityOf(entry, id);
  }
  const ranked = items.map((item, index) => {
    const position = positionIn(order, identityOf(item, id), id);
    return { item, index, rank: position >= 0 ? position : Number.MAX_SAFE_INTEGER };
  });
  ranked.sort((a, b) => a.rank - b.rank || a.index - b.index);
  return ranked.map((r) => r.item);
}

/**
 * Final order of a merged list: `patchItems` sorted by `patchOrder`,
 * `serverOnly` sorted by `serverOrder`, then interleaved (see file comment).
 */
export function normalizeElementOrder(options: {
  patchItems: unknown[];
  serverOnly: unknown[];
  patchOrder: unknown[];
  serverOrder: unknown[];
  id: ItemIdentity;
}): unknown[] {
  const { id, serverOrder } = options;
  const right = sortByOrder(options.patchItems, options.patchOrder, id);
  const left = sortByOrder(options.serverOnly, serverOrder, id);
  const livePosition = (item: unknown) => positionIn(serverOrder, identityOf(item, id), id);

  const result: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (j >= right.length) {
      result.push(left[i++]);
    } else if (i >= left.length) {
      result.push(right[j++]);
    } else {
      const l = livePosition(left[i]);
      const r = livePosition(right[j]);
      if (l >= 0 && r >= 0 && l < r) result.push(left[i++]);
      else result.push(right[j++]);
    }
  }
  return result;
}

function hasDirective(item: unknown): boolean {
  return isObject(item) && Object.hasOwn(item, PATCH_DIRECTIVE);
}

/**
 * Check a `$setElementOrder` list against the patch list it orders: the
 * patch's items (deletions and other directive items aside) must appear in the
 * order list, in the same relative order. Upstream reports a mismatch as a
 * plain error (500).
 */
export function validateSetElementOrder(patchList: unknown[], order: unknown[], id: ItemIdentity): void {
  if (order.length === 0 || patchList.length === 0) return;
  let items = patchList;
  if (id.objects) {
    items = patchList.filter((item) => {
      if (!isObject(item)) throw internal(`expected a map, but received ${describe(item)}`);
      return (item as JsonObject)[PATCH_DIRECTIVE] !== 'delete';
    });
  }
  let p = 0;
  let s = 0;
  while (p < items.length && s < order.length) {
    if (hasDirective(items[p])) {
      p++;
      continue;
    }
    const same = id.objects
      ? jsonEqual(identityOf(items[p], id), identityOf(order[s], id))
      : jsonEqual(items[p], order[s]);
    if (same) p++;
    s++;
  }
  if (p < items.length) {
    throw internal(`The order in patch list:\n${describe(patchList)}\n doesn't match $setElementOrder list:\n${describe(order)}`);
  }
}
