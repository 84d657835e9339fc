import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '../errors.ts';
import { ClusterIpAllocator, NodePortAllocator } from './allocators.ts';

describe('ClusterIpAllocator', () => {
  it('hands out distinct addresses above the reserved low ones, and reuses released ones', () => {
    const ips = new ClusterIpAllocator('10.43.0.0/28');
    assert.equal(ips.addressAt(1), '10.43.0.1');
    const got = new Set([ips.allocate(), ips.allocate(), ips.allocate(), ips.allocate()]);
    assert.deepEqual([...got].sort(), ['10.43.0.11', '10.43.0.12', '10.43.0.13', '10.43.0.14']);
    assert.throws(() => ips.allocate(), /range is full/);
    ips.release('10.43.0.12');
    assert.equal(ips.allocate(), '10.43.0.12');
  });

  it('reserves requested addresses once and refuses ones outside the range', () => {
    const ips = new ClusterIpAllocator('10.43.0.0/16');
    ips.reserve('10.43.0.1');
    assert.throws(() => ips.reserve('10.43.0.1'), (e: ApiError) => e.code === 422 && /already allocated/.test(e.message));
    assert.throws(() => ips.reserve('192.168.1.1'), (e: ApiError) => e.code === 422 && /not in the valid range/.test(e.message));
    assert.throws(() => new ClusterIpAllocator('not-a-cidr'), /invalid IPv4 CIDR/);
  });
});

describe('NodePortAllocator', () => {
  it('allocates inside the range without repeats', () => {
    const ports = new NodePortAllocator('30000-30004');
    const got = Array.from({ length: 5 }, () => ports.allocate());
    assert.equal(new Set(got).size, 5);
    for (const p of got) assert.ok(p >= 30000 && p <= 30004);
    assert.throws(() => ports.allocate(), /range is full/);
    ports.release(got[2]);
    assert.equal(ports.allocate(), got[2]);
  });

  it('refuses taken and out-of-range requested ports', () => {
    const ports = new NodePortAllocator();
    ports.reserve(30080, 'spec.ports[0].nodePort');
    assert.throws(() => ports.reserve(30080, 'spec.ports[0].nodePort'), /already allocated/);
    assert.throws(() => ports.reserve(80, 'spec.ports[0].nodePort'), /30000-32767/);
  });
});
