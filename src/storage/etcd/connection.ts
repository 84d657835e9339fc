// The gRPC connection to an etcd v3 cluster (through the `etcd3` package's
// connection pool and generated clients), with the failure policy the API
// server needs: every call has a deadline, is retried on another member only
// when that cannot apply it twice, and fails as StorageUnavailableError so
// requests answer 503/504 instead of hanging.
import type { CallOptions } from '@grpc/grpc-js';
import { noop } from 'cockatiel';
import { Etcd3, GRPCDeadlineExceededError, type IOptions } from 'etcd3';
import { StorageUnavailableError } from '../interface.ts';

export interface EtcdTls {
  /** PEM CA bundle that signed the etcd members' certificates (default: system roots). */
  ca?: Buffer;
  /** PEM client certificate and key, when etcd requires client certificates. */
  cert?: Buffer;
  key?: Buffer;
}

export interface EtcdConnectionOptions {
  /** Client URLs of the members: `http://127.0.0.1:2379` or `https://…`. */
  endpoints: string[];
  tls?: EtcdTls;
  /** Deadline of one call including its retries. Default 5 s. */
  callTimeoutMs?: number;
}

/** How a call may be retried after a member failed. */
export type RetryMode =
  /** Reads and other calls that can run twice harmlessly: retry on any unavailable member. */
  | 'idempotent'
  /** Writes: retry only when the request cannot have reached etcd (no connection). */
  | 'unsent-only';

const DEFAULT_CALL_TIMEOUT_MS = 5_000;
/** Pause between attempts: short, since an attempt on a down member fails at once. */
const RETRY_PAUSE_MS = 50;

export class EtcdConnection {
  readonly client: Etcd3;
  readonly callTimeoutMs: number;
  readonly #attempts: number;

  constructor(options: EtcdConnectionOptions) {
    if (options.endpoints.length === 0) throw new Error('etcd: no endpoints');
    for (const endpoint of options.endpoints) {
      if (!/^https?:\/\/[^/]+\/?$/.test(endpoint)) throw new Error(`etcd: endpoint ${endpoint} is not http(s)://host:port`);
    }
    this.callTimeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    // One try per member plus one, so a call finds a live member of a cluster.
    this.#attempts = options.endpoints.length + 1;
    const clientOptions: IOptions = {
      hosts: options.endpoints.map((endpoint) => endpoint.replace(/\/$/, '')),
      // Retries and deadlines are ours (below): the package's default retry
      // policy would re-send writes, and its circuit breaker would hide a
      // recovered etcd for seconds.
      faultHandling: { host: () => noop, global: noop },
      grpcOptions: {
        // A 1 MiB object (or a page of them, or a watch response) exceeds grpc's 4 MiB default.
        'grpc.max_receive_message_length': -1,
        'grpc.max_send_message_length': -1,
        // Find a dead connection (etcd frozen, member gone) while a watch is open. etcd
        // accepts pings every 5 s or slower, and only while a call or stream is open.
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5_000,
        // Reconnect to a restarted etcd within about a second, not grpc's default of up to 2 minutes.
        'grpc.initial_reconnect_backoff_ms': 200,
        'grpc.max_reconnect_backoff_ms': 1_000,
      },
    };
    const tls = options.tls;
    if (tls && (tls.ca || tls.cert || tls.key)) {
      if (!tls.cert !== !tls.key) throw new Error('etcd: a client certificate needs both a certificate and a key file');
      // grpc takes null for "system roots"; the package's type insists on a Buffer.
      clientOptions.credentials = { rootCertificate: tls.ca ?? (null as unknown as Buffer), certChain: tls.cert, privateKey: tls.key };
    }
    this.client = new Etcd3(clientOptions);
  }

  /**
   * Runs one etcd call with a deadline, retrying as `retry` allows, and turns
   * transport failures into StorageUnavailableError. Other errors (etcd's own
   * answers such as "revision compacted") pass through for the caller.
   */
  async call<T>(what: string, retry: RetryMode, run: (options: CallOptions) => Promise<T>, timeoutMs = this.callTimeoutMs): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await run({ deadline });
      } catch (error) {
        const failure = classify(error);
        if (failure === 'answer') throw error;
        const message = `etcd ${what}: ${(error as Error).message}`;
        if (failure === 'timeout' || Date.now() + RETRY_PAUSE_MS >= deadline) {
          throw new StorageUnavailableError(failure === 'timeout' ? message : `${message} (deadline reached)`, { timeout: failure === 'timeout' });
        }
        const retryable = retry === 'idempotent' || failure === 'unsent';
        if (!retryable || attempt >= this.#attempts) throw new StorageUnavailableError(message, { timeout: false });
        await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
      }
    }
  }

  close(): void {
    this.client.close();
  }
}

type Failure = 'answer' | 'timeout' | 'unsent' | 'unavailable';

/**
 * What an error from the etcd3 package means for the caller:
 * - answer: etcd processed the request and said no (compacted, future revision, …);
 * - timeout: the deadline passed (the request may still be applied);
 * - unsent: no connection existed, so the request never left this process;
 * - unavailable: the connection failed or the cluster cannot serve (no leader).
 */
export function classify(error: unknown): Failure {
  if (error instanceof GRPCDeadlineExceededError) return 'timeout';
  const message = error instanceof Error ? error.message : String(error);
  if (/DEADLINE_EXCEEDED|Deadline exceeded/i.test(message)) return 'timeout';
  if (/No connection established|ECONNREFUSED|connect EHOSTUNREACH|Name resolution failed/i.test(message)) return 'unsent';
  // grpc status 14 (UNAVAILABLE) covers dropped connections and etcd's
  // "no leader", "leader changed" and "request timed out"; 1 (CANCELLED)
  // and 13 (INTERNAL) arrive when a stream or connection is torn down.
  if (/^(14 UNAVAILABLE|1 CANCELLED|13 INTERNAL)|UNAVAILABLE:|Connection dropped|client was already closed/i.test(message)) return 'unavailable';
  return 'answer';
}
