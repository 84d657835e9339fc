// httpGet probes and hooks: one GET from the agent to the pod (its IP is
// reachable from the node's network namespace), as upstream's HTTP prober:
// status 200–399 is success (redirects to the same host are followed, to
// another host count as success), anything else failure, with the text
// upstream puts in its Unhealthy events. The response body is read up to
// 10 KiB, as upstream's limit.
import http from 'node:http';
import https from 'node:https';
import type { HttpHeader } from '../pod-types.ts';
import { PROBE_USER_AGENT, type ProbeOutcome } from './types.ts';

const MAX_BODY = 10 * 1024;
const MAX_REDIRECTS = 10;

export interface HttpProbeTarget {
  scheme: 'HTTP' | 'HTTPS';
  host: string;
  port: number;
  path: string;
  headers?: HttpHeader[];
  timeoutMs: number;
}

export function probeUrl(target: Pick<HttpProbeTarget, 'scheme' | 'host' | 'port' | 'path'>): URL {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  let path = target.path || '/';
  if (!path.startsWith('/')) path = `/${path}`;
  return new URL(`${target.scheme.toLowerCase()}://${host}:${target.port}${path}`);
}

/** Go's dial error text for a Node socket error. */
export function dialError(error: NodeJS.ErrnoException, network: string, address: string): string {
  const code = error.code ?? '';
  const reason: Record<string, string> = {
    ECONNREFUSED: 'connect: connection refused',
    EHOSTUNREACH: 'connect: no route to host',
    ENETUNREACH: 'connect: network is unreachable',
    ECONNRESET: 'read: connection reset by peer',
  };
  return `dial ${network} ${address}: ${reason[code] ?? error.message}`;
}

function requestOnce(url: URL, target: HttpProbeTarget, signal: AbortSignal): Promise<{ status: number; location?: string; body: string }> {
  const headers: Record<string, string> = { 'User-Agent': PROBE_USER_AGENT, Accept: '*/*' };
  for (const h of target.headers ?? []) {
    // A Host header sets the request's host, as upstream does.
    headers[h.name.toLowerCase() === 'host' ? 'Host' : h.name] = h.value;
  }
  const lib = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(url, { method: 'GET', headers, signal, rejectUnauthorized: false, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size < MAX_BODY) chunks.push(chunk.subarray(0, MAX_BODY - size));
        size += chunk.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

export async function httpProbe(target: HttpProbeTarget): Promise<ProbeOutcome> {
  let url = probeUrl(target);
  const first = url;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), target.timeoutMs);
  try {
    for (let redirects = 0; ; redirects++) {
      let res;
      try {
        res = await requestOnce(url, target, controller.signal);
      } catch (error) {
        const e = error as NodeJS.ErrnoException;
        if (controller.signal.aborted) return { result: 'failure', output: `Get "${first.href}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)` };
        return { result: 'failure', output: `Get "${url.href}": ${dialError(e, 'tcp', `${url.hostname}:${url.port}`)}` };
      }
      if (res.status >= 300 && res.status < 400 && res.location && redirects < MAX_REDIRECTS) {
        const next = new URL(res.location, url);
        // Upstream follows redirects to the same host only; elsewhere is a success with a warning.
        if (next.hostname !== url.hostname) return { result: 'success', output: `Probe terminated redirects, Response body: ${res.body}` };
        url = next;
        continue;
      }
      if (res.status >= 200 && res.status < 400) return { result: 'success', output: res.body };
      return { result: 'failure', output: `HTTP probe failed with statuscode: ${res.status}` };
    }
  } finally {
    clearTimeout(timer);
  }
}
