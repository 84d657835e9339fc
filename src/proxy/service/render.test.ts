import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { buildModel, type EndpointSlice, type Service } from './model.ts';
import { renderRuleset } from './render.ts';

const NODE = 'node-a';

function service(name: string, spec: Service['spec'], status?: Service['status']): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec, status };
}

function slice(serviceName: string, ports: EndpointSlice['ports'], endpoints: EndpointSlice['endpoints'], name = `${serviceName}-abc`): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', addressType: 'IPv4',
    metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': serviceName } },
    ports, endpoints,
  };
}

const ready = (ip: string, nodeName = NODE) => ({ addresses: [ip], conditions: { ready: true, serving: true, terminating: false }, nodeName });
const terminating = (ip: string, nodeName = NODE) => ({ addresses: [ip], conditions: { ready: false, serving: true, terminating: true }, nodeName });

function render(services: Service[], slices: EndpointSlice[], options: { nodeIps?: string[]; clusterCidr?: string } = {}) {
  const model = buildModel({ services, slices, nodeName: NODE });
  return { model, ...renderRuleset(model, { nodeIps: options.nodeIps ?? ['192.0.2.10'], clusterCidr: options.clusterCidr ?? '10.42.0.0/16' }) };
}

/** Chains whose name starts with `prefix`: name → rules. */
function chains(text: string, prefix: string): Map<string, string[]> {
  const found = [...text.matchAll(/^ {2}chain (\S+) \{\n((?: {4}.*\n)*) {2}\}$/gm)].filter((m) => m[1].startsWith(prefix));
  return new Map(found.map((m) => [m[1], m[2].split('\n').map((l) => l.trim()).filter(Boolean)]));
}

/** The rules of the one chain whose name starts with `prefix`. */
function chain(text: string, prefix: string): string[] {
  const found = chains(text, prefix);
  assert.equal(found.size, 1, `one chain ${prefix}*: ${[...found.keys()].join(', ')}`);
  return [...found.values()][0];
}

function mapElements(text: string, name: string): string[] {
  const m = new RegExp(`^ {2}map ${name} \\{ type [^;]+;(?: elements = \\{ ([^}]*) \\})? \\}$`, 'm').exec(text);
  assert.ok(m, `map ${name}`);
  return m[1] ? m[1].split(',').map((e) => e.trim()) : [];
}

const web = service('web', { type: 'ClusterIP', clusterIP: '10.43.0.10', ports: [{ name: 'http', port: 80, targetPort: 'web', protocol: 'TCP' }] });
const webSlice = slice('web', [{ name: 'http', port: 8080, protocol: 'TCP' }], [ready('10.42.0.5'), ready('10.42.0.6', 'node-b')]);

describe('renderRuleset', () => {
  it('replaces only its own table atomically: create, delete, full table', () => {
    const { text } = render([web], [webSlice]);
    const lines = text.split('\n');
    assert.deepEqual(lines.slice(0, 3), ['table ip skiff {}', 'delete table ip skiff', 'table ip skiff {']);
    assert.ok(!/flush ruleset/.test(text));
    assert.equal(text.match(/^table /gm)?.length, 2);
    const custom = renderRuleset([], { nodeIps: [], tableName: 'other' }).text;
    assert.match(custom, /^table ip other \{\}\ndelete table ip other\n/);
  });

  it('DNATs a ClusterIP to its ready endpoints with random spreading, resolving the named targetPort from the slice', () => {
    const { text } = render([web], [webSlice]);
    const [element, ...more] = mapElements(text, 'service-ips');
    assert.equal(more.length, 0);
    assert.match(element, /^10\.43\.0\.10 \. tcp \. 80 : goto service-[0-9A-F]{8}-default\/web\/tcp\/http$/);
    const svc = chain(text, 'service-');
    // The node's own connections are not masqueraded here (see render.ts): only in a remote endpoint's chain.
    assert.equal(svc[0], 'ip saddr != 10.42.0.0/16 fib saddr type != local jump mark-for-masquerade');
    // Random spreading: the first endpoint with probability 1/2, else the second.
    assert.match(svc[1], /^numgen random mod 2 0 goto endpoint-\S+__10\.42\.0\.5\/8080$/);
    assert.match(svc[2], /^goto endpoint-\S+__10\.42\.0\.6\/8080$/);
    const endpoints = chains(text, 'endpoint-');
    assert.equal(endpoints.size, 2);
    const first = [...endpoints.entries()].find(([name]) => name.endsWith('__10.42.0.5/8080'))![1];
    // Hairpin: the endpoint reaching itself through the service is masqueraded.
    assert.deepEqual(first, ['ip saddr 10.42.0.5 jump mark-for-masquerade', 'meta l4proto tcp dnat to 10.42.0.5:8080']);
    const remote = [...endpoints.entries()].find(([name]) => name.endsWith('__10.42.0.6/8080'))![1];
    assert.deepEqual(remote, [
      'ip saddr 10.42.0.6 jump mark-for-masquerade', 'fib saddr type local jump mark-for-masquerade', 'meta l4proto tcp dnat to 10.42.0.6:8080',
    ]);
    assert.deepEqual(mapElements(text, 'no-endpoint-services'), []);
  });

  it('spreads over n endpoints with a 1/(n-i) cascade (uniform), without a set per service', () => {
    const three = slice('web', [{ name: 'http', port: 8080 }], [ready('10.42.0.5'), ready('10.42.0.6'), ready('10.42.0.7')]);
    const { text } = render([web], [three]);
    const rules = chain(text, 'service-').slice(1);
    assert.deepEqual(rules.map((r) => r.replace(/endpoint-\S+__/, '')), [
      'numgen random mod 3 0 goto 10.42.0.5/8080',
      'numgen random mod 2 0 goto 10.42.0.6/8080',
      'goto 10.42.0.7/8080',
    ]);
    assert.ok(!/vmap \{/.test(text), 'no inline (anonymous) maps');
  });

  it('looks a service up with one map lookup, not a rule per service', () => {
    const many = Array.from({ length: 50 }, (_, i) => service(`s${i}`, { clusterIP: `10.43.1.${i}`, ports: [{ port: 80 }] }));
    const slices = many.map((s, i) => slice(s.metadata.name!, [{ port: 80 }], [ready(`10.42.1.${i}`)]));
    const { text } = render(many, slices);
    assert.deepEqual(chain(text, 'services'), [
      'ip daddr . meta l4proto . th dport vmap @service-ips',
      'ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports',
    ]);
    assert.equal(mapElements(text, 'service-ips').length, 50);
    assert.deepEqual(chain(text, 'nat-prerouting'), ['type nat hook prerouting priority -100; policy accept;', 'jump services']);
    assert.deepEqual(chain(text, 'nat-output'), ['type nat hook output priority -100; policy accept;', 'jump services']);
  });

  it('uses serving-terminating endpoints only while none is ready', () => {
    const mixed = slice('web', [{ name: 'http', port: 8080 }], [ready('10.42.0.5'), terminating('10.42.0.7')]);
    let { text } = render([web], [mixed]);
    assert.equal(chains(text, 'endpoint-').size, 1);
    assert.match(chain(text, 'service-')[1], /^goto endpoint-\S+__10\.42\.0\.5\/8080$/);
    const draining = slice('web', [{ name: 'http', port: 8080 }], [terminating('10.42.0.7'), { addresses: ['10.42.0.8'], conditions: { ready: false, serving: false, terminating: true } }]);
    ({ text } = render([web], [draining]));
    assert.match(chain(text, 'service-')[1], /^goto endpoint-\S+__10\.42\.0\.7\/8080$/);
  });

  it('rejects a service without endpoints (RST / port unreachable) in the filter chains instead of blackholing it', () => {
    const { text } = render([web], []);
    assert.deepEqual(mapElements(text, 'service-ips'), []);
    assert.deepEqual(mapElements(text, 'no-endpoint-services'), ['10.43.0.10 . tcp . 80 : goto reject-chain']);
    assert.deepEqual(chain(text, 'reject-chain'), ['meta l4proto tcp reject with tcp reset', 'reject']);
    assert.ok(chain(text, 'filter-forward').includes('ct state new jump check-service-endpoints'));
    assert.ok(chain(text, 'filter-output').includes('ct state new jump check-service-endpoints'));
    assert.deepEqual(chain(text, 'check-service-endpoints'), ['ip daddr . meta l4proto . th dport vmap @no-endpoint-services']);
  });

  it('NodePort on the node addresses; LoadBalancer ingress and externalIPs like external traffic, masqueraded (policy Cluster)', () => {
    const lb = service('lb', {
      type: 'LoadBalancer', clusterIP: '10.43.0.20', externalIPs: ['198.51.100.7'],
      ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }, { name: 'dns', port: 53, nodePort: 30053, protocol: 'UDP' }],
    }, { loadBalancer: { ingress: [{ ip: '192.0.2.10' }, { hostname: 'lb.example' }] } });
    const lbSlices = [slice('lb', [{ port: 8080 }], [ready('10.42.0.5')], 'lb-1'), slice('lb', [{ name: 'dns', port: 5353, protocol: 'UDP' }], [ready('10.42.0.5')], 'lb-2')];
    const { text } = render([lb], lbSlices);
    assert.match(text, /set nodeport-ips \{ type ipv4_addr; elements = \{ 192\.0\.2\.10 \} \}/);
    const ips = mapElements(text, 'service-ips').map((e) => e.replace(/goto (\w+)-\S+$/, '$1'));
    assert.deepEqual(ips.sort(), [
      '10.43.0.20 . tcp . 80 : service', '10.43.0.20 . udp . 53 : service',
      '192.0.2.10 . tcp . 80 : external', '192.0.2.10 . udp . 53 : external',
      '198.51.100.7 . tcp . 80 : external', '198.51.100.7 . udp . 53 : external',
    ]);
    assert.deepEqual(mapElements(text, 'service-nodeports').map((e) => e.replace(/goto (\w+)-\S+$/, '$1')).sort(), ['tcp . 30080 : external', 'udp . 30053 : external']);
    const external = chains(text, 'external-');
    assert.equal(external.size, 2);
    for (const rules of external.values()) assert.equal(rules[0], 'jump mark-for-masquerade');
    assert.match(text, /meta l4proto udp dnat to 10\.42\.0\.5:5353/);
  });

  it('externalTrafficPolicy Local: only local endpoints, client address kept; pods and the node short-circuit to all endpoints', () => {
    const local = service('loc', { type: 'NodePort', clusterIP: '10.43.0.30', externalTrafficPolicy: 'Local', ports: [{ port: 80, nodePort: 30081 }] });
    let { text } = render([local], [slice('loc', [{ port: 8080 }], [ready('10.42.0.5'), ready('10.42.9.9', 'node-b')])]);
    const rules = chain(text, 'external-');
    assert.deepEqual(rules.slice(0, 3), [
      'ip saddr 10.42.0.0/16 goto cluster-' + rules[0].split('goto cluster-')[1],
      'fib saddr type local jump mark-for-masquerade',
      'fib saddr type local goto cluster-' + rules[0].split('goto cluster-')[1],
    ]);
    assert.match(rules[3], /^goto endpoint-\S+__10\.42\.0\.5\/8080$/);
    assert.ok(!rules.includes('jump mark-for-masquerade'));
    // No endpoint on this node: external traffic is dropped (pods still reach the remote one).
    ({ text } = render([local], [slice('loc', [{ port: 8080 }], [ready('10.42.9.9', 'node-b')])]));
    assert.deepEqual(mapElements(text, 'no-endpoint-nodeports'), ['tcp . 30081 : drop']);
    assert.equal(chain(text, 'external-').length, 3);
  });

  it('internalTrafficPolicy Local: ClusterIP traffic only to this node\'s endpoints, dropped when it has none', () => {
    const dns = service('kube-dns', { clusterIP: '10.43.0.10', internalTrafficPolicy: 'Local', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }] });
    // A selector-less service whose slice the agents publish (their gateway address).
    const published = slice('kube-dns', [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }], [ready('10.42.0.1'), ready('10.42.1.1', 'node-b')]);
    let { text } = render([dns], [published]);
    assert.equal(mapElements(text, 'service-ips').length, 2);
    for (const rules of chains(text, 'service-').values()) assert.match(rules[1], /^goto endpoint-\S+__10\.42\.0\.1\/53$/);
    ({ text } = render([dns], [slice('kube-dns', published.ports, [ready('10.42.1.1', 'node-b')])]));
    assert.deepEqual(mapElements(text, 'no-endpoint-services').sort(), ['10.43.0.10 . tcp . 53 : drop', '10.43.0.10 . udp . 53 : drop']);
  });

  it('sessionAffinity ClientIP: a timed dynamic set per endpoint, checked before spreading', () => {
    const sticky = service('sticky', { clusterIP: '10.43.0.40', sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } }, ports: [{ port: 80 }] });
    const { text } = render([sticky], [slice('sticky', [{ port: 80 }], [ready('10.42.0.5'), ready('10.42.0.6')])]);
    assert.equal(text.match(/set affinity-\S+ \{ type ipv4_addr; flags dynamic,timeout; timeout 60s; \}/g)?.length, 2);
    const rules = chain(text, 'service-');
    assert.match(rules[1], /^ip saddr @affinity-\S+__10\.42\.0\.5\/80 goto endpoint-\S+__10\.42\.0\.5\/80$/);
    assert.match(rules[3], /^numgen random mod 2 0 goto endpoint-/);
    assert.match(rules[4], /^goto endpoint-/);
    for (const ep of chains(text, 'endpoint-').values()) assert.match(ep[1], /^update @affinity-\S+ \{ ip saddr \}$/);
  });

  it('skips headless and ExternalName services; first claimant keeps a shared external address', () => {
    const headless = service('h', { clusterIP: 'None', ports: [{ port: 80 }] });
    const external = service('x', { type: 'ExternalName', externalName: 'example.com' } as Service['spec']);
    const a = service('a', { clusterIP: '10.43.0.50', externalIPs: ['198.51.100.9'], ports: [{ port: 80 }] });
    const b = service('b', { clusterIP: '10.43.0.51', externalIPs: ['198.51.100.9'], ports: [{ port: 80 }] });
    const { model, text, conflicts } = render([headless, external, b, a], [slice('a', [{ port: 80 }], [ready('10.42.0.5')]), slice('b', [{ port: 80 }], [ready('10.42.0.6')])]);
    assert.deepEqual(model.map((m) => m.name), ['a', 'b']);
    assert.deepEqual(conflicts, ['198.51.100.9 . tcp . 80 (default/b)']);
    assert.equal(mapElements(text, 'service-ips').filter((e) => e.startsWith('198.51.100.9')).length, 1);
  });

  it('is accepted by nft (in a throwaway network namespace)', { skip: process.getuid?.() === 0 ? false : 'needs root' }, () => {
    const lb = service('lb', { type: 'LoadBalancer', clusterIP: '10.43.0.20', externalTrafficPolicy: 'Local', sessionAffinity: 'ClientIP', ports: [{ port: 80, nodePort: 30080 }, { name: 'u', port: 53, protocol: 'UDP', nodePort: 30053 }] }, { loadBalancer: { ingress: [{ ip: '192.0.2.10' }] } });
    const { text } = render([lb, web, service('empty', { clusterIP: '10.43.0.99', ports: [{ port: 1 }] })], [webSlice, slice('lb', [{ port: 80 }, { name: 'u', port: 53, protocol: 'UDP' }], [ready('10.42.0.5'), ready('10.42.3.3', 'node-b')])]);
    // `unshare --net`: a new, empty network namespace that vanishes with the command — never the machine's own.
    // Applied twice: the second run replaces the table the first made.
    const script = 'f=$(mktemp) && cat > "$f" && nft -f "$f" && nft -f "$f" && nft list tables; s=$?; rm -f "$f"; exit $s';
    const result = spawnSync('unshare', ['--net', 'sh', '-c', script], { input: text, encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim(), 'table ip skiff');
  });
});
