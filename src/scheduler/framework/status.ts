// The result of running a plugin. Plugins never throw to say "no": they return
// a Status whose code tells the framework what to do (upstream's
// framework.Status). `undefined` stands for Success, like upstream's nil
// status, so the hot path allocates nothing.

export type Code =
  /** The plugin ran and is happy. */
  | 'Success'
  /** Something went wrong inside the plugin or its inputs; the cycle aborts. */
  | 'Error'
  /** The pod does not fit this node now; preemption might help. */
  | 'Unschedulable'
  /** The pod does not fit this node and preemption cannot change that. */
  | 'UnschedulableAndUnresolvable'
  /** Permit only: hold the pod until allowed, rejected or timed out. */
  | 'Wait'
  /** PreFilter/PreScore: nothing to do for this pod; the matching Filter/Score is skipped. Bind: not mine. */
  | 'Skip'
  /** Waiting on something outside the scheduler (as upstream's Pending). */
  | 'Pending';

export class Status {
  readonly code: Code;
  readonly reasons: readonly string[];
  /** The plugin that produced (or was blamed for) this status. */
  readonly plugin: string;
  readonly error: Error | undefined;

  constructor(code: Code, reasons: readonly string[] = [], options: { plugin?: string; error?: Error } = {}) {
    this.code = code;
    this.reasons = reasons;
    this.plugin = options.plugin ?? '';
    this.error = options.error;
  }

  isSuccess(): boolean {
    return this.code === 'Success';
  }

  /** Unschedulable, UnschedulableAndUnresolvable or Pending: a "no" rather than a failure. */
  isRejected(): boolean {
    return this.code === 'Unschedulable' || this.code === 'UnschedulableAndUnresolvable' || this.code === 'Pending';
  }

  isSkip(): boolean {
    return this.code === 'Skip';
  }

  isWait(): boolean {
    return this.code === 'Wait';
  }

  /** The reasons joined as upstream joins them. */
  message(): string {
    return this.reasons.join(', ');
  }

  /** The same status attributed to `plugin` (a new object only when it changes). */
  withPlugin(plugin: string): Status {
    if (this.plugin === plugin) return this;
    return new Status(this.code, this.reasons, { plugin, error: this.error });
  }
}

export type PluginResult = Status | undefined;

export const newStatus = (code: Code, ...reasons: string[]): Status => new Status(code, reasons);

/** An Error status from a thrown value (a bug in a plugin must not kill the scheduler). */
export function asStatus(error: unknown): Status {
  const err = error instanceof Error ? error : new Error(String(error));
  return new Status('Error', [err.message], { error: err });
}

/** Treats `undefined` as Success. */
export const isSuccess = (s: PluginResult): boolean => s === undefined || s.code === 'Success';

export const SKIP = new Status('Skip');
