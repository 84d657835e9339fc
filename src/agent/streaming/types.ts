// What the node's streaming server (kubelet's port 10250 endpoints: container
// logs, exec, attach) needs from the rest of the agent. The server itself does
// no Kubernetes reasoning: the backend resolves a pod's container and hands
// back a runtime StreamSession or a CRI log file; tests pass a fake backend.
import type { Duplex } from 'node:stream';
import type { ExecOptions, StreamSession } from '../runtime/types.ts';

/** A container addressed the way kubelet's URLs address it. */
export interface ContainerTarget {
  namespace: string;
  pod: string;
  /** The pod's uid when the URL carried one (`/exec/ns/pod/uid/container`). */
  podUid?: string;
  container: string;
}

/** A pod addressed the way kubelet's /portForward URLs address it. */
export interface PodTarget {
  namespace: string;
  pod: string;
  podUid?: string;
}

/** The log file of one container attempt and a way to tell when following it can stop. */
export interface ContainerLogSource {
  /** The CRI-format log file (kubelet: /var/log/pods/<ns>_<pod>_<uid>/<container>/<attempt>.log). */
  path: string;
  /** Whether the attempt that writes `path` still runs; `follow` ends once it does not and the file is drained. */
  isRunning(): Promise<boolean>;
}

export interface StreamingBackend {
  /** Start a command in the container (kubectl exec). */
  exec(target: ContainerTarget, options: ExecOptions): Promise<StreamSession>;
  /** Attach to the container's main process (kubectl attach). */
  attach(target: ContainerTarget, options: { stdin: boolean; tty: boolean }): Promise<StreamSession>;
  /**
   * Optional: throws what exec/attach of `target` would refuse with (no such pod, container not
   * running), without starting anything. The server asks before refusing a protocol it does not
   * speak (SPDY), so a client that falls back to it still learns the real reason.
   */
  check?(target: ContainerTarget): Promise<void>;
  /**
   * A connection to `port` on localhost inside the pod's network namespace
   * (kubectl port-forward). Rejects with what the client is told: a
   * StreamingError (no such pod), or any other Error (connection refused).
   */
  portForward(target: PodTarget, port: number): Promise<Duplex>;
  /** Optional: throws a StreamingError when the node runs no such pod (asked before a port-forward upgrade, as kubelet does). */
  checkPod?(target: PodTarget): Promise<void>;
  /** The log of the current attempt, or with `previous` of the one before it. */
  containerLog(target: ContainerTarget, options: { previous: boolean }): Promise<ContainerLogSource>;
}

/**
 * A refusal the server reports to its caller as a Status with this code:
 * backends throw it for "no such pod" (404) or "container is waiting to start" (400).
 */
export class StreamingError extends Error {
  readonly code: number;
  readonly reason: string;
  /** Extra response headers (X-Accepted-Stream-Protocol-Versions on a failed negotiation). */
  readonly headers?: Record<string, string>;
  constructor(options: { code: number; reason?: string; message: string; headers?: Record<string, string> }) {
    super(options.message);
    this.code = options.code;
    this.reason = options.reason ?? reasonFor(options.code);
    this.headers = options.headers;
  }

  static notFound(message: string): StreamingError {
    return new StreamingError({ code: 404, message });
  }

  static badRequest(message: string): StreamingError {
    return new StreamingError({ code: 400, message });
  }
}

function reasonFor(code: number): string {
  switch (code) {
    case 400: return 'BadRequest';
    case 401: return 'Unauthorized';
    case 403: return 'Forbidden';
    case 404: return 'NotFound';
    case 405: return 'MethodNotAllowed';
    default: return code >= 500 ? 'InternalError' : 'Unknown';
  }
}

/** A Status object (the body of every refusal, as kubelet and the API server write them). */
export function statusBody(error: { code: number; reason: string; message: string }): string {
  return JSON.stringify({
    kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
    message: error.message, reason: error.reason, code: error.code,
  });
}
