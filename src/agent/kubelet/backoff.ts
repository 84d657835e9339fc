// CrashLoopBackOff: how long a failed container waits before its next start
// (upstream's flowcontrol.Backoff as kubelet uses it). The first restart
// after a crash is immediate and arms 10 s; each further crash doubles the
// wait up to 5 min. The wait counts from the moment the container finished.
// A container that ran for longer than twice the maximum (10 min) before
// its crash starts over at 10 s.
export interface CrashBackoffOptions {
  initialMs?: number;
  maxMs?: number;
  now?: () => number;
}

interface Entry {
  delayMs: number;
  /** finishedAt of the crash that set this delay. */
  lastFinishedAt: number;
}

export class CrashBackoff {
  private readonly entries = new Map<string, Entry>();
  readonly initialMs: number;
  readonly maxMs: number;
  private readonly now: () => number;

  constructor(options: CrashBackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 10_000;
    this.maxMs = options.maxMs ?? 300_000;
    this.now = options.now ?? Date.now;
  }

  private expired(entry: Entry, finishedAt: number): boolean {
    return finishedAt - entry.lastFinishedAt > 2 * this.maxMs;
  }

  /**
   * While the container that finished at `finishedAt` must still wait: the
   * remaining milliseconds and the delay in force; undefined when it may
   * start now.
   */
  waiting(key: string, finishedAt: number): { remainingMs: number; delayMs: number } | undefined {
    const entry = this.entries.get(key);
    if (!entry || this.expired(entry, finishedAt)) return undefined;
    const remainingMs = finishedAt + entry.delayMs - this.now();
    return remainingMs > 0 ? { remainingMs, delayMs: entry.delayMs } : undefined;
  }

  /** The container is restarted after the crash at `finishedAt`: arm (or double) the next wait. */
  restarted(key: string, finishedAt: number): void {
    const entry = this.entries.get(key);
    if (entry?.lastFinishedAt === finishedAt) return;
    const delayMs = !entry || this.expired(entry, finishedAt) ? this.initialMs : Math.min(entry.delayMs * 2, this.maxMs);
    this.entries.set(key, { delayMs, lastFinishedAt: finishedAt });
  }

  forget(key: string): void {
    this.entries.delete(key);
  }

  /** Drop every key of a pod (`uid/…`). */
  forgetPod(podUid: string): void {
    for (const key of this.entries.keys()) if (key.startsWith(`${podUid}/`)) this.entries.delete(key);
  }
}

/** Go's time.Duration.String() for whole seconds, as the CrashLoopBackOff message shows them: `10s`, `1m20s`, `5m0s`. */
export function formatDuration(ms: number): string {
  const total = Math.round(ms / 1000);
  if (total < 60) return `${total}s`;
  const minutes = Math.floor(total / 60);
  const seconds = total % 60;
  if (minutes < 60) return `${minutes}m${seconds}s`;
  return `${Math.floor(minutes / 60)}h${minutes % 60}m${seconds}s`;
}
