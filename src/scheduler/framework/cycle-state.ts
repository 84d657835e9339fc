// Per-cycle scratch space: PreFilter/PreScore write what they computed once,
// Filter/Score read it for every node (upstream framework.CycleState).
// Preemption and nominated-pod checks clone it and then let the
// PreFilterExtensions (AddPod/RemovePod) update the clone's data, so data
// that changes that way must implement clone().

export interface StateData {
  /** Deep enough copy for AddPod/RemovePod to change; omit for immutable data (it is shared). */
  clone?(): StateData;
}

export class CycleState {
  readonly #data = new Map<string, object>();
  /** Plugins whose PreFilter returned Skip: their Filter is not run this cycle. */
  skipFilterPlugins = new Set<string>();
  /** Plugins whose PreScore returned Skip: their Score is not run this cycle. */
  skipScorePlugins = new Set<string>();

  read<T extends object>(key: string): T | undefined {
    return this.#data.get(key) as T | undefined;
  }

  /** `value` may implement StateData.clone; without it the value is shared by clones (keep it immutable then). */
  write(key: string, value: object): void {
    this.#data.set(key, value);
  }

  delete(key: string): void {
    this.#data.delete(key);
  }

  clone(): CycleState {
    const c = new CycleState();
    for (const [k, v] of this.#data) {
      const clone = (v as StateData).clone;
      c.#data.set(k, typeof clone === 'function' ? clone.call(v) : v);
    }
    c.skipFilterPlugins = new Set(this.skipFilterPlugins);
    c.skipScorePlugins = new Set(this.skipScorePlugins);
    return c;
  }
}
