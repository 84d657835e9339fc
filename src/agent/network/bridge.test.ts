// BridgePodNetwork's use of `ip` with a fake runner: how many processes a new
// pod costs, what the batches say, and the step-by-step path it falls back to
// when something is already there. The real thing (namespaces, veths, pings)
// is tested in test/e2e/pod-network.test.ts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { BridgePodNetwork } from './bridge.ts';
import { CommandError, IpRoute2, type CommandRunner } from './iproute.ts';
import { hostVethName, podNetnsName } from './state.ts';

const bridgeName = 'skifftest0';
const podA = { podUid: 'uid-a', namespace: 'default', name: 'a' };
const podB = { podUid: 'uid-b', namespace: 'default', name: 'b' };

/** A fake `ip`: a healthy bridge, batches recorded as text, and the given failures. */
function fakeIp(options: { failBatch?: (text: string) => string | undefined; netns?: string[]; eth0Address?: string } = {}) {
  const calls: string[][] = [];
  const batches: string[] = [];
  const run: CommandRunner = async (argv) => {
    calls.push(argv);
    const batchAt = argv.indexOf('-batch');
    if (batchAt >= 0) {
      const text = readFileSync(argv[batchAt + 1], 'utf8');
      batches.push(`${argv.slice(1, batchAt).join(' ')}|${text}`);
      const failure = options.failBatch?.(text);
      if (failure) throw new CommandError({ argv, stderr: failure, exitCode: 1 });
      return '';
    }
    const joined = argv.join(' ');
    if (joined === 'ip -json netns list') return JSON.stringify((options.netns ?? []).map((name) => ({ name })));
    if (joined.endsWith(`addr show dev ${bridgeName}`)) {
      return JSON.stringify([{ ifname: bridgeName, ifindex: 3, flags: ['UP'], linkinfo: { info_kind: 'bridge' }, addr_info: [{ family: 'inet', local: '10.77.0.1', prefixlen: 24 }] }]);
    }
    if (joined.endsWith('addr show dev eth0')) {
      return JSON.stringify([{ ifname: 'eth0', ifindex: 2, addr_info: options.eth0Address ? [{ family: 'inet', local: options.eth0Address, prefixlen: 24 }] : [] }]);
    }
    if (joined.endsWith('addr show dev lo') || / addr show dev skv/.test(joined)) return JSON.stringify([{ ifname: argv.at(-1), ifindex: 1 }]);
    return '';
  };
  return { run, calls, batches };
}

describe('BridgePodNetwork with a fake ip', () => {
  let stateDir: string;
  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'skiff-bridge-'));
  });
  afterEach(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  it('sets up a new pod with two ip processes (after the first pod checked the bridge) and leaves no batch files', async () => {
    const ip = fakeIp();
    const network = new BridgePodNetwork({ podCidr: '10.77.0.0/24', stateDir, bridgeName, run: ip.run });
    const first = await network.setUpPod(podA);
    assert.deepEqual(first, { netnsPath: `/var/run/netns/${podNetnsName(podA.podUid)}`, ips: ['10.77.0.2'] });
    const before = ip.calls.length;
    const second = await network.setUpPod(podB);
    assert.deepEqual(second.ips, ['10.77.0.3']);
    assert.equal(ip.calls.length - before, 2, ip.calls.slice(before).map((c) => c.join(' ')).join('\n'));
    const netns = podNetnsName(podB.podUid);
    const veth = hostVethName(podB.podUid);
    assert.deepEqual(ip.batches.slice(-2), [
      `|addr replace 10.77.0.1/24 dev ${bridgeName}\nlink set dev ${bridgeName} up\nnetns add ${netns}\n`
        + `link add name ${veth} type veth peer name eth0 netns ${netns}\nlink set dev ${veth} master ${bridgeName}\n`
        + `link set dev ${veth} type bridge_slave hairpin on\nlink set dev ${veth} up\n`,
      `-n ${netns}|link set dev lo up\naddr replace 10.77.0.3/24 dev eth0\nlink set dev eth0 up\nroute replace default via 10.77.0.1 dev eth0\n`,
    ]);
    assert.ok(!(await readdir(stateDir)).some((name) => name.includes('batch')));
  });

  it('falls back to checking each piece when the pod is already there (a restart), keeping its address', async () => {
    const netns = podNetnsName(podA.podUid);
    const ip = fakeIp({
      netns: [netns],
      eth0Address: '10.77.0.9',
      failBatch: (text) => (text.includes('netns add') ? `Cannot create namespace file "/run/netns/${netns}": File exists\nCommand failed x:3` : undefined),
    });
    const network = new BridgePodNetwork({ podCidr: '10.77.0.0/24', stateDir, bridgeName, run: ip.run });
    await network.setUpPod(podA);
    const commands = ip.calls.map((c) => c.join(' '));
    assert.ok(!commands.some((c) => c.includes('link add')), 'the existing veth pair is kept');
    assert.ok(!commands.some((c) => c.includes('link del')), 'nothing that exists is deleted');
    const last = ip.batches.at(-1)!;
    assert.match(last, new RegExp(`^-n ${netns}\\|link set dev lo up\naddr del 10.77.0.9/24 dev eth0\naddr replace 10.77.0.2/24 dev eth0\n`));
  });

  it('tears a pod down with one ip process, step by step when a piece is already gone, and not at all a second time', async () => {
    const ip = fakeIp({ failBatch: (text) => (text.startsWith('link del') ? 'Cannot find device "skv"\nCommand failed x:1' : undefined) });
    const network = new BridgePodNetwork({ podCidr: '10.77.0.0/24', stateDir, bridgeName, run: ip.run });
    await network.setUpPod(podA);
    const before = ip.calls.length;
    await network.tearDownPod(podA);
    const commands = ip.calls.slice(before).map((c) => c.join(' '));
    assert.equal(commands.length, 3, commands.join('\n'));
    assert.deepEqual(commands.slice(1), [`ip link del dev ${hostVethName(podA.podUid)}`, `ip netns del ${podNetnsName(podA.podUid)}`]);
    const afterFirst = ip.calls.length;
    await network.tearDownPod(podA);
    assert.equal(ip.calls.length, afterFirst, 'a second tear-down of the same pod (record and netns gone) runs no ip');
  });
});

describe('IpRoute2.batch', () => {
  it('refuses words the batch file would split or quote', async () => {
    const ip = new IpRoute2({ run: async () => '' });
    await assert.rejects(ip.batch([['link', 'set', 'dev', 'a b']], { scratchDir: tmpdir() }), /not a plain word/);
    await assert.rejects(ip.batch([['link', 'set', 'dev', 'a"b']], { scratchDir: tmpdir() }), /not a plain word/);
  });
});
