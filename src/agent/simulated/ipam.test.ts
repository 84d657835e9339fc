import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatCidr, nodeInternalIp, nodeMaskSize, nodePodCidr, parseCidr, PodIpPool } from './ipam.ts';

describe('simulated node addresses', () => {
  it('parses and normalizes CIDRs', () => {
    assert.equal(formatCidr(parseCidr('10.42.0.0/16')), '10.42.0.0/16');
    assert.equal(formatCidr(parseCidr('10.42.7.9/16')), '10.42.0.0/16');
    assert.throws(() => parseCidr('10.42.0.0'), /not an IPv4 CIDR/);
    assert.throws(() => parseCidr('10.300.0.0/16'), /not an IPv4 CIDR/);
  });

  it('gives each node a /24 when they fit, smaller blocks when they do not', () => {
    const clusterCidr = parseCidr('10.42.0.0/16');
    assert.equal(nodeMaskSize({ clusterCidr, count: 3 }), 24);
    assert.equal(nodeMaskSize({ clusterCidr, count: 256 }), 24);
    assert.equal(nodeMaskSize({ clusterCidr, count: 257 }), 25);
    assert.equal(nodeMaskSize({ clusterCidr, count: 1000 }), 26);
    assert.equal(nodeMaskSize({ clusterCidr, count: 3, preferred: 20 }), 20);
    assert.throws(() => nodeMaskSize({ clusterCidr, count: 10_000 }), /10000 simulated nodes do not fit in the cluster CIDR 10.42.0.0\/16 \(at most 8192 nodes with a \/29 each\); use a larger --cluster-cidr/);
    assert.equal(nodeMaskSize({ clusterCidr: parseCidr('10.0.0.0/8'), count: 10_000 }), 24);
    assert.equal(formatCidr(nodePodCidr({ clusterCidr, mask: 24, index: 1 })), '10.42.1.0/24');
    assert.equal(formatCidr(nodePodCidr({ clusterCidr, mask: 26, index: 5 })), '10.42.1.64/26');
  });

  it('numbers nodes from 172.31.0.1', () => {
    assert.equal(nodeInternalIp(0), '172.31.0.1');
    assert.equal(nodeInternalIp(255), '172.31.1.0');
    assert.equal(nodeInternalIp(65_533), '172.31.255.254');
  });

  it('hands out pod addresses round-robin, stable per uid, and reports exhaustion', () => {
    const pool = new PodIpPool(parseCidr('10.42.1.0/29'));
    assert.equal(pool.capacity, 5);
    assert.equal(pool.allocate('a'), '10.42.1.2');
    assert.equal(pool.allocate('a'), '10.42.1.2');
    assert.equal(pool.allocate('b'), '10.42.1.3');
    assert.ok(pool.release('a'));
    // A freed address comes back only after the rest of the range.
    assert.equal(pool.allocate('c'), '10.42.1.4');
    assert.equal(pool.allocate('d'), '10.42.1.5');
    assert.equal(pool.allocate('e'), '10.42.1.6');
    assert.equal(pool.allocate('f'), '10.42.1.2');
    assert.equal(pool.allocate('g'), undefined);
    assert.equal(pool.inUse, 5);
  });

  it('adopts addresses pods already have', () => {
    const pool = new PodIpPool(parseCidr('10.42.1.0/24'));
    assert.ok(pool.adopt('a', '10.42.1.2'));
    assert.equal(pool.adopt('b', '10.42.1.2'), false);
    assert.equal(pool.adopt('c', '10.42.2.2'), false);
    assert.equal(pool.adopt('d', 'not-an-ip'), false);
    assert.equal(pool.allocate('e'), '10.42.1.3');
    assert.equal(pool.allocate('a'), '10.42.1.2');
  });
});
