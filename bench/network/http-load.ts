// The HTTP load generator of bench:network's http part: GET requests from a
// fixed number of concurrent loops, each on a NEW TCP connection (no
// keep-alive: busybox httpd answers one request per connection, so every path
// is measured the same way), bounded in count and time. Runs inside the test
// host only (bench/network/http-run.ts); targets are addresses in it.
import { request, type IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';

export interface HttpTarget {
  host: string;
  port: number;
  /** Sent as the Host header (the Ingress routes by it). */
  hostHeader?: string;
}

export interface HttpLoadOptions {
  /** Requests go to these in turn (round robin per request). */
  targets: HttpTarget[];
  path: string;
  concurrency: number;
  durationMs: number;
  /** Upper bound on requests, whatever the duration. */
  maxRequests: number;
  timeoutMs: number;
  /** The body every answer must carry (a wrong one counts as an error). */
  expectBody: string;
}

export interface HttpLoadResult {
  /** Successful requests' latencies (connect + request + full response), ms. */
  latenciesMs: number[];
  errors: number;
  /** The first few error messages, for the log. */
  errorSamples: string[];
  elapsedMs: number;
}

function get(target: HttpTarget, path: string, timeoutMs: number): Promise<{ status: number; body: string; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: target.host, port: target.port, path, method: 'GET', agent: false,
      headers: { host: target.hostHeader ?? `${target.host}:${target.port}`, connection: 'close' },
      timeout: timeoutMs,
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

export async function httpLoad(options: HttpLoadOptions): Promise<HttpLoadResult> {
  const latenciesMs: number[] = [];
  const errorSamples: string[] = [];
  let errors = 0;
  let issued = 0;
  const t0 = performance.now();
  const end = t0 + options.durationMs;
  const loop = async () => {
    while (performance.now() < end && issued < options.maxRequests) {
      const target = options.targets[issued++ % options.targets.length]!;
      const start = performance.now();
      try {
        const r = await get(target, options.path, options.timeoutMs);
        if (r.status !== 200 || r.body !== options.expectBody) throw new Error(`HTTP ${r.status}: ${JSON.stringify(r.body.slice(0, 80))}`);
        latenciesMs.push(performance.now() - start);
      } catch (error) {
        errors++;
        if (errorSamples.length < 5) errorSamples.push(`${target.host}:${target.port}: ${(error as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, loop));
  return { latenciesMs, errors, errorSamples, elapsedMs: performance.now() - t0 };
}

/** One GET, for waiting until a path answers: true when it gives `expectBody`. */
export async function answers(target: HttpTarget, path: string, expectBody: string): Promise<boolean> {
  try {
    const r = await get(target, path, 2000);
    return r.status === 200 && r.body === expectBody;
  } catch {
    return false;
  }
}
