// Ad-hoc measurement of the watch cache (src/storage/cacher/README.md), not an npm benchmark:
//   node bench/watch-cache/FILE.ts   (N=10000 by default where it applies)
// Ad-hoc: LIST of N pods over HTTPS from `skiff server --watch-cache=true|false` on the same sqlite data.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const N = Number(process.env.N ?? 10000);
const dataDir = mkdtempSync(join(tmpdir(), 'wc-http-'));

async function start(watchCache: boolean) {
  const child = spawn(new URL('../../bin/skiff', import.meta.url).pathname, ['server', '--data-dir', dataDir, '--https-listen-port', '0', '--bind-address', '127.0.0.1', '--node-ip', '127.0.0.1', '--disable-agent', '--disable-scheduler', '--controllers', '', `--watch-cache=${watchCache}`], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => createInterface({ input: child.stdout! }).on('line', (line) => {
    const m = /ready: https:\/\/127\.0\.0\.1:(\d+)/.exec(line);
    if (m) resolve(Number(m[1]));
  }));
  const token = readFileSync(join(dataDir, 'tls', 'admin.token'), 'utf8').trim();
  const ca = readFileSync(join(dataDir, 'tls', 'ca.crt'));
  const agent = new Agent({ keepAlive: true, maxSockets: 32, ca });
  const call = (method: string, path: string, body?: unknown) => new Promise<{ status: number; bytes: number; text: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const buf = Buffer.concat(chunks);
        resolve({ status: res.statusCode!, bytes: buf.length, text: method === 'GET' ? '' : buf.toString() });
      });
    });
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
  return { call, stop: async () => { child.kill('SIGTERM'); await new Promise((r) => child.once('exit', r)); agent.destroy(); } };
}

async function time(label: string, run: () => Promise<{ status: number; bytes: number }>, rounds = 7) {
  const ms: number[] = [];
  let bytes = 0;
  for (let r = 0; r < rounds; r++) {
    const t = process.hrtime.bigint();
    const res = await run();
    if (res.status !== 200) throw new Error(`${label}: ${res.status}`);
    bytes = res.bytes;
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  ms.sort((a, b) => a - b);
  console.log(`${label.padEnd(62)} median ${ms[rounds >> 1]!.toFixed(0)} ms  min ${ms[0]!.toFixed(0)} ms  (${(bytes / 1e6).toFixed(1)} MB)`);
}

const first = await start(true);
process.on('uncaughtException', async (error) => { console.error(error); await first.stop().catch(() => {}); process.exit(1); });
for (const ns of ['a', 'b', 'c', 'd', 'e']) {
  await first.call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  await first.call('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } });
}
let next = 0;
const t0 = Date.now();
await Promise.all(Array.from({ length: 32 }, async () => {
  while (next < N) {
    const i = next++;
    const ns = 'abcde'[i % 5];
    const res = await first.call('POST', `/api/v1/namespaces/${ns}/pods`, { apiVersion: 'v1', kind: 'Pod', metadata: { name: `web-${i}`, labels: { app: `app-${i % 50}` } }, spec: { nodeName: `node-${i % 100}`, containers: [{ name: 'web', image: 'registry.example/web:1.2.3', ports: [{ containerPort: 8080 }], resources: { requests: { cpu: '100m', memory: '128Mi' } } }] } });
    if (res.status !== 201) throw new Error(`create ${i}: ${res.status} ${res.text}`);
  }
}));
console.log(`created ${N} pods in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
await first.stop();
for (const watchCache of [false, true]) {
  const server = await start(watchCache);
  await server.call('GET', '/api/v1/pods?limit=1'); // warm up (loads the cache)
  const tag = watchCache ? 'cache ' : 'sqlite';
  await time(`${tag} GET /api/v1/pods (consistent)`, () => server.call('GET', '/api/v1/pods'));
  await time(`${tag} GET /api/v1/pods?resourceVersion=0`, () => server.call('GET', '/api/v1/pods?resourceVersion=0'));
  await time(`${tag} GET /api/v1/pods?fieldSelector=spec.nodeName=node-7`, () => server.call('GET', '/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-7'));
  await time(`${tag} GET /api/v1/pods?labelSelector=app=app-7`, () => server.call('GET', '/api/v1/pods?labelSelector=app%3Dapp-7'));
  await time(`${tag} GET /api/v1/pods?limit=500`, () => server.call('GET', '/api/v1/pods?limit=500'));
  await server.stop();
}
rmSync(dataDir, { recursive: true, force: true });
