// The pod network for real, inside a test host (ARCHITECTURE.md §7): the
// test host itself (node address, loopback isolation, cleanup), two pods'
// namespaces on the node's bridge reaching each other by IP, hairpin mode,
// set-up surviving an agent restart, teardown leaving nothing, the node
// sysctls switched on inside the test host only, and `skiff cleanup`.
// Needs root (netns, veth, bridge); skipped otherwise.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo, connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BridgePodNetwork } from '../../src/agent/network/bridge.ts';
import { IpRoute2, runCommand, type CommandRunner } from '../../src/agent/network/iproute.ts';
import { hostVethName, networkStateDir, podNetnsName } from '../../src/agent/network/state.ts';
import type { PodNetworkRef } from '../../src/agent/network/types.ts';
import { createTestHost, mountsUnder, useTestHost, type TestHost } from '../support/test-host.ts';
import { repoRoot } from './harness.ts';

const isRoot = process.getuid?.() === 0;
const NODE = process.execPath;
const machineIp = new IpRoute2();

/** Retries a check (the machine is shared and slow at times); the last failure is thrown. */
async function eventually<T>(check: () => Promise<T>, options: { tries?: number; delayMs?: number } = {}): Promise<T> {
  let last: unknown;
  for (let i = 0; i < (options.tries ?? 10); i++) {
    try {
      return await check();
    } catch (error) {
      last = error;
      await new Promise((resolve) => setTimeout(resolve, options.delayMs ?? 300));
    }
  }
  throw last;
}

/** Runs a command in a pod's namespace. */
function inPod(netnsPath: string, argv: string[]): Promise<string> {
  return runCommand(['nsenter', `--net=${netnsPath}`, '--', ...argv]);
}

/** Connects to 127.0.0.1:port from the current netns and returns what the server said first ('' if refused). */
function greeting(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let data = '';
    socket.on('data', (d) => (data += d));
    socket.on('end', () => resolve(data));
    socket.on('error', () => resolve(''));
    socket.setTimeout(5_000, () => {
      socket.destroy();
      resolve(data);
    });
  });
}

const GREETER = `const s=require('net').createServer(c=>c.end(process.argv[1]));s.listen(0,'127.0.0.1',()=>console.log(s.address().port))`;
const CONNECT = `const c=require('net').connect(+process.argv[1],'127.0.0.1');let d='';c.on('data',x=>d+=x);c.on('end',()=>{console.log(d);process.exit(0)});c.on('error',e=>{console.log(e.code);process.exit(0)})`;

describe('test host', { skip: !isRoot && 'needs root' }, () => {
  const testHost = useTestHost();
  let host: TestHost;
  before(() => {
    host = testHost();
  });

  it('has lo up and the node address on eth0, while its outside end stays down without an address', async () => {
    const eth0 = await host.ip.link('eth0');
    assert.deepEqual(eth0?.addr_info?.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`), ['192.0.2.10/24']);
    assert.ok((await host.ip.link('lo'))?.flags?.includes('UP'));
    const outside = (await machineIp.links()).find((l) => l.ifname === `skth${host.name.slice('skt-'.length)}`);
    assert.ok(outside, 'the outside end exists on the machine');
    assert.ok(!outside.flags?.includes('UP'), 'and is down');
    assert.equal((await machineIp.link(outside.ifname))?.addr_info?.length ?? 0, 0);
    const result = await host.run(['ip', 'route', 'get', '192.0.2.10']);
    assert.match(result.stdout, /^local 192\.0\.2\.10/);
  });

  it('reaches 127.0.0.1 services inside it, and only those', async () => {
    const token = `inside-${host.name}`;
    const server = host.spawn([NODE, '-e', GREETER, token]);
    const port = await new Promise<number>((resolve, reject) => {
      server.stdout!.once('data', (d) => resolve(Number(String(d).trim())));
      server.once('exit', (code) => reject(new Error(`greeter exited ${code}`)));
    });
    const fromInside = await host.run([NODE, '-e', CONNECT, String(port)]);
    assert.equal(fromInside.stdout.trim(), token);
    assert.notEqual(await greeting(port), token, 'the machine does not see the test host\'s loopback');

    const outsideToken = `outside-${host.name}`;
    const outside = createServer((c) => c.end(outsideToken));
    await new Promise<void>((resolve) => outside.listen(0, '127.0.0.1', resolve));
    try {
      const fromInsideToOutside = await host.run([NODE, '-e', CONNECT, String((outside.address() as AddressInfo).port)]);
      assert.notEqual(fromInsideToOutside.stdout.trim(), outsideToken, 'the test host does not see the machine\'s loopback');
    } finally {
      outside.close();
    }
  });

  it('destroy() kills its processes and removes pod namespaces, mounts, the netns, the veth and the temp dir', async () => {
    const other = await createTestHost();
    const sleeper = other.spawn(['sleep', '600']);
    // What a crashed node leaves: a pod netns wired to the test host with a process in it, and a mount under the temp dir.
    const pod: PodNetworkRef = { podUid: `left-behind-${other.name}`, namespace: 'default', name: 'left' };
    const network = new BridgePodNetwork({
      podCidr: '10.89.0.0/24', stateDir: join(other.tempDir, 'network'), bridgeName: 'skiffbr1',
      run: (argv) => runCommand(['nsenter', `--net=${other.netnsPath}`, '--', ...argv]),
    });
    const status = await network.setUpPod(pod);
    const podProcess = spawn('nsenter', [`--net=${status.netnsPath}`, '--', 'sleep', '600'], { stdio: 'ignore' });
    const mountPoint = join(other.tempDir, 'volume');
    mkdirSync(mountPoint);
    const mounted = await other.run(['mount', '-t', 'tmpfs', 'tmpfs', mountPoint]);
    assert.equal(mounted.code, 0, mounted.stderr);
    assert.deepEqual(mountsUnder(other.tempDir), [mountPoint], 'the mount is in the machine\'s mount namespace');

    await other.destroy();
    assert.ok(sleeper.exitCode !== null || sleeper.signalCode !== null);
    await new Promise<void>((resolve) => (podProcess.exitCode !== null || podProcess.signalCode !== null ? resolve() : podProcess.once('exit', () => resolve())));
    const names = await machineIp.netnsNames();
    assert.ok(!names.includes(other.name) && !names.includes(podNetnsName(pod.podUid)), names.join(' '));
    assert.equal(await machineIp.link(`skth${other.name.slice('skt-'.length)}`), undefined);
    assert.deepEqual(mountsUnder(other.tempDir), []);
    assert.ok(!existsSync(other.tempDir));
  });
});

describe('pod network (bridge, veth, host-local IPAM) in a test host', { skip: !isRoot && 'needs root' }, () => {
  let host: TestHost;
  let stateDir: string;
  let inHost: CommandRunner;
  const bridgeName = 'skiffbr0';
  const podCidr = '10.88.0.0/24';
  const podA: PodNetworkRef = { podUid: '0a1b2c3d-0000-4000-8000-00000000000a', namespace: 'default', name: 'a' };
  const podB: PodNetworkRef = { podUid: '0a1b2c3d-0000-4000-8000-00000000000b', namespace: 'default', name: 'b' };
  const makeNetwork = () => new BridgePodNetwork({ podCidr, stateDir, bridgeName, run: inHost });

  const testHost = useTestHost();
  before(() => {
    host = testHost();
    stateDir = networkStateDir(host.tempDir);
    inHost = (argv) => runCommand(['nsenter', `--net=${host.netnsPath}`, '--', ...argv]);
  });
  after(async () => {
    // The test host's destroy removes anything a failed test left; this only makes the order explicit.
    await makeNetwork().tearDownPod(podA).catch(() => undefined);
    await makeNetwork().tearDownPod(podB).catch(() => undefined);
  });

  it('gives two pods addresses on the bridge, and they reach each other, the gateway and the node by IP', async () => {
    const network = makeNetwork();
    const [a, b] = await Promise.all([network.setUpPod(podA), network.setUpPod(podB)]);
    assert.equal(a.netnsPath, `/var/run/netns/${podNetnsName(podA.podUid)}`);
    assert.ok(existsSync(a.netnsPath));
    assert.notEqual(a.ips[0], b.ips[0]);
    for (const ip of [a.ips[0], b.ips[0]]) assert.match(ip, /^10\.88\.0\.([2-9]|[1-9]\d|1\d\d|2[0-4]\d|25[0-4])$/);

    const bridge = await host.ip.link(bridgeName);
    assert.equal(bridge?.linkinfo?.info_kind, 'bridge');
    assert.deepEqual(bridge?.addr_info?.filter((x) => x.family === 'inet').map((x) => `${x.local}/${x.prefixlen}`), ['10.88.0.1/24']);
    const podIp = new IpRoute2().inNetns(podNetnsName(podA.podUid));
    const eth0 = await podIp.link('eth0');
    assert.deepEqual(eth0?.addr_info?.filter((x) => x.family === 'inet').map((x) => `${x.local}/${x.prefixlen}`), [`${a.ips[0]}/24`]);
    assert.deepEqual((await podIp.routes()).find((r) => r.dst === 'default'), { dst: 'default', gateway: '10.88.0.1', dev: 'eth0', flags: [] });
    assert.ok((await podIp.link('lo'))?.flags?.includes('UP'));

    for (const [from, to] of [[a, b.ips[0]], [b, a.ips[0]], [a, '10.88.0.1'], [b, host.nodeIp]] as const) {
      await eventually(() => inPod(from.netnsPath, ['busybox', 'ping', '-c1', '-W1', to]));
    }
  });

  it('puts each host end on the bridge with hairpin mode on', async () => {
    for (const pod of [podA, podB]) {
      const link = await host.ip.link(hostVethName(pod.podUid));
      assert.equal(link?.master, bridgeName);
      assert.equal(link?.linkinfo?.info_slave_kind, 'bridge');
      assert.equal(link?.linkinfo?.info_slave_data?.hairpin, true);
      assert.ok(link?.flags?.includes('UP'));
    }
  });

  it('finds the same namespace and address after a restart (a new instance on the same state)', async () => {
    const before = await makeNetwork().podStatus(podA);
    assert.ok(before);
    const eth0Before = await new IpRoute2().inNetns(podNetnsName(podA.podUid)).link('eth0');
    const restarted = makeNetwork();
    assert.deepEqual(await restarted.podStatus(podA), before);
    assert.deepEqual(await restarted.setUpPod(podA), before);
    const eth0After = await new IpRoute2().inNetns(podNetnsName(podA.podUid)).link('eth0');
    assert.equal(eth0After?.ifindex, eth0Before?.ifindex, 'the pod keeps its interface');
    assert.equal(readdirSync(join(stateDir, 'ipam', '10.88.0.0_24')).filter((n) => /^\d/.test(n)).length, 2);
    assert.equal(await restarted.podStatus({ podUid: 'never-set-up', namespace: 'default', name: 'x' }), undefined);
  });

  it('tears down the veth, the namespace and the address, and is idempotent', async () => {
    const network = makeNetwork();
    for (const pod of [podA, podB]) {
      await network.tearDownPod(pod);
      await network.tearDownPod(pod);
      assert.equal(await network.podStatus(pod), undefined);
    }
    const names = await machineIp.netnsNames();
    assert.ok(!names.includes(podNetnsName(podA.podUid)) && !names.includes(podNetnsName(podB.podUid)), names.join(' '));
    const links = (await host.ip.links()).map((l) => l.ifname);
    assert.deepEqual(links.filter((n) => n.startsWith('skv')), []);
    assert.deepEqual(readdirSync(join(stateDir, 'ipam', '10.88.0.0_24')).filter((n) => /^\d/.test(n)), []);
    assert.deepEqual(readdirSync(join(stateDir, 'pods')), []);
  });

  it('switches forwarding on inside the test host only', async () => {
    const hostForwarding = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8');
    const script = `const m=await import(${JSON.stringify(join(repoRoot, 'src/agent/network/sysctl.ts'))});console.log(JSON.stringify(await m.enableNodeForwarding()))`;
    const result = await host.run([NODE, '--input-type=module', '-e', script]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout).set, ['net/ipv4/ip_forward', 'net/bridge/bridge-nf-call-iptables']);
    assert.equal((await host.run(['cat', '/proc/sys/net/ipv4/ip_forward'])).stdout, '1\n');
    assert.equal(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8'), hostForwarding, 'the machine\'s own setting is untouched');
  });

  it('`skiff cleanup` removes what a crashed agent left: netns, veth, bridge, IPAM state', async () => {
    const network = makeNetwork();
    const status = await network.setUpPod(podA);
    const result = await host.run([join(repoRoot, 'bin/skiff'), 'cleanup', '--data-dir', host.tempDir]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`removed netns ${podNetnsName(podA.podUid)}`));
    assert.match(result.stdout, new RegExp(`removed link ${bridgeName}`));
    assert.ok(!existsSync(status.netnsPath));
    assert.equal(await host.ip.link(bridgeName), undefined);
    assert.equal(await host.ip.link(hostVethName(podA.podUid)), undefined);
    assert.ok(!existsSync(join(stateDir, 'ipam')) && !existsSync(join(stateDir, 'pods')));
    const again = await host.run([join(repoRoot, 'bin/skiff'), 'cleanup', '--data-dir', host.tempDir]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, '');
  });
});
