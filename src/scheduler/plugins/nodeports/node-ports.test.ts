import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ContainerPort } from '../../framework/types.ts';
import { scheduleOne } from '../../testing/harness.ts';

const existing = (ports: ContainerPort[]) => ({ name: 'old', nodeName: 'a', ports });
const fits = (old: ContainerPort[], wanted: ContainerPort[]) =>
  scheduleOne({ nodes: [{ name: 'a' }], pods: [existing(old)], pod: { name: 'new', ports: wanted } }).node === 'a';

describe('NodePorts', () => {
  it('rejects the same protocol and port on the same or the wildcard address', () => {
    assert.ok(!fits([{ hostPort: 80 }], [{ hostPort: 80 }]));
    assert.ok(!fits([{ hostPort: 80, hostIP: '10.0.0.1' }], [{ hostPort: 80 }]));
    assert.ok(!fits([{ hostPort: 80 }], [{ hostPort: 80, hostIP: '10.0.0.1' }]));
    assert.ok(!fits([{ hostPort: 80, hostIP: '10.0.0.1' }], [{ hostPort: 80, hostIP: '10.0.0.1' }]));
  });
  it('allows different addresses, protocols or ports', () => {
    assert.ok(fits([{ hostPort: 80, hostIP: '10.0.0.1' }], [{ hostPort: 80, hostIP: '10.0.0.2' }]));
    assert.ok(fits([{ hostPort: 53, protocol: 'UDP' }], [{ hostPort: 53, protocol: 'TCP' }]));
    assert.ok(fits([{ hostPort: 80 }], [{ hostPort: 81 }]));
    assert.ok(fits([{ containerPort: 80 }], [{ containerPort: 80 }]), 'container ports alone take nothing');
  });
  it('explains with upstream wording', () => {
    const r = scheduleOne({ nodes: [{ name: 'a' }], pods: [existing([{ hostPort: 80 }])], pod: { name: 'new', ports: [{ hostPort: 80 }] } });
    if (r.node !== undefined) return assert.fail('scheduled');
    assert.equal(r.message, "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.");
  });
  it('counts sidecar ports but not ordinary init container ports', () => {
    const pods = [{ name: 'old', nodeName: 'a', containers: [{}], initContainers: [{ ports: [{ hostPort: 90 }] }, { ports: [{ hostPort: 91 }], restartPolicy: 'Always' }] }];
    assert.equal(scheduleOne({ nodes: [{ name: 'a' }], pods, pod: { name: 'n', ports: [{ hostPort: 90 }] } }).node, 'a');
    assert.equal(scheduleOne({ nodes: [{ name: 'a' }], pods, pod: { name: 'n', ports: [{ hostPort: 91 }] } }).node, undefined);
  });
});
