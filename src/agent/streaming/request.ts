// Parsing kubelet streaming URLs and their query options.
import type { LogReadOptions } from './log-reader.ts';
import type { StreamRequest } from './command-session.ts';
import { StreamingError, type ContainerTarget, type PodTarget } from './types.ts';

export type StreamingRoute =
  | { kind: 'containerLogs'; target: ContainerTarget }
  | { kind: 'exec' | 'attach'; target: ContainerTarget }
  | { kind: 'portForward'; target: PodTarget }
  | { kind: 'healthz' };

/**
 * kubelet's paths: /containerLogs/{ns}/{pod}/{container},
 * /exec|attach/{ns}/{pod}/{container} and /exec|attach/{ns}/{pod}/{uid}/{container},
 * /portForward/{ns}/{pod}[/{uid}].
 */
export function matchRoute(pathname: string): StreamingRoute | undefined {
  let segments: string[];
  try {
    segments = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    return undefined;
  }
  const [kind, ...rest] = segments;
  if (kind === 'healthz' && rest.length === 0) return { kind: 'healthz' };
  if (kind === 'containerLogs' && rest.length === 3) {
    return { kind, target: { namespace: rest[0], pod: rest[1], container: rest[2] } };
  }
  if (kind === 'exec' || kind === 'attach') {
    if (rest.length === 3) return { kind, target: { namespace: rest[0], pod: rest[1], container: rest[2] } };
    if (rest.length === 4) return { kind, target: { namespace: rest[0], pod: rest[1], podUid: rest[2], container: rest[3] } };
  }
  if (kind === 'portForward' && (rest.length === 2 || rest.length === 3)) {
    return { kind, target: { namespace: rest[0], pod: rest[1], ...(rest[2] ? { podUid: rest[2] } : {}) } };
  }
  return undefined;
}

/** Go's strconv.ParseBool, which kubelet's query decoding uses ("1", "true", "True" …). */
export function queryBool(query: URLSearchParams, name: string): boolean {
  const value = query.get(name);
  return value !== null && ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value);
}

function queryInt(query: URLSearchParams, name: string): number | undefined {
  const value = query.get(name);
  if (value === null) return undefined;
  if (!/^[+-]?\d+$/.test(value)) throw StreamingError.badRequest(`${name}: strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax`);
  return Number(value);
}

export interface ContainerLogQuery {
  previous: boolean;
  read: LogReadOptions;
}

/** kubelet's /containerLogs query, with the checks the API server also makes (requests may come from elsewhere). */
export function parseLogQuery(query: URLSearchParams, nowMs: number): ContainerLogQuery {
  const tailLines = queryInt(query, 'tailLines');
  const limitBytes = queryInt(query, 'limitBytes');
  const sinceSeconds = queryInt(query, 'sinceSeconds');
  if (tailLines !== undefined && tailLines < 0) throw StreamingError.badRequest(`tailLines: Invalid value: ${tailLines}: must be greater than or equal to 0`);
  if (limitBytes !== undefined && limitBytes < 1) throw StreamingError.badRequest(`limitBytes: Invalid value: ${limitBytes}: must be greater than 0`);
  if (sinceSeconds !== undefined && sinceSeconds < 1) throw StreamingError.badRequest(`sinceSeconds: Invalid value: ${sinceSeconds}: must be greater than 0`);
  let sinceMs = sinceSeconds !== undefined ? nowMs - sinceSeconds * 1000 : undefined;
  const sinceTime = query.get('sinceTime');
  if (sinceTime !== null) {
    const parsed = Date.parse(sinceTime);
    if (Number.isNaN(parsed) || !/^\d{4}-\d\d-\d\dT/.test(sinceTime)) throw StreamingError.badRequest(`sinceTime: ${JSON.stringify(sinceTime)} is not an RFC 3339 time`);
    // As kubelet: the later of the two when both are given.
    if (sinceMs === undefined || parsed > sinceMs) sinceMs = parsed;
  }
  return {
    previous: queryBool(query, 'previous'),
    read: { tailLines, limitBytes, sinceMs, follow: queryBool(query, 'follow'), timestamps: queryBool(query, 'timestamps') },
  };
}

/** The streams an exec/attach asks for; refuses a request for none (kubelet's rule). */
export function parseStreamRequest(query: URLSearchParams): StreamRequest {
  const request = {
    stdin: queryBool(query, 'stdin'),
    stdout: queryBool(query, 'stdout'),
    stderr: queryBool(query, 'stderr'),
    tty: queryBool(query, 'tty'),
  };
  if (!request.stdin && !request.stdout && !request.stderr) {
    throw StreamingError.badRequest('you must specify at least 1 of stdin, stdout, stderr');
  }
  // With a terminal, stderr is part of stdout.
  if (request.tty) request.stderr = false;
  return request;
}
