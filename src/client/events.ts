// Recording core/v1 Events, the way components explain themselves
// ("0/5 nodes are available: …", "Pulled image …") to `kubectl describe`.
//
// Like upstream's recorder: each Event names the object it is about
// (involvedObject — kubectl describe finds events by its name, namespace, kind
// and uid), and a repeat of the same (object, type, reason, message) within
// ten minutes does not create another Event but PATCHes the existing one's
// count and lastTimestamp, so a retry loop yields one line "x12 over 5m".
//
// Recording never blocks or throws at the caller: writes run in the
// background, failures are logged, and when too many are pending new ones are
// dropped (events are advisory; the controller's work must go on).
import { isNotFound, resources, type ApiClient, type KubeObject } from './interface.ts';

export interface EventRecorderOptions {
  client: ApiClient;
  /** source.component / reportingComponent, e.g. "default-scheduler", "replicaset-controller". */
  component: string;
  /** source.host / reportingInstance (a node name for node agents). */
  host?: string;
  /** Identical events within this window are counted on one Event (default 10 minutes). */
  aggregateWindowMs?: number;
  /** Writes waiting or in flight beyond this are dropped (default 1000). */
  maxPending?: number;
  /** Distinct events remembered for aggregation (default 4096, least recently seen forgotten first). */
  maxRemembered?: number;
  /**
   * Spam filter, as upstream's: events about one object draw from a bucket of
   * `burst` tokens (default 25) refilled one per `refillMs` (default 5 min);
   * with the bucket empty they are dropped. A controller creating 1000 pods
   * thus writes 25 "Created pod" events, not 1000.
   */
  spamBurst?: number;
  spamRefillMs?: number;
  logger?: { warn(message: string): void };
}

export interface RecordOptions {
  /** The object the event is about; needs apiVersion, kind and metadata.name. */
  object: KubeObject;
  type: 'Normal' | 'Warning';
  /** UpperCamelCase machine-readable cause: "FailedScheduling", "Pulled". */
  reason: string;
  message: string;
  /** Part of the object, e.g. "spec.containers{web}". */
  fieldPath?: string;
}

export interface EventRecorder {
  /** Fire and forget. */
  record(options: RecordOptions): void;
  /** Resolves when every write recorded so far has finished (for shutdown and tests). */
  flush(): Promise<void>;
}

interface InvolvedObject {
  kind: string;
  namespace?: string;
  name: string;
  uid?: string;
  apiVersion: string;
  resourceVersion?: string;
  fieldPath?: string;
}

interface Remembered {
  namespace: string;
  name: string;
  count: number;
  lastSeenMs: number;
}

/** Event timestamps are RFC 3339 with whole seconds, as upstream's metav1.Time. */
const rfc3339 = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

class ApiEventRecorder implements EventRecorder {
  private readonly o: EventRecorderOptions;
  private readonly logger: { warn(message: string): void };
  /** Spam-filter token buckets per involved object; Map order = least recently used first. */
  private readonly buckets = new Map<string, { tokens: number; updatedMs: number }>();
  /** Aggregation key → the Event that counts it; Map order = least recently seen first. */
  private readonly remembered = new Map<string, Remembered>();
  /** Writes of one aggregation key run one after another, so a repeat sees the Event its predecessor made. */
  private readonly chains = new Map<string, Promise<void>>();
  private pending = 0;
  private dropped = 0;
  private lastSuffix = 0n;

  constructor(options: EventRecorderOptions) {
    this.o = options;
    this.logger = options.logger ?? console;
  }

  record(options: RecordOptions): void {
    if (this.pending >= (this.o.maxPending ?? 1000)) {
      // Log the first drop and then every hundredth, not each one: a flood is exactly when logs suffer too.
      if (this.dropped++ % 100 === 0) this.logger.warn(`events: ${this.dropped} dropped, too many pending writes`);
      return;
    }
    let involved: InvolvedObject;
    try {
      involved = involvedObject(options.object, options.fieldPath);
    } catch (error) {
      this.logger.warn(`events: not recording "${options.reason}": ${(error as Error).message}`);
      return;
    }
    const key = JSON.stringify([
      involved.apiVersion, involved.kind, involved.namespace, involved.name, involved.uid, involved.fieldPath,
      options.type, options.reason, options.message,
    ]);
    const at = new Date();
    if (!this.takeSpamToken(involved, at.getTime())) return;
    this.pending++;
    const previous = this.chains.get(key) ?? Promise.resolve();
    const next: Promise<void> = previous
      .then(() => this.write(key, involved, options, at))
      .catch((error) => this.logger.warn(`events: writing "${options.reason}" for ${involved.kind} ${involved.name} failed: ${(error as Error).message}`))
      .finally(() => {
        this.pending--;
        if (this.chains.get(key) === next) this.chains.delete(key);
      });
    this.chains.set(key, next);
  }

  /** One token from the involved object's bucket (upstream's key: source and object, not reason or message). */
  private takeSpamToken(involved: InvolvedObject, nowMs: number): boolean {
    const burst = this.o.spamBurst ?? 25;
    const refillMs = this.o.spamRefillMs ?? 5 * 60_000;
    const key = JSON.stringify([involved.apiVersion, involved.kind, involved.namespace, involved.name, involved.uid]);
    const bucket = this.buckets.get(key) ?? { tokens: burst, updatedMs: nowMs };
    bucket.tokens = Math.min(burst, bucket.tokens + (nowMs - bucket.updatedMs) / refillMs);
    bucket.updatedMs = nowMs;
    this.buckets.delete(key); // re-insert: Map order = least recently used first
    this.buckets.set(key, bucket);
    if (this.buckets.size > (this.o.maxRemembered ?? 4096)) this.buckets.delete(this.buckets.keys().next().value!);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  async flush(): Promise<void> {
    while (this.chains.size > 0) await Promise.all([...this.chains.values()]);
  }

  private async write(key: string, involved: InvolvedObject, options: RecordOptions, at: Date): Promise<void> {
    const window = this.o.aggregateWindowMs ?? 10 * 60_000;
    const seen = this.remembered.get(key);
    if (seen && at.getTime() - seen.lastSeenMs <= window) {
      try {
        await this.o.client.patch({ ...resources.events, namespace: seen.namespace, name: seen.name }, 'merge', {
          count: seen.count + 1,
          lastTimestamp: rfc3339(at),
          message: options.message,
        });
        seen.count++;
        this.remember(key, { ...seen, lastSeenMs: at.getTime() });
        return;
      } catch (error) {
        // Events expire (TTL) or get deleted: then start a new one.
        if (!isNotFound(error)) throw error;
      }
    }
    const namespace = involved.namespace || 'default';
    const name = `${involved.name}.${this.suffix(at)}`;
    const host = this.o.host;
    await this.o.client.create({ ...resources.events, namespace }, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: involved,
      reason: options.reason,
      message: options.message,
      source: { component: this.o.component, ...(host ? { host } : {}) },
      firstTimestamp: rfc3339(at),
      lastTimestamp: rfc3339(at),
      count: 1,
      type: options.type,
      // The core/v1 recorder leaves eventTime unset; it belongs to the events.k8s.io series API.
      eventTime: null,
      reportingComponent: this.o.component,
      reportingInstance: host ?? '',
    });
    this.remember(key, { namespace, name, count: 1, lastSeenMs: at.getTime() });
  }

  private remember(key: string, entry: Remembered): void {
    this.remembered.delete(key);
    this.remembered.set(key, entry);
    const max = this.o.maxRemembered ?? 4096;
    while (this.remembered.size > max) this.remembered.delete(this.remembered.keys().next().value!);
  }

  /** Upstream names events `<object>.<unix nanoseconds in hex>`; strictly increasing here so two in one tick never collide. */
  private suffix(at: Date): string {
    let nanos = BigInt(at.getTime()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
    if (nanos <= this.lastSuffix) nanos = this.lastSuffix + 1n;
    this.lastSuffix = nanos;
    return nanos.toString(16);
  }
}

function involvedObject(object: KubeObject, fieldPath: string | undefined): InvolvedObject {
  const { apiVersion, kind, metadata } = object;
  if (!kind || !apiVersion) throw new Error('the object has no apiVersion/kind');
  if (!metadata?.name) throw new Error(`the ${kind} has no name`);
  const ref: InvolvedObject = { kind, name: metadata.name, apiVersion };
  if (metadata.namespace) ref.namespace = metadata.namespace;
  if (metadata.uid) ref.uid = metadata.uid;
  if (metadata.resourceVersion) ref.resourceVersion = metadata.resourceVersion;
  if (fieldPath) ref.fieldPath = fieldPath;
  return ref;
}

export function createEventRecorder(options: EventRecorderOptions): EventRecorder {
  return new ApiEventRecorder(options);
}
