// The inside half of bench:network's http part: bench/network/http.ts starts
// this process inside a test host's network namespace (never on the
// machine's own network). Here: the busybox image imported into a fresh node
// data dir, a real `skiff server` with its local agent, a Deployment of two
// busybox httpd pods behind a ClusterIP Service and an Ingress (class skiff,
// one host rule), and the load (http-load.ts) on three paths in turn:
//   direct     the two pod IPs, alternately
//   clusterip  the Service's ClusterIP, port 80 (the node's nftables rules)
//   ingress    the node IP, port 80, Host header of the rule (the ingress
//              controller in the server process proxies to the pods directly)
// twice interleaved (direct, clusterip, ingress, direct, …), after a short
// untimed warm-up of each. Every request is a new TCP connection: busybox
// httpd forks per connection and has no keep-alive, so all three paths pay
// the same; and each path has its own httpd port in the pods (PORTS says
// why). Results go to stdout as JSON lines, progress to stderr.
// Cleanup on every exit path (success, failure, SIGTERM/SIGINT): the server
// stopped, then `skiff cleanup --data-dir` (which removes the pods' containers
// and namespaces).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Deadline, envNumber, sleep } from '../lib/env.ts';
import { Client } from '../lib/http2-client.ts';
import { repoRoot, waitForReadyLine } from '../lib/server.ts';
import { BENCH_IMAGE, BENCH_IMAGE_REPOSITORY, buildBusyboxArchive } from '../pod-startup/image.ts';
import { answers, httpLoad, type HttpLoadResult, type HttpTarget } from './http-load.ts';
import { httpLines, type PathName } from './http-report.ts';

const SECONDS = envNumber('BENCH_HTTP_SECONDS', 10);
const CONCURRENCY = envNumber('BENCH_HTTP_CONCURRENCY', 8);
const ROUNDS = 2;
const DEADLINE = new Deadline(envNumber('BENCH_TIMEOUT_S', 600));
const NODE_NAME = 'bench-http-node';
const NAMESPACE = 'bench-http';
const INGRESS_HOST = 'bench-http.example';
const BODY = 'skiff bench\n';
const SKIFF = join(repoRoot, 'bin/skiff');
/**
 * Each path reaches its own httpd in the same pods. ClusterIP traffic from the
 * node is masqueraded (fully random source ports) to the bridge address, the
 * source address of the direct and ingress connections too; a masqueraded SYN
 * that lands on a pod's TIME_WAIT socket of an earlier connection with other
 * TCP timestamps fails the PAWS check (TcpExtPAWSTimewait in the pod) and
 * waits 1 s for its retransmission. One port per path keeps the paths from
 * tripping over each other's TIME_WAIT sockets; within the ClusterIP path it
 * still happens at these connection rates, and shows as `over_1s`.
 */
const PORTS: Record<PathName, number> = { clusterip: 8080, direct: 8081, ingress: 8082 };
const httpd = (port: number) => `/bin/busybox httpd -p ${port} -h /www`;

const hostDir = requiredEnv('BENCH_HTTP_HOST_DIR');
const nodeIp = requiredEnv('BENCH_HTTP_NODE_IP');
const dataDir = join(hostDir, 'node');
const log = (message: string) => process.stderr.write(`bench:network http: ${message}\n`);

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run bench/network.ts with BENCH_NETWORK_PARTS=http, not this file`);
  return value;
}

async function poll<T>(what: string, limitMs: number, probe: () => Promise<T | undefined | false>): Promise<T> {
  const t0 = performance.now();
  for (;;) {
    const value = await probe();
    if (value) return value;
    DEADLINE.check(what);
    if (performance.now() - t0 > limitMs) throw new Error(`${what}: not after ${limitMs / 1000}s`);
    await sleep(250);
  }
}

async function getJson(client: Client, path: string): Promise<any> {
  const r = await client.request('GET', path);
  return r.status === 200 ? JSON.parse(r.body) : undefined;
}

/** ConfigMap (the page), Deployment of 2 httpd pods, ClusterIP Service, Ingress. */
function workload(): object[] {
  const labels = { app: 'bench-http' };
  return [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'page' }, data: { 'index.html': BODY } },
    {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
      spec: {
        replicas: 2, selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            terminationGracePeriodSeconds: 1,
            containers: [{
              // One httpd per path (see PORTS); the first two daemonize. The image links only sh and sleep: name the applet.
              name: 'httpd', image: BENCH_IMAGE,
              command: ['/bin/sh', '-c', `${httpd(PORTS.direct)} && ${httpd(PORTS.ingress)} && exec ${httpd(PORTS.clusterip)} -f`],
              ports: [{ name: 'http', containerPort: PORTS.clusterip }, { name: 'direct', containerPort: PORTS.direct }, { name: 'ingress', containerPort: PORTS.ingress }],
              readinessProbe: { httpGet: { path: '/index.html', port: 'http' }, periodSeconds: 1 },
              volumeMounts: [{ name: 'page', mountPath: '/www' }],
            }],
            volumes: [{ name: 'page', configMap: { name: 'page' } }],
          },
        },
      },
    },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web-ingress' }, spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 'ingress' }] } },
    {
      apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'web' },
      spec: {
        ingressClassName: 'skiff',
        rules: [{ host: INGRESS_HOST, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web-ingress', port: { name: 'http' } } } }] } }],
      },
    },
  ];
}

const COLLECTION: Record<string, string> = {
  ConfigMap: `/api/v1/namespaces/${NAMESPACE}/configmaps`,
  Deployment: `/apis/apps/v1/namespaces/${NAMESPACE}/deployments`,
  Service: `/api/v1/namespaces/${NAMESPACE}/services`,
  Ingress: `/apis/networking.k8s.io/v1/namespaces/${NAMESPACE}/ingresses`,
};

/** The three paths' targets, once the pods are Ready and every path answers. */
async function deploy(client: Client): Promise<Record<PathName, HttpTarget[]>> {
  await poll(`node ${NODE_NAME} Ready`, 60_000, async () =>
    (await getJson(client, `/api/v1/nodes/${NODE_NAME}`))?.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'));
  await client.expect('POST', '/api/v1/namespaces', 201, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
  await poll('the namespace\'s default ServiceAccount', 60_000, async () => Boolean(await getJson(client, `/api/v1/namespaces/${NAMESPACE}/serviceaccounts/default`)));
  for (const object of workload()) await client.expect('POST', COLLECTION[(object as { kind: string }).kind]!, 201, object);
  const podIps = await poll('2 Ready httpd pods', 120_000, async () => {
    const pods = (await getJson(client, `/api/v1/namespaces/${NAMESPACE}/pods?labelSelector=app%3Dbench-http`))?.items ?? [];
    const ready = pods.filter((p: any) => p.status?.podIP && p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'));
    return ready.length === 2 ? ready.map((p: any) => p.status.podIP as string) : undefined;
  });
  const clusterIp = (await getJson(client, `/api/v1/namespaces/${NAMESPACE}/services/web`)).spec.clusterIP as string;
  const targets: Record<PathName, HttpTarget[]> = {
    direct: podIps.map((ip: string) => ({ host: ip, port: PORTS.direct })),
    clusterip: [{ host: clusterIp, port: 80 }],
    ingress: [{ host: nodeIp, port: 80, hostHeader: INGRESS_HOST }],
  };
  for (const [name, list] of Object.entries(targets)) {
    for (const target of list) await poll(`${name} ${target.host}:${target.port} answering`, 60_000, () => answers(target, '/index.html', BODY));
  }
  log(`pods ${podIps.join(', ')}; ClusterIP ${clusterIp}; ingress ${nodeIp}:80 (Host ${INGRESS_HOST})`);
  return targets;
}

const load = (targets: HttpTarget[], seconds: number) => httpLoad({
  targets, path: '/index.html', concurrency: CONCURRENCY, durationMs: seconds * 1000,
  maxRequests: Math.ceil(seconds * 20_000), timeoutMs: 5000, expectBody: BODY,
});

async function measure(targets: Record<PathName, HttpTarget[]>): Promise<Record<PathName, HttpLoadResult[]>> {
  const order: PathName[] = ['direct', 'clusterip', 'ingress'];
  log('warm-up: 1 s per path (not counted)');
  for (const name of order) await load(targets[name], 1);
  const results: Record<PathName, HttpLoadResult[]> = { direct: [], clusterip: [], ingress: [] };
  for (let round = 1; round <= ROUNDS; round++) {
    for (const name of order) {
      DEADLINE.check(`the ${name} load`);
      const result = await load(targets[name], SECONDS);
      results[name].push(result);
      const rps = result.latenciesMs.length / (result.elapsedMs / 1000);
      log(`round ${round} ${name}: ${rps.toFixed(0)} req/s, ${result.errors} errors${result.errorSamples.length ? ` (${result.errorSamples.join('; ')})` : ''}`);
    }
  }
  return results;
}

// ---------------------------------------------------------------- lifecycle

let server: ChildProcess | undefined;
let serverOutput: string[] = [];
let client: Client | undefined;
let cleaning: Promise<void> | undefined;

/** The server stopped (SIGTERM, SIGKILL after 15 s), then `skiff cleanup`. Runs once. */
function cleanupOnce(): Promise<void> {
  cleaning ??= (async () => {
    client?.close();
    if (server && server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((resolve) => server!.once('exit', resolve));
      server.kill('SIGTERM');
      const timer = setTimeout(() => server!.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    try {
      execFileSync(SKIFF, ['cleanup', '--data-dir', dataDir], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 });
    } catch (error) {
      log(`skiff cleanup --data-dir ${dataDir}: ${(error as Error).message}`);
    }
  })();
  return cleaning;
}

async function run(): Promise<object[]> {
  const workDir = join(hostDir, 'work');
  mkdirSync(workDir, { recursive: true });
  log('building the busybox image (umoci) and importing it into the node');
  const archive = buildBusyboxArchive(join(workDir, 'image'));
  execFileSync(SKIFF, ['images', 'import', archive, '--name', BENCH_IMAGE_REPOSITORY, '--data-dir', dataDir], { stdio: ['ignore', 'ignore', 'inherit'] });
  log('starting skiff server with its local agent');
  server = spawn(SKIFF, [
    'server', '--data-dir', dataDir, '--https-listen-port', '0', '--bind-address', '127.0.0.1',
    '--node-ip', nodeIp, '--node-name', NODE_NAME,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  const ready = await waitForReadyLine(server, 60_000);
  serverOutput = ready.output;
  client = new Client({ port: ready.port, tlsDir: join(dataDir, 'tls'), log });
  const targets = await deploy(client);
  log(`${ROUNDS} rounds of ${SECONDS} s per path, ${CONCURRENCY} concurrent requests, a new connection each`);
  return httpLines(await measure(targets), { concurrency: CONCURRENCY });
}

async function main(): Promise<void> {
  let aborted = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      aborted = true;
      log(`${signal}: cleaning up`);
      void cleanupOnce().finally(() => process.exit(130));
    });
  }
  // While aborting, the measuring flow runs on against a stopped server and fails: that is expected.
  process.on('unhandledRejection', (reason) => {
    if (aborted) return;
    log(`unhandled rejection: ${(reason as Error)?.stack ?? String(reason)}`);
    process.exitCode = 1;
  });
  try {
    for (const line of await run()) process.stdout.write(JSON.stringify(line) + '\n');
  } catch (error) {
    if (!aborted) {
      log(`failed: ${(error as Error).stack ?? String(error)}`);
      if (serverOutput.length) log(`server output (last lines):\n${serverOutput.slice(-30).join('\n')}`);
      process.exitCode = 1;
    }
  } finally {
    await cleanupOnce();
  }
}

await main();
