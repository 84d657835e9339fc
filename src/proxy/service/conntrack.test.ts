import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { staleUdpFlows } from './conntrack.ts';
import type { Endpoint, ServicePortModel } from './model.ts';

const ep = (ip: string): Endpoint => ({ ip, port: 5353, local: true });

function port(protocol: 'UDP' | 'TCP', endpoints: Endpoint[], extra: Partial<ServicePortModel> = {}): ServicePortModel {
  return {
    id: `default/dns:dns/${protocol.toLowerCase()}`, namespace: 'default', name: 'dns', portName: 'dns', protocol, port: 53,
    clusterIp: '10.43.0.10', externalAddresses: [], internalLocal: false, externalLocal: false,
    clusterEndpoints: endpoints, localEndpoints: endpoints, ...extra,
  };
}

describe('staleUdpFlows', () => {
  it('deletes the flows DNATed to endpoints a UDP service lost (ClusterIP and NodePort)', () => {
    const flows = staleUdpFlows([port('UDP', [ep('10.42.0.5'), ep('10.42.0.6')], { nodePort: 30053 })], [port('UDP', [ep('10.42.0.6')], { nodePort: 30053 })]);
    assert.deepEqual(flows, [
      ['-D', '-p', 'udp', '--orig-dst', '10.43.0.10', '--orig-port-dst', '53', '--dst-nat', '10.42.0.5'],
      ['-D', '-p', 'udp', '--orig-port-dst', '30053', '--dst-nat', '10.42.0.5'],
    ]);
  });

  it('deletes every flow of a deleted UDP service, and the refused ones once a service gets endpoints', () => {
    assert.equal(staleUdpFlows([port('UDP', [ep('10.42.0.5')])], []).length, 1);
    assert.deepEqual(staleUdpFlows([port('UDP', [])], [port('UDP', [ep('10.42.0.5')])]), [
      ['-D', '-p', 'udp', '--orig-dst', '10.43.0.10', '--orig-port-dst', '53'],
    ]);
  });

  it('leaves TCP and unchanged services alone', () => {
    assert.deepEqual(staleUdpFlows([port('TCP', [ep('10.42.0.5')])], [port('TCP', [])]), []);
    assert.deepEqual(staleUdpFlows([port('UDP', [ep('10.42.0.5')])], [port('UDP', [ep('10.42.0.5')])]), []);
  });
});
