import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { HostLocalIpam, IpamExhaustedError } from './ipam.ts';

const root = mkdtempSync(join(tmpdir(), 'skiff-ipam-'));
after(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const freshDir = () => join(root, `case-${counter++}`);

describe('HostLocalIpam', () => {
  it('hands out addresses from .2 and never the network, gateway or broadcast address', async () => {
    const ipam = new HostLocalIpam({ range: '10.42.3.0/29', dir: freshDir() });
    assert.equal(ipam.gateway, '10.42.3.1');
    assert.equal(ipam.capacity, 5);
    const got = [];
    for (let i = 0; i < 5; i++) got.push(await ipam.allocate(`pod-${i}`));
    assert.deepEqual(got, ['10.42.3.2', '10.42.3.3', '10.42.3.4', '10.42.3.5', '10.42.3.6']);
  });

  it('normalises the range and refuses ranges without room for a pod', () => {
    assert.equal(new HostLocalIpam({ range: '10.42.3.77/24', dir: freshDir() }).range, '10.42.3.0/24');
    assert.throws(() => new HostLocalIpam({ range: '10.42.3.0/31', dir: freshDir() }), /too small/);
    assert.throws(() => new HostLocalIpam({ range: 'nonsense', dir: freshDir() }), /not an IPv4 CIDR/);
  });

  it('gives the same owner the same address again', async () => {
    const ipam = new HostLocalIpam({ range: '10.42.0.0/24', dir: freshDir() });
    const first = await ipam.allocate('uid-a');
    assert.equal(await ipam.allocate('uid-a'), first);
    assert.equal(await ipam.lookup('uid-a'), first);
    assert.equal((await ipam.allocations()).size, 1);
  });

  it('keeps allocations across instances (an agent restart) and one file per address holding the owner', async () => {
    const dir = freshDir();
    const before = new HostLocalIpam({ range: '10.42.0.0/24', dir });
    const a = await before.allocate('uid-a');
    const b = await before.allocate('uid-b');
    const restarted = new HostLocalIpam({ range: '10.42.0.0/24', dir });
    assert.equal(await restarted.lookup('uid-a'), a);
    assert.equal(await restarted.allocate('uid-b'), b);
    const c = await restarted.allocate('uid-c');
    assert.ok(![a, b].includes(c));
    assert.equal(readFileSync(join(dir, c), 'utf8'), 'uid-c\n');
    assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.tmp')), []);
  });

  it('never hands out an address twice under concurrency, even from two instances on one directory', async () => {
    const dir = freshDir();
    const one = new HostLocalIpam({ range: '10.42.0.0/25', dir });
    const two = new HostLocalIpam({ range: '10.42.0.0/25', dir });
    const owners = Array.from({ length: 60 }, (_, i) => `uid-${i}`);
    const addresses = await Promise.all(owners.map((owner, i) => (i % 2 ? one : two).allocate(owner)));
    assert.equal(new Set(addresses).size, owners.length);
    const onDisk = await one.allocations();
    assert.equal(onDisk.size, owners.length);
    for (const [i, owner] of owners.entries()) assert.equal(onDisk.get(addresses[i]), owner);
  });

  it('fails with IpamExhaustedError when the range is full, and frees on release', async () => {
    const ipam = new HostLocalIpam({ range: '10.42.9.0/30', dir: freshDir() });
    assert.equal(await ipam.allocate('only'), '10.42.9.2');
    await assert.rejects(ipam.allocate('another'), (error: unknown) => {
      assert.ok(error instanceof IpamExhaustedError);
      assert.match(error.message, /no IP addresses available in range set: 10\.42\.9\.0\/30/);
      return true;
    });
    assert.equal(await ipam.release('only'), true);
    assert.equal(await ipam.release('only'), false);
    assert.equal(await ipam.lookup('only'), undefined);
    assert.equal(await ipam.allocate('another'), '10.42.9.2');
  });

  it('goes round-robin: a freed address is not handed out again at once', async () => {
    const ipam = new HostLocalIpam({ range: '10.42.0.0/24', dir: freshDir() });
    const a = await ipam.allocate('a');
    await ipam.allocate('b');
    await ipam.release('a');
    const c = await ipam.allocate('c');
    assert.notEqual(c, a);
    assert.equal(c, '10.42.0.4');
  });
});
