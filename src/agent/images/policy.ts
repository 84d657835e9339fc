// imagePullPolicy as upstream defines it, and kubelet's pull back-off.
import { parseReference } from './reference.ts';

export type PullPolicy = 'Always' | 'IfNotPresent' | 'Never';

/**
 * The API server's default when a container gives no imagePullPolicy:
 * `Always` for the `latest` tag or no tag at all, else `IfNotPresent`
 * (an image pinned by digest alone is `IfNotPresent`).
 */
export function defaultPullPolicy(image: string): PullPolicy {
  let ref;
  try {
    ref = parseReference(image);
  } catch {
    return 'IfNotPresent';
  }
  if (ref.tag === undefined && ref.digest === undefined) return 'Always';
  return ref.tag === 'latest' ? 'Always' : 'IfNotPresent';
}

/** kubelet's shouldPullImage: Never never pulls, IfNotPresent pulls what is missing, Always always asks the registry. */
export function shouldPull(options: { policy: PullPolicy; present: boolean }): boolean {
  switch (options.policy) {
    case 'Never': return false;
    case 'IfNotPresent': return !options.present;
    case 'Always': return true;
  }
}

/**
 * Per-image (and per-pod, by the key the agent chooses) back-off between
 * failed pulls, as kubelet's: 10 s doubling up to 5 min; while backing off
 * the container waits with reason `ImagePullBackOff`.
 */
export class PullBackoff {
  private readonly entries = new Map<string, { delayMs: number; until: number }>();
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly now: () => number;

  constructor(options: { initialMs?: number; maxMs?: number; now?: () => number } = {}) {
    this.initialMs = options.initialMs ?? 10_000;
    this.maxMs = options.maxMs ?? 300_000;
    this.now = options.now ?? Date.now;
  }

  /** True while a new pull for `key` should wait. */
  inBackoff(key: string): boolean {
    const entry = this.entries.get(key);
    return entry !== undefined && this.now() < entry.until;
  }

  /** Records a failure; the next attempt waits twice as long as the last (capped). */
  failed(key: string): void {
    const previous = this.entries.get(key);
    const delayMs = previous ? Math.min(previous.delayMs * 2, this.maxMs) : this.initialMs;
    this.entries.set(key, { delayMs, until: this.now() + delayMs });
  }

  succeeded(key: string): void {
    this.entries.delete(key);
  }

  /** The waiting message kubelet shows meanwhile. */
  static message(image: string): string {
    return `Back-off pulling image "${image}"`;
  }
}
