// Field sets: which fields of an object a manager owns, as a trie of path
// elements (see path-element.ts). A node holds "members" (paths that end here:
// the manager owns that field or list item itself) and "children" (paths that
// continue). FieldsV1, upstream's JSON form in metadata.managedFields[], is
// that trie as nested objects: `{}` for a leaf member, a nested object for a
// child, and `".": {}` inside a child that is also a member itself.
//
// The set operations are path-wise, as upstream defines them (so a parent
// minus a child is still the parent); recursiveDifference removes whole
// subtrees. Sets are built with insert and never change afterwards.
import { isObject, member } from './json.ts';
import { comparePathElements, fieldElement, parsePathElement, pathString } from './path-element.ts';
import type { Path, PathElement } from './path-element.ts';
import { ApplyValueError, fieldOf, listItemElement, shapeOf } from './schema-types.ts';
import type { SchemaTypes } from './schema-types.ts';
import type { SchemaNode } from '../../api/schema/facts.ts';

interface ChildNode {
  readonly pe: PathElement;
  readonly set: FieldSet;
}

export class FieldSet {
  readonly #members = new Map<string, PathElement>();
  readonly #children = new Map<string, ChildNode>();

  /** A set with these members and children (empty children are left out). */
  static compose(members: Iterable<PathElement>, children: Iterable<{ pe: PathElement; set: FieldSet }>): FieldSet {
    const out = new FieldSet();
    for (const pe of members) out.#members.set(pe.text, pe);
    for (const child of children) {
      if (child.set.isEmpty()) continue;
      const existing = out.#children.get(child.pe.text);
      out.#children.set(child.pe.text, { pe: child.pe, set: existing ? existing.set.union(child.set) : child.set });
    }
    return out;
  }

  static fromPaths(paths: Iterable<Path>): FieldSet {
    const set = new FieldSet();
    for (const path of paths) set.insert(path);
    return set;
  }

  /** Add a path (an empty path is ignored: nobody owns "the whole object"). */
  insert(path: Path): void {
    if (path.length === 0) return;
    let node: FieldSet = this;
    for (let i = 0; i < path.length - 1; i++) node = node.#descend(path[i]);
    const last = path[path.length - 1];
    node.#members.set(last.text, last);
  }

  #descend(pe: PathElement): FieldSet {
    let child = this.#children.get(pe.text);
    if (!child) {
      child = { pe, set: new FieldSet() };
      this.#children.set(pe.text, child);
    }
    return child.set;
  }

  /** Whether `path` is a member (owned itself, not merely a prefix of owned paths). */
  has(path: Path): boolean {
    if (path.length === 0) return false;
    let node: FieldSet | undefined = this;
    for (let i = 0; i < path.length - 1 && node; i++) node = node.#children.get(path[i].text)?.set;
    return node ? node.#members.has(path[path.length - 1].text) : false;
  }

  hasMember(pe: PathElement): boolean {
    return this.#members.has(pe.text);
  }

  /** The subset below `pe` (without the prefix); empty when there is none. */
  withPrefix(pe: PathElement): FieldSet {
    return this.#children.get(pe.text)?.set ?? new FieldSet();
  }

  isEmpty(): boolean {
    return this.#members.size === 0 && this.#children.size === 0;
  }

  /** Members, sorted as upstream sorts path elements. */
  members(): PathElement[] {
    return [...this.#members.values()].sort(comparePathElements);
  }

  /** Children, sorted as upstream sorts path elements. */
  children(): { pe: PathElement; set: FieldSet }[] {
    return [...this.#children.values()].sort((a, b) => comparePathElements(a.pe, b.pe));
  }

  union(other: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const [text, pe] of this.#members) out.#members.set(text, pe);
    for (const [text, pe] of other.#members) out.#members.set(text, pe);
    for (const [text, child] of this.#children) {
      const theirs = other.#children.get(text);
      out.#children.set(text, theirs ? { pe: child.pe, set: child.set.union(theirs.set) } : child);
    }
    for (const [text, child] of other.#children) if (!out.#children.has(text)) out.#children.set(text, child);
    return out;
  }

  intersection(other: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const [text, pe] of this.#members) if (other.#members.has(text)) out.#members.set(text, pe);
    for (const [text, child] of this.#children) {
      const theirs = other.#children.get(text);
      if (!theirs) continue;
      const both = child.set.intersection(theirs.set);
      if (!both.isEmpty()) out.#children.set(text, { pe: child.pe, set: both });
    }
    return out;
  }

  /** Paths of this set that are not paths of `other` (path-wise: a member of `other` does not remove what lies below it). */
  difference(other: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const [text, pe] of this.#members) if (!other.#members.has(text)) out.#members.set(text, pe);
    for (const [text, child] of this.#children) {
      const theirs = other.#children.get(text);
      if (!theirs) {
        out.#children.set(text, child);
        continue;
      }
      const rest = child.set.difference(theirs.set);
      if (!rest.isEmpty()) out.#children.set(text, { pe: child.pe, set: rest });
    }
    return out;
  }

  /** Like difference, but a member of `other` also removes everything below it. */
  recursiveDifference(other: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const [text, pe] of this.#members) if (!other.#members.has(text)) out.#members.set(text, pe);
    for (const [text, child] of this.#children) {
      if (other.#members.has(text)) continue;
      const theirs = other.#children.get(text);
      if (!theirs) {
        out.#children.set(text, child);
        continue;
      }
      const rest = child.set.recursiveDifference(theirs.set);
      if (!rest.isEmpty()) out.#children.set(text, { pe: child.pe, set: rest });
    }
    return out;
  }

  equals(other: FieldSet): boolean {
    if (this.#members.size !== other.#members.size || this.#children.size !== other.#children.size) return false;
    for (const text of this.#members.keys()) if (!other.#members.has(text)) return false;
    for (const [text, child] of this.#children) {
      const theirs = other.#children.get(text);
      if (!theirs || !child.set.equals(theirs.set)) return false;
    }
    return true;
  }

  /** Every member path: this node's members first, then each child's, in upstream's order. */
  paths(): Path[] {
    const out: Path[] = [];
    const walk = (set: FieldSet, prefix: PathElement[]) => {
      for (const pe of set.members()) out.push([...prefix, pe]);
      for (const child of set.children()) walk(child.set, [...prefix, child.pe]);
    };
    walk(this, []);
    return out;
  }

  /** The FieldsV1 object, keys in upstream's order (so JSON.stringify gives upstream's bytes, up to HTML escaping). */
  toFieldsV1(): Record<string, unknown> {
    return this.#emit(false);
  }

  #emit(includeSelf: boolean): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    if (includeSelf && !this.isEmpty()) out['.'] = {};
    const members = this.members();
    const children = this.children();
    let m = 0;
    let c = 0;
    while (m < members.length || c < children.length) {
      const order = m >= members.length ? 1 : c >= children.length ? -1 : comparePathElements(members[m], children[c].pe);
      if (order < 0) {
        out[members[m++].text] = {};
      } else if (order > 0) {
        out[children[c].pe.text] = children[c].set.#emit(false);
        c++;
      } else {
        out[children[c].pe.text] = children[c].set.#emit(true);
        m++;
        c++;
      }
    }
    return out;
  }

  /** Read a FieldsV1 object; unknown element types are dropped, malformed ones throw. */
  static fromFieldsV1(json: unknown): FieldSet {
    if (!isObject(json)) throw new Error('FieldsV1 must be a JSON object');
    return FieldSet.#read(json).children ?? new FieldSet();
  }

  /** One FieldsV1 node: its children (if any), and whether it is itself a member. */
  static #read(json: Record<string, unknown>): { children: FieldSet | undefined; isMember: boolean } {
    let children: FieldSet | undefined;
    let isMember = false;
    for (const [key, value] of Object.entries(json)) {
      if (key === '.') {
        isMember = true;
        continue;
      }
      const pe = parsePathElement(key);
      if (!pe) continue;
      if (!isObject(value)) throw new Error(`FieldsV1 value for ${JSON.stringify(key)} must be a JSON object`);
      const child = FieldSet.#read(value);
      children ??= new FieldSet();
      if (child.isMember) children.#members.set(pe.text, pe);
      if (child.children) {
        const existing = children.#children.get(pe.text);
        children.#children.set(pe.text, { pe, set: existing ? existing.set.union(child.children) : child.children });
      }
    }
    // A node with no children ({} or {".": {}}) is a leaf: a member.
    return { children, isMember: children === undefined ? true : isMember };
  }
}

/**
 * The fields an object sets, walking it with its schema (upstream's
 * ToFieldSet): every scalar, atomic list and atomic map is a member; items of
 * associative lists are members (and their fields below them); map keys that
 * are not struct fields are members; a field whose value is null or `{}` is a
 * member. A struct field with content is only a prefix: owning
 * `.spec.replicas` does not own `.spec`.
 *
 * Items whose key appears twice are owned as a whole (a member, nothing below).
 */
export function fieldSetFromObject(value: unknown, schema: SchemaNode | undefined, types: SchemaTypes): FieldSet {
  const set = new FieldSet();
  walk({ value, schema, types, set, path: [] });
  return set;
}

function walk(ctx: { value: unknown; schema: SchemaNode | undefined; types: SchemaTypes; set: FieldSet; path: PathElement[] }): void {
  const { value, types, set, path } = ctx;
  const shape = shapeOf(types.typeOf(ctx.schema), value);
  if (shape.walk === 'leaf') {
    set.insert(path);
    return;
  }
  if (value === null) return;
  if (shape.walk === 'list') {
    const items = value as unknown[];
    const elements = items.map((item) => elementOrThrow(shape.type, item, path));
    const seen = new Set<string>();
    const duplicated = new Set<string>();
    for (const pe of elements) {
      if (seen.has(pe.text) && !duplicated.has(pe.text)) {
        duplicated.add(pe.text);
        set.insert([...path, pe]);
      }
      seen.add(pe.text);
    }
    items.forEach((item, i) => {
      const pe = elements[i];
      if (duplicated.has(pe.text)) return;
      const childPath = [...path, pe];
      walk({ value: item, schema: shape.type.item, types, set, path: childPath });
      set.insert(childPath);
    });
    return;
  }
  const object = value as Record<string, unknown>;
  for (const key of Object.keys(object)) {
    const child = member(object, key);
    const field = fieldOf(shape.type, key);
    const childPath = [...path, fieldElement(key)];
    walk({ value: child, schema: field.schema, types, set, path: childPath });
    if (child === null || (isObject(child) && Object.keys(child).length === 0) || !field.named) set.insert(childPath);
  }
}

function elementOrThrow(type: Parameters<typeof listItemElement>[0], item: unknown, path: PathElement[]): PathElement {
  try {
    return listItemElement(type, item);
  } catch (error) {
    if (error instanceof ApplyValueError) throw new ApplyValueError(`${pathString(path)}: ${error.message}`);
    throw error;
  }
}
