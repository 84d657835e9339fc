// Real containers (root only): busybox in a network namespace this test
// creates, under runc and crun. Everything — containers, shims, overlay
// mounts, cgroups, the netns, temp dirs — is removed in `after`, pass or fail.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExecTimeoutError } from './exec.ts';
import { RuncRuntime } from './runc.ts';
import { mountedPaths } from './rootfs.ts';
import { buildBusyboxImage } from './testing/busybox-image.ts';
import type { ContainerConfig, PodSandboxConfig } from './types.ts';

const isRoot = process.getuid?.() === 0;
const hasRunc = spawnSync('runc', ['--version']).status === 0;
const hasCrun = spawnSync('crun', ['--version']).status === 0;
const skip = !isRoot ? 'needs root (runc, mounts, cgroups, netns)' : !hasRunc ? 'runc is not installed (apt-get install runc)' : false;

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const CRI_LINE = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z) (stdout|stderr) ([FP]) (.*)$/;

function logEntries(path: string): { time: string; stream: string; tag: string; text: string }[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((line) => {
    const m = CRI_LINE.exec(line);
    assert.ok(m, `not a CRI log line: ${JSON.stringify(line)}`);
    return { time: m[1], stream: m[2], tag: m[3], text: m[4] };
  });
}

function logText(path: string, stream = 'stdout'): string {
  return logEntries(path).filter((e) => e.stream === stream).map((e) => e.text + (e.tag === 'F' ? '\n' : '')).join('');
}

describe('container runtime on runc', { skip }, () => {
  let work: string;
  let netns: string;
  let image: ContainerConfig['image'];
  const runtimes: RuncRuntime[] = [];
  let rt: RuncRuntime;
  let podCount = 0;

  const open = (options: { root?: string; runtime?: 'runc' | 'crun' } = {}) => {
    const runtime = new RuncRuntime({ root: options.root ?? join(work, `root-${runtimes.length}`), runtime: options.runtime, cgroupParent: `/skiff-test-${process.pid}` });
    runtimes.push(runtime);
    return runtime;
  };

  const sandboxConfig = (extra: Partial<PodSandboxConfig> = {}): PodSandboxConfig => ({
    podUid: `uid-${++podCount}`, namespace: 'default', name: `pod-${podCount}`, attempt: 0, hostname: `pod-${podCount}`,
    hostNetwork: false, hostPID: false, hostIPC: false, netnsPath: `/run/netns/${netns}`, ...extra,
  });

  const containerConfig = (extra: Partial<ContainerConfig> & { argv: string[] }): ContainerConfig => ({
    name: 'main', attempt: 0, image, env: [], mounts: [], logPath: join(work, 'logs', `${++podCount}.log`), ...extra,
  });

  const runContainer = async (runtime: RuncRuntime, config: ContainerConfig, sandboxId?: string) => {
    const sandbox = sandboxId ?? (await runtime.runPodSandbox(sandboxConfig()));
    const id = await runtime.createContainer(sandbox, config);
    await runtime.startContainer(id);
    return { sandbox, id };
  };

  const exited = (runtime: RuncRuntime, id: string, timeoutMs = 30_000) =>
    waitFor(`container ${id.slice(0, 12)} to exit`, async () => {
      const status = await runtime.containerStatus(id);
      return status.state === 'exited' && status;
    }, timeoutMs);

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'skiff-runtime-'));
    netns = `skiff-rt-${process.pid}`;
    execFileSync('ip', ['netns', 'add', netns]);
    execFileSync('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
    image = buildBusyboxImage({ dir: join(work, 'image') });
    rt = open();
  });

  after(async () => {
    for (const runtime of runtimes) await runtime.cleanupAll().catch((e) => console.error('cleanup:', e));
    spawnSync('ip', ['netns', 'del', netns]);
    const leftovers = [...mountedPaths()].filter((p) => p.startsWith(work));
    for (const path of leftovers) spawnSync('umount', ['-l', path]);
    rmSync(work, { recursive: true, force: true });
    assert.deepEqual(leftovers, [], 'every mount was removed by cleanupAll');
    for (const h of ['memory', 'cpu', 'pids', 'unified']) assert.ok(!existsSync(`/sys/fs/cgroup/${h}/skiff-test-${process.pid}`), `the cgroup parent was removed from ${h}`);
  });

  it('runs argv with env and cwd, records the exit code, and writes stdout/stderr to the CRI log', async () => {
    const config = containerConfig({
      argv: ['sh', '-c', 'echo "$GREETING from $(pwd) on $(hostname)"; echo oops >&2; printf no-newline; exit 3'],
      env: ['GREETING=hello'], workingDir: '/tmp',
    });
    const started = Date.now();
    const { id, sandbox } = await runContainer(rt, config, await rt.runPodSandbox(sandboxConfig({ hostname: 'first-pod' })));
    const status = await exited(rt, id);
    assert.equal(status.exitCode, 3);
    assert.equal(status.reason, 'Error');
    assert.ok(status.startedAt >= started && status.finishedAt >= status.startedAt);
    assert.equal(logText(config.logPath), 'hello from /tmp on first-pod\nno-newline');
    assert.equal(logText(config.logPath, 'stderr'), 'oops\n');
    const entries = logEntries(config.logPath);
    assert.equal(entries.at(-1)?.tag === 'P' || entries.some((e) => e.tag === 'P'), true, 'the unterminated line is tagged P');
    for (const entry of entries) assert.ok(Math.abs(Date.parse(entry.time) - Date.now()) < 60_000, entry.time);
    const [listed] = (await rt.listContainers({ sandboxId: sandbox })).filter((c) => c.id === id);
    assert.equal(listed.state, 'exited');
    await rt.removePodSandbox(sandbox);
    assert.deepEqual(await rt.listContainers({ sandboxId: sandbox }), []);
    assert.ok(!(await rt.listPodSandboxes()).some((s) => s.id === sandbox));
  });

  it('reports Completed for exit 0 and OOMKilled (137) when the memory limit is hit', async () => {
    const ok = await runContainer(rt, containerConfig({ argv: ['true'] }));
    assert.equal((await exited(rt, ok.id)).reason, 'Completed');
    const oom = await runContainer(rt, containerConfig({ argv: ['tail', '/dev/zero'], resources: { memoryLimitBytes: 16 << 20 } }), ok.sandbox);
    const status = await exited(rt, oom.id, 60_000);
    assert.equal(status.exitCode, 137);
    assert.equal(status.reason, 'OOMKilled');
  });

  it('stops with SIGTERM, and with SIGKILL after the grace period when SIGTERM is ignored', async () => {
    const polite = containerConfig({ argv: ['sh', '-c', 'trap "echo got-term; exit 0" TERM; echo ready; while :; do sleep 0.1; done'] });
    const a = await runContainer(rt, polite);
    await waitFor('ready', () => logText(polite.logPath).includes('ready'));
    await rt.stopContainer(a.id, 30);
    const politeStatus = await rt.containerStatus(a.id);
    assert.equal(politeStatus.exitCode, 0);
    assert.match(logText(polite.logPath), /got-term/);

    const stubborn = containerConfig({ argv: ['sh', '-c', 'trap "" TERM; echo ready; while :; do sleep 0.1; done'] });
    const b = await runContainer(rt, stubborn, a.sandbox);
    await waitFor('ready', () => logText(stubborn.logPath).includes('ready'));
    const t0 = Date.now();
    await rt.stopContainer(b.id, 1);
    assert.ok(Date.now() - t0 >= 900, 'waited for the grace period');
    const status = await rt.containerStatus(b.id);
    assert.equal(status.state, 'exited');
    assert.equal(status.exitCode, 137);
    assert.equal(status.reason, 'Error');
  });

  it('execs with output, exit codes, stdin, timeouts and a TTY that can be resized', async () => {
    const { id } = await runContainer(rt, containerConfig({ argv: ['sleep', '3600'], env: ['FROM_SPEC=yes'] }));
    const result = await rt.execSync(id, { argv: ['sh', '-c', 'echo out $FROM_SPEC; echo err >&2; exit 7'] });
    assert.deepEqual({ code: result.exitCode, out: result.stdout.toString(), err: result.stderr.toString() }, { code: 7, out: 'out yes\n', err: 'err\n' });
    await assert.rejects(rt.execSync(id, { argv: ['sleep', '30'], timeoutSeconds: 1 }), ExecTimeoutError);

    const cat = await rt.exec(id, { argv: ['cat'], stdin: true });
    const chunks: Buffer[] = [];
    cat.stdout.on('data', (c: Buffer) => chunks.push(c));
    cat.stdin!.end('piped through\n');
    assert.equal(await cat.exited, 0);
    assert.equal(Buffer.concat(chunks).toString(), 'piped through\n');

    const shell = await rt.exec(id, { argv: ['sh'], tty: true, stdin: true });
    let screen = '';
    shell.stdout.on('data', (c: Buffer) => { screen += c.toString(); });
    shell.resize({ width: 123, height: 45 });
    await waitFor('the resized terminal', async () => {
      shell.stdin!.write('stty size\n');
      await new Promise((r) => setTimeout(r, 200));
      return screen.includes('45 123');
    }, 20_000);
    shell.stdin!.write('exit 5\n');
    assert.equal(await shell.exited, 5);
    assert.equal(shell.stderr, undefined);
    await rt.stopContainer(id, 0);
  });

  it('shares net, IPC and UTS between the containers of a sandbox', async () => {
    const sandbox = await rt.runPodSandbox(sandboxConfig({ hostname: 'shared-host' }));
    // stdin that never ends: with /dev/null, nc may close the connection before it read the client's line.
    const server = containerConfig({ argv: ['sh', '-c', 'sleep 3600 | nc -l -p 8080'] });
    const s = await runContainer(rt, server, sandbox);
    const probe = async (id: string) => (await rt.execSync(id, { argv: ['sh', '-c', 'for n in net ipc uts; do readlink /proc/self/ns/$n; done; hostname'] })).stdout.toString();
    const client = containerConfig({ name: 'client', argv: ['sh', '-c', 'for i in $(seq 50); do echo ping | nc 127.0.0.1 8080 && exit 0; sleep 0.2; done; exit 1'] });
    const serverView = await probe(s.id);
    const c = await runContainer(rt, client, sandbox);
    assert.equal((await exited(rt, c.id)).exitCode, 0);
    await waitFor('the server to print ping', () => logText(server.logPath).includes('ping'));
    const other = await runContainer(rt, containerConfig({ argv: ['sleep', '3600'] }), sandbox);
    assert.equal(await probe(other.id), serverView);
    assert.match(serverView, /^net:\[\d+\]\nipc:\[\d+\]\nuts:\[\d+\]\nshared-host\n$/);
    const hostNet = execFileSync('readlink', ['/proc/self/ns/net'], { encoding: 'utf8' }).trim();
    assert.ok(!serverView.includes(hostNet), 'not the host network namespace');
    await rt.stopPodSandbox(sandbox);
    assert.equal((await rt.listPodSandboxes()).find((x) => x.id === sandbox)?.state, 'notready');
    assert.ok((await rt.listContainers({ sandboxId: sandbox })).every((x) => x.state === 'exited'));
  });

  it('lists only one pod\'s sandboxes and containers when asked, with a cold and a warm cache', async () => {
    const runtime = open();
    const first = sandboxConfig();
    const second = sandboxConfig();
    const a = await runContainer(runtime, containerConfig({ argv: ['sleep', '3600'] }), await runtime.runPodSandbox(first));
    const b = await runContainer(runtime, containerConfig({ argv: ['sleep', '3600'] }), await runtime.runPodSandbox(second));
    for (const lister of [open({ root: runtime.state.root }), runtime, runtime]) {
      assert.deepEqual((await lister.listPodSandboxes({ podUid: first.podUid })).map((s) => s.id), [a.sandbox]);
      assert.deepEqual((await lister.listContainers({ podUid: second.podUid })).map((c) => [c.id, c.state]), [[b.id, 'running']]);
      assert.deepEqual((await lister.listContainers({ podUid: 'no-such-pod' })), []);
      assert.deepEqual((await lister.listContainers()).map((c) => c.id).sort(), [a.id, b.id].sort());
    }
    await runtime.removePodSandbox(a.sandbox);
    assert.deepEqual(await runtime.listPodSandboxes({ podUid: first.podUid }), []);
    assert.deepEqual(await runtime.listContainers({ podUid: first.podUid }), []);
    await runtime.removePodSandbox(b.sandbox);
  });

  it('puts hostNetwork/hostPID/hostIPC pods in the host namespaces', async () => {
    const sandbox = await rt.runPodSandbox(sandboxConfig({ hostNetwork: true, hostPID: true, hostIPC: true, netnsPath: undefined }));
    const { id } = await runContainer(rt, containerConfig({ argv: ['sleep', '3600'] }), sandbox);
    const inside = (await rt.execSync(id, { argv: ['sh', '-c', 'for n in net pid ipc uts; do readlink /proc/self/ns/$n; done'] })).stdout.toString();
    const hostView = ['net', 'pid', 'ipc', 'uts'].map((n) => execFileSync('readlink', [`/proc/self/ns/${n}`], { encoding: 'utf8' })).join('');
    assert.equal(inside, hostView);
    await rt.removePodSandbox(sandbox);
  });

  it('flattens plain-format images once and reopens the log after rotation', async () => {
    const plain = { ...image, imageId: 'sha256:' + '1'.repeat(64), layerFormat: 'plain' as const };
    const config = containerConfig({ image: plain, argv: ['sh', '-c', 'i=0; while :; do i=$((i+1)); echo tick-$i; sleep 0.1; done'] });
    const { id } = await runContainer(rt, config);
    assert.ok(existsSync(join(rt.state.imageDir(plain.imageId), 'rootfs', 'bin', 'busybox')));
    await waitFor('ticks', () => logText(config.logPath).includes('tick-2'));
    const { renameSync } = await import('node:fs');
    renameSync(config.logPath, `${config.logPath}.1`);
    rt.reopenContainerLog(id);
    await waitFor('ticks in the new file', () => logText(config.logPath).includes('tick'));
    await rt.stopContainer(id, 0);
  });

  it('applies readOnlyRootFilesystem, runAsUser/runAsGroup, dropped capabilities and seccomp', async () => {
    const config = containerConfig({
      argv: ['sleep', '3600'],
      security: { readOnlyRootFilesystem: true, runAsUser: 1000, runAsGroup: 1000, supplementalGroups: [5000], capabilitiesDrop: ['ALL'], noNewPrivileges: true, seccomp: 'RuntimeDefault' },
    });
    const { id } = await runContainer(rt, config);
    const ids = await rt.execSync(id, { argv: ['sh', '-c', 'id -u; id -g; id -G'] });
    assert.equal(ids.stdout.toString(), '1000\n1000\n1000 5000\n');
    const write = await rt.execSync(id, { argv: ['touch', '/home/app/x'] });
    assert.notEqual(write.exitCode, 0);
    assert.match(write.stderr.toString(), /Read-only file system/);
    const caps = await rt.execSync(id, { argv: ['sh', '-c', 'grep CapBnd /proc/self/status; grep Seccomp: /proc/self/status; grep NoNewPrivs /proc/self/status'] });
    assert.match(caps.stdout.toString(), /CapBnd:\s+0+\n/);
    assert.match(caps.stdout.toString(), /Seccomp:\s+2\n/);
    assert.match(caps.stdout.toString(), /NoNewPrivs:\s+1\n/);
    await rt.stopContainer(id, 0);
  });

  it('attaches to the main process stdin/stdout', async () => {
    const config = containerConfig({ argv: ['cat'], stdin: true, stdinOnce: true });
    const { id } = await runContainer(rt, config);
    const session = await rt.attach(id, { stdin: true });
    let out = '';
    session.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    session.stdin!.write('over the attach socket\n');
    await waitFor('the echo', () => out.includes('over the attach socket\n'));
    session.stdin!.end();
    assert.equal(await session.exited, 0);
    assert.equal((await exited(rt, id)).reason, 'Completed');
    assert.match(logText(config.logPath), /over the attach socket/);
  });

  it('lets a new agent process adopt running containers whose shims outlived the old one', async () => {
    const root = join(work, 'adopt-root');
    const logPath = join(work, 'logs', 'adopted.log');
    const script = `
      import { RuncRuntime } from ${JSON.stringify(join(import.meta.dirname, 'runc.ts'))};
      const rt = new RuncRuntime({ root: ${JSON.stringify(root)}, cgroupParent: ${JSON.stringify(`/skiff-test-${process.pid}`)} });
      const sandbox = await rt.runPodSandbox(${JSON.stringify(sandboxConfig())});
      const id = await rt.createContainer(sandbox, ${JSON.stringify(containerConfig({ argv: ['sh', '-c', 'for i in 1 2 3 4 5 6; do echo line-$i; sleep 0.5; done; exit 5'], logPath }))});
      await rt.startContainer(id);
      console.log(JSON.stringify({ sandbox, id }));`;
    const first = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(first.status, 0, first.stderr);
    const { sandbox, id } = JSON.parse(first.stdout) as { sandbox: string; id: string };
    const adopter = open({ root });
    const [listed] = await adopter.listContainers({ sandboxId: sandbox });
    assert.equal(listed.id, id);
    assert.ok(['running', 'exited'].includes(listed.state));
    assert.equal((await adopter.listPodSandboxes())[0].state, 'ready');
    const status = await exited(adopter, id);
    assert.equal(status.exitCode, 5);
    assert.equal(logText(logPath), 'line-1\nline-2\nline-3\nline-4\nline-5\nline-6\n');
  });

  it('runs the same containers under crun', { skip: hasCrun ? false : 'crun is not installed' }, async () => {
    const crun = open({ runtime: 'crun' });
    const config = containerConfig({ argv: ['sh', '-c', 'echo via crun; hostname; exit 4'] });
    const { id, sandbox } = await runContainer(crun, config, await crun.runPodSandbox(sandboxConfig({ hostname: 'crun-pod' })));
    assert.equal((await exited(crun, id)).exitCode, 4);
    assert.equal(logText(config.logPath), 'via crun\ncrun-pod\n');
    const oom = await runContainer(crun, containerConfig({ argv: ['tail', '/dev/zero'], resources: { memoryLimitBytes: 16 << 20 } }), sandbox);
    assert.equal((await exited(crun, oom.id, 60_000)).reason, 'OOMKilled');
    const sleeper = await runContainer(crun, containerConfig({ argv: ['sleep', '3600'] }), sandbox);
    assert.equal((await crun.execSync(sleeper.id, { argv: ['sh', '-c', 'exit 9'] })).exitCode, 9);
    await crun.removePodSandbox(sandbox);
  });
});
