// A binary heap whose items are also addressable by key, so a queued pod can
// be found, updated or removed in O(log n).

export class Heap<T> {
  private readonly less: (a: T, b: T) => boolean;
  private readonly items: { key: string; item: T }[] = [];
  private readonly index = new Map<string, number>();

  constructor(less: (a: T, b: T) => boolean) {
    this.less = less;
  }

  get size(): number {
    return this.items.length;
  }

  has(key: string): boolean {
    return this.index.has(key);
  }

  get(key: string): { item: T } | undefined {
    const i = this.index.get(key);
    return i === undefined ? undefined : { item: this.items[i].item };
  }

  /** Add, or replace and re-position an item with the same key. */
  push(key: string, item: T): void {
    if (this.index.has(key)) {
      this.update(key, item);
      return;
    }
    this.items.push({ key, item });
    this.index.set(key, this.items.length - 1);
    this.up(this.items.length - 1);
  }

  update(key: string, item: T): void {
    const i = this.index.get(key);
    if (i === undefined) return;
    this.items[i].item = item;
    this.down(this.up(i));
  }

  pop(): T | undefined {
    if (this.items.length === 0) return undefined;
    const top = this.items[0];
    this.removeAt(0);
    return top.item;
  }

  remove(key: string): boolean {
    const i = this.index.get(key);
    if (i === undefined) return false;
    this.removeAt(i);
    return true;
  }

  private removeAt(i: number): void {
    const removed = this.items[i];
    const last = this.items.pop()!;
    this.index.delete(removed.key);
    if (removed !== last) {
      this.items[i] = last;
      this.index.set(last.key, i);
      this.down(this.up(i));
    }
  }

  private up(i: number): number {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(this.items[i].item, this.items[parent].item)) break;
      this.swap(i, parent);
      i = parent;
    }
    return i;
  }

  private down(i: number): number {
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let best = i;
      if (left < this.items.length && this.less(this.items[left].item, this.items[best].item)) best = left;
      if (right < this.items.length && this.less(this.items[right].item, this.items[best].item)) best = right;
      if (best === i) return i;
      this.swap(i, best);
      i = best;
    }
  }

  private swap(a: number, b: number): void {
    [this.items[a], this.items[b]] = [this.items[b], this.items[a]];
    this.index.set(this.items[a].key, a);
    this.index.set(this.items[b].key, b);
  }
}
