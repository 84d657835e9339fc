// Pods held at Permit (upstream waitingPodsMap). A Permit plugin that says
// Wait names how long; the pod goes on only when every waiting plugin allows
// it, and is rejected by the first plugin that rejects it or times out.
// Every timer is cleared when the pod leaves, so nothing outlives it.
import { Status } from './status.ts';
import type { PodInfo } from './pod-info.ts';
import type { WaitingPod } from './interface.ts';

/** Upstream caps any Permit wait at 15 minutes. */
export const MAX_PERMIT_TIMEOUT_MS = 15 * 60 * 1000;

export class WaitingPodImpl implements WaitingPod {
  readonly pod: PodInfo;
  readonly nodeName: string;
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>();
  #settle: ((s: Status) => void) | undefined;
  #result: Status | undefined;
  readonly done: Promise<Status>;

  constructor(pod: PodInfo, nodeName: string, waits: Map<string, number>) {
    this.pod = pod;
    this.nodeName = nodeName;
    this.done = new Promise((resolve) => {
      this.#settle = resolve;
    });
    for (const [plugin, ms] of waits) {
      const timer = setTimeout(
        () => this.reject(plugin, `rejected due to timeout after waiting ${ms / 1000}s at plugin ${plugin}`),
        Math.min(ms, MAX_PERMIT_TIMEOUT_MS),
      );
      this.#timers.set(plugin, timer);
    }
  }

  pendingPlugins(): string[] {
    return [...this.#timers.keys()];
  }

  allow(plugin: string): void {
    const timer = this.#timers.get(plugin);
    if (timer === undefined || this.#result) return;
    clearTimeout(timer);
    this.#timers.delete(plugin);
    if (this.#timers.size === 0) this.#finish(new Status('Success'));
  }

  reject(plugin: string, message: string): void {
    if (this.#result) return;
    this.#finish(new Status('Unschedulable', [message], { plugin }));
  }

  #finish(status: Status): void {
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    this.#result = status;
    this.#settle?.(status);
  }
}

export class WaitingPods {
  readonly #pods = new Map<string, WaitingPodImpl>();

  add(wp: WaitingPodImpl): void {
    this.#pods.set(wp.pod.uid, wp);
  }

  get(uid: string): WaitingPodImpl | undefined {
    return this.#pods.get(uid);
  }

  remove(uid: string): void {
    this.#pods.delete(uid);
  }

  forEach(fn: (wp: WaitingPodImpl) => void): void {
    for (const wp of this.#pods.values()) fn(wp);
  }

  /** Rejects every waiting pod (scheduler shutdown), clearing their timers. */
  rejectAll(message: string): void {
    for (const wp of [...this.#pods.values()]) for (const p of wp.pendingPlugins()) wp.reject(p, message);
  }
}
