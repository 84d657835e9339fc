import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { hostVethName, podNetnsName, readPodRecords, removePodRecord, shortPodId, writePodRecord } from './state.ts';
import { enableNodeForwarding } from './sysctl.ts';

const dir = mkdtempSync(join(tmpdir(), 'skiff-netstate-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('pod network names and records', () => {
  it('names the netns and host veth after the uid, within the 15-character interface limit', () => {
    const uid = '3f2b9c1a-77d4-4e0b-9a51-0c6f2a8b1d2e';
    assert.match(podNetnsName(uid), /^skiff-[0-9a-f]{12}$/);
    assert.match(hostVethName(uid), /^skv[0-9a-f]{12}$/);
    // Stable, and distinct for uids sharing a prefix; nothing unsafe from the uid reaches a name.
    assert.notEqual(shortPodId('0a1b2c3d-0000-4000-8000-00000000000a'), shortPodId('0a1b2c3d-0000-4000-8000-00000000000b'));
    assert.match(shortPodId('../../etc x'), /^[0-9a-f]{12}$/);
    assert.equal(shortPodId('pod-a'), shortPodId('pod-a'));
    assert.notEqual(shortPodId('pod-a'), shortPodId('pod-b'));
  });

  it('records pods one file each and reads them back', async () => {
    const stateDir = join(dir, 'records');
    const record = { podUid: 'u', namespace: 'ns', name: 'p', netns: podNetnsName('u'), hostVeth: hostVethName('u'), ip: '10.42.0.2' };
    await writePodRecord(stateDir, record);
    writeFileSync(join(stateDir, 'pods', 'not-ours.json'), '{}');
    assert.deepEqual(await readPodRecords(stateDir), [record]);
    await removePodRecord(stateDir, record.netns);
    await removePodRecord(stateDir, record.netns);
    assert.deepEqual(await readPodRecords(stateDir), []);
    assert.deepEqual(await readPodRecords(join(dir, 'nothing-here')), []);
  });
});

describe('enableNodeForwarding', () => {
  it('switches the node sysctls on and reports those the kernel lacks', async () => {
    const procSys = join(dir, 'proc-sys');
    mkdirSync(join(procSys, 'net/ipv4'), { recursive: true });
    writeFileSync(join(procSys, 'net/ipv4/ip_forward'), '0\n');
    const result = await enableNodeForwarding({ procSys });
    assert.equal(readFileSync(join(procSys, 'net/ipv4/ip_forward'), 'utf8'), '1\n');
    assert.deepEqual(result.set, ['net/ipv4/ip_forward']);
    assert.deepEqual(result.missing.map((m) => m.key), ['net/bridge/bridge-nf-call-iptables']);
  });
});
