import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ServiceAllocations } from './service-allocations.ts';

const service = (spec: Record<string, unknown>) => ({ metadata: { name: 's', namespace: 'default' }, spec });
const nodePorts = (svc: { spec?: unknown }) => ((svc.spec as { ports: { nodePort?: number }[] }).ports).map((p) => p.nodePort);

describe('service allocations: node ports', () => {
  it('allocates node ports for NodePort and LoadBalancer Services', () => {
    const allocations = new ServiceAllocations({ serviceCidr: '10.43.0.0/16' });
    for (const type of ['NodePort', 'LoadBalancer']) {
      const svc = service({ type, ports: [{ port: 80 }, { port: 443 }] });
      allocations.allocate(svc);
      assert.ok(nodePorts(svc).every((p) => p !== undefined && p >= 30000 && p <= 32767), type);
    }
  });

  it('allocateLoadBalancerNodePorts=false: no new node ports, given ones kept and reserved, kept across updates', () => {
    const allocations = new ServiceAllocations({ serviceCidr: '10.43.0.0/16' });
    const svc = service({ type: 'LoadBalancer', allocateLoadBalancerNodePorts: false, ports: [{ port: 80 }, { port: 443, nodePort: 31443 }] });
    allocations.allocate(svc);
    assert.deepEqual(nodePorts(svc), [undefined, 31443]);
    assert.throws(() => allocations.allocate(service({ type: 'NodePort', ports: [{ port: 1, nodePort: 31443 }] })), /already allocated|provided port/);

    const next = service({ type: 'LoadBalancer', allocateLoadBalancerNodePorts: false, ports: [{ port: 80 }, { port: 443 }] });
    allocations.carryOver(next, svc);
    assert.deepEqual(nodePorts(next), [undefined, 31443]);
    const allocating = service({ type: 'LoadBalancer', allocateLoadBalancerNodePorts: true, ports: [{ port: 80 }, { port: 443 }] });
    allocations.carryOver(allocating, next);
    assert.equal(nodePorts(allocating)[1], 31443);
    assert.ok((nodePorts(allocating)[0] ?? 0) >= 30000);
  });
});
