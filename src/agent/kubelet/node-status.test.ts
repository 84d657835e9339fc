import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { goArch, parseMeminfo, parseOsRelease } from './machine.ts';
import { firstFreePodCidr } from './node-agent.ts';
import { allocatableOf, capacityOf, formatBytes, pressureOf } from './node-status.ts';
import { fakeMachine, GiB } from './testing/harness.ts';

describe('node status', () => {
  it('formats byte counts as resource.Quantity does', () => {
    assert.equal(formatBytes(16393264 * 1024), '16393264Ki');
    assert.equal(formatBytes(8 * GiB), '8Gi');
    assert.equal(formatBytes(1000), '1000');
    assert.equal(formatBytes(0), '0');
  });

  it('capacity from the machine; allocatable minus the hard eviction thresholds', () => {
    const machine = fakeMachine({ cpus: 2, memoryBytes: 4 * GiB, storageBytes: 10 * GiB });
    assert.deepEqual(capacityOf(machine), { cpu: '2', 'ephemeral-storage': '10Gi', 'hugepages-1Gi': '0', 'hugepages-2Mi': '0', memory: '4Gi', pods: '110' });
    const allocatable = allocatableOf(machine);
    assert.equal(allocatable.memory, '3996Mi');
    assert.equal(allocatable['ephemeral-storage'], '9Gi');
    assert.equal(allocatableOf(fakeMachine({ storageBytes: 1001 * 4096 }))['ephemeral-storage'], String(1001 * 4096 - Math.ceil(1001 * 409.6)));
    assert.equal(allocatable.cpu, '2');
  });

  it('pressure from the same thresholds', () => {
    assert.deepEqual(pressureOf(fakeMachine()), { memory: false, disk: false, pid: false });
    assert.equal(pressureOf(fakeMachine({ memoryAvailableBytes: 50 * 1024 * 1024 })).memory, true);
    assert.equal(pressureOf(fakeMachine({ storageBytes: 100 * GiB, storageAvailableBytes: 5 * GiB })).disk, true);
  });

  it('parses /proc/meminfo and os-release', () => {
    const m = parseMeminfo('MemTotal:       16393264 kB\nMemFree:  100 kB\nMemAvailable:    8000000 kB\nHugePages_Total:       0\n');
    assert.equal(m.get('MemTotal'), 16393264 * 1024);
    assert.equal(m.get('HugePages_Total'), 0);
    assert.equal(parseOsRelease('NAME="Debian GNU/Linux"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n'), 'Debian GNU/Linux 12 (bookworm)');
    assert.equal(goArch('x64'), 'amd64');
  });

  it('picks the first pod CIDR no other node uses', () => {
    assert.equal(firstFreePodCidr({ clusterCidr: '10.42.0.0/16', used: [] }), '10.42.0.0/24');
    assert.equal(firstFreePodCidr({ clusterCidr: '10.42.0.0/16', used: ['10.42.0.0/24', '10.42.1.0/26'] }), '10.42.2.0/24');
    assert.throws(() => firstFreePodCidr({ clusterCidr: '10.42.0.0/24', used: ['10.42.0.0/24'] }), /no free \/24/);
  });
});
