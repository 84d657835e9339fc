// GET pods/NAME/log: validate the PodLogOptions, pick the container, and
// stream the node agent's /containerLogs answer back as text/plain (kept
// open with follow=true until the container stops or the client leaves).
import type { IncomingMessage } from 'node:http';
import { ApiError, errors, type StatusCause } from '../errors.ts';
import { parseBool } from '../request-info.ts';
import type { RequestContext } from './context.ts';
import { checkLogAvailable, resolveContainer } from './pod-containers.ts';

/** How much of a node's error answer is read to report it. */
const MAX_ERROR_BODY = 64 * 1024;

export interface PodLogOptions {
  container: string | null;
  follow: boolean;
  previous: boolean;
  timestamps: boolean;
  tailLines?: number;
  limitBytes?: number;
  sinceSeconds?: number;
  /** RFC 3339, seconds precision (as the API server forwards it). */
  sinceTime?: string;
}

/** The query as PodLogOptions, validated as upstream does (422 PodLogOptions … is invalid). */
export function parsePodLogOptions(query: URLSearchParams, podName: string): PodLogOptions {
  const integer = (name: string): number | undefined => {
    const value = query.get(name);
    if (value === null) return undefined;
    if (!/^[+-]?\d+$/.test(value)) throw errors.badRequest(`strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax`);
    return Number(value);
  };
  const options: PodLogOptions = {
    container: query.get('container'),
    follow: parseBool(query.get('follow')),
    previous: parseBool(query.get('previous')),
    timestamps: parseBool(query.get('timestamps')),
    tailLines: integer('tailLines'),
    limitBytes: integer('limitBytes'),
    sinceSeconds: integer('sinceSeconds'),
  };
  const sinceTime = query.get('sinceTime');
  if (sinceTime !== null) {
    const ms = Date.parse(sinceTime);
    if (!/^\d{4}-\d\d-\d\dT/.test(sinceTime) || Number.isNaN(ms)) {
      throw errors.badRequest(`parsing time ${JSON.stringify(sinceTime)} as "2006-01-02T15:04:05Z07:00": cannot parse ${JSON.stringify(sinceTime)} as "2006"`);
    }
    options.sinceTime = new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  }
  const causes: StatusCause[] = [];
  const invalid = (field: string, value: number, message: string) => causes.push({ reason: 'FieldValueInvalid', field, message: `Invalid value: ${value}: ${message}` });
  if (options.tailLines !== undefined && options.tailLines < 0) invalid('tailLines', options.tailLines, 'must be greater than or equal to 0');
  if (options.limitBytes !== undefined && options.limitBytes < 1) invalid('limitBytes', options.limitBytes, 'must be greater than 0');
  if (options.sinceSeconds !== undefined && options.sinceTime !== undefined) {
    causes.push({ reason: 'FieldValueForbidden', message: 'Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified' });
  } else if (options.sinceSeconds !== undefined && options.sinceSeconds < 1) {
    invalid('sinceSeconds', options.sinceSeconds, 'must be greater than 0');
  }
  if (causes.length > 0) throw errors.invalid({ kind: 'PodLogOptions', group: '', name: podName, causes });
  return options;
}

function nodeLogPath(namespace: string, pod: string, container: string, options: PodLogOptions): string {
  const params = new URLSearchParams();
  if (options.follow) params.set('follow', 'true');
  if (options.previous) params.set('previous', 'true');
  if (options.timestamps) params.set('timestamps', 'true');
  if (options.sinceSeconds !== undefined) params.set('sinceSeconds', String(options.sinceSeconds));
  if (options.sinceTime !== undefined) params.set('sinceTime', options.sinceTime);
  if (options.tailLines !== undefined) params.set('tailLines', String(options.tailLines));
  if (options.limitBytes !== undefined) params.set('limitBytes', String(options.limitBytes));
  const query = params.toString();
  return `/containerLogs/${[namespace, pod, container].map(encodeURIComponent).join('/')}${query ? `?${query}` : ''}`;
}

export async function handlePodLog(ctx: RequestContext): Promise<void> {
  const { parts, info, res } = ctx;
  const options = parsePodLogOptions(ctx.query, info.name!);
  const pod = await parts.store.get(ctx.resource, info.namespace, info.name!);
  const container = resolveContainer(pod, options.container);
  const nodeName = (pod.spec as { nodeName?: string } | undefined)?.nodeName;
  if (!nodeName) {
    // Upstream streams nothing for a pod that has no node yet.
    res.writeHead(200, { 'content-type': 'text/plain' }).end();
    return;
  }
  checkLogAvailable(pod, container, options.previous);
  if (!parts.nodeProxy) throw errors.internal('this server has no credentials for node connections');
  const location = await parts.nodeProxy.locate(parts, nodeName);
  const controller = new AbortController();
  const clientGone = () => controller.abort();
  res.once('close', clientGone);
  try {
    const upstream = await parts.nodeProxy.get(location, nodeLogPath(pod.metadata.namespace ?? 'default', info.name!, container, options), controller.signal);
    if (upstream.statusCode !== 200) throw await nodeError(upstream);
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-cache, private' });
    await pipeUntilDone(upstream, res, controller);
  } catch (error) {
    if (controller.signal.aborted) return; // the client left; nobody to tell
    throw error;
  } finally {
    res.off('close', clientGone);
  }
}

/** The node's refusal as an API error: its Status when it sent one, else its text. */
async function nodeError(upstream: IncomingMessage): Promise<ApiError> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of upstream) {
    size += (chunk as Buffer).length;
    if (size > MAX_ERROR_BODY) break;
    chunks.push(chunk as Buffer);
  }
  upstream.destroy();
  const code = upstream.statusCode ?? 500;
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    const status = JSON.parse(text) as { kind?: string; message?: string; reason?: string };
    if (status.kind === 'Status' && status.message) return new ApiError({ code, reason: status.reason ?? 'InternalError', message: status.message });
  } catch {
    // not JSON: the text is the message
  }
  const reason = code === 400 ? 'BadRequest' : code === 404 ? 'NotFound' : code === 401 ? 'Unauthorized' : code === 403 ? 'Forbidden' : 'InternalError';
  return new ApiError({ code, reason, message: text.trim() || `the node answered ${code}` });
}

function pipeUntilDone(upstream: IncomingMessage, res: RequestContext['res'], controller: AbortController): Promise<void> {
  return new Promise((resolve) => {
    const finish = () => {
      upstream.destroy();
      if (!res.writableEnded) res.end();
      resolve();
    };
    upstream.once('end', finish);
    upstream.once('error', finish);
    upstream.once('aborted', finish);
    controller.signal.addEventListener('abort', finish, { once: true });
    upstream.pipe(res, { end: false });
  });
}
