import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { renderDelta } from './delta.ts';
import { buildModel, type EndpointSlice, type Service } from './model.ts';
import { renderRuleset } from './render.ts';
import { normalizeNftJson as normalize } from './nft-testing.ts';

const svc = (name: string, ip: string, extra: Service['spec'] = {}): Service => ({
  metadata: { name, namespace: 'default' }, spec: { clusterIP: ip, ports: [{ port: 80 }], ...extra },
});
const slice = (service: string, ips: string[]): EndpointSlice => ({
  metadata: { name: `${service}-1`, namespace: 'default', labels: { 'kubernetes.io/service-name': service } },
  addressType: 'IPv4', ports: [{ port: 8080 }],
  endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true }, nodeName: 'node-a' })),
});

function render(services: Service[], slices: EndpointSlice[], nodeIps = ['192.0.2.10']) {
  return renderRuleset(buildModel({ services, slices, nodeName: 'node-a' }), { nodeIps, clusterCidr: '10.42.0.0/16' });
}

const before = render(
  [svc('a', '10.43.0.1'), svc('b', '10.43.0.2'), svc('c', '10.43.0.3'), svc('sticky', '10.43.0.4', { sessionAffinity: 'ClientIP' })],
  [slice('a', ['10.42.0.5', '10.42.0.6']), slice('b', ['10.42.0.7']), slice('sticky', ['10.42.0.9'])],
);
// a: one endpoint more; b: gone; c: got an endpoint (was rejected); d: new; sticky: unchanged.
const after = render(
  [svc('a', '10.43.0.1'), svc('c', '10.43.0.3'), svc('d', '10.43.0.5'), svc('sticky', '10.43.0.4', { sessionAffinity: 'ClientIP' })],
  [slice('a', ['10.42.0.5', '10.42.0.6', '10.42.0.8']), slice('c', ['10.42.0.10']), slice('d', ['10.42.0.11']), slice('sticky', ['10.42.0.9'])],
);

describe('renderDelta', () => {
  it('is empty between equal tables', () => {
    assert.equal(renderDelta(before.state, render(
      [svc('a', '10.43.0.1'), svc('b', '10.43.0.2'), svc('c', '10.43.0.3'), svc('sticky', '10.43.0.4', { sessionAffinity: 'ClientIP' })],
      [slice('a', ['10.42.0.5', '10.42.0.6']), slice('b', ['10.42.0.7']), slice('sticky', ['10.42.0.9'])],
    ).state), '');
  });

  it('touches only what changed, deleting nothing that is still referred to', () => {
    const lines = renderDelta(before.state, after.state)!.trim().split('\n');
    const kinds = lines.map((l) => l.split(' ').slice(0, 2).join(' '));
    // The phases in order: element deletions, flushes, chain deletions, chain additions, rules, element additions.
    const order = ['delete element', 'flush chain', 'delete chain', 'add chain', 'add rule', 'add element'];
    assert.deepEqual(kinds.map((k) => order.indexOf(k)), [...kinds.map((k) => order.indexOf(k))].sort((x, y) => x - y));
    assert.ok(!kinds.includes('delete set') && !kinds.includes('add set'), 'the affinity set of the unchanged service stays');
    assert.ok(!lines.some((l) => l.includes('/sticky/')), 'the unchanged service is not touched');
    assert.ok(!lines.some((l) => l.includes('nat-prerouting') || l.startsWith('delete table')));
    assert.ok(lines.some((l) => /^delete element ip skiff service-ips \{ 10\.43\.0\.2 \. tcp \. 80 \}$/.test(l)));
    assert.ok(lines.some((l) => /^delete element ip skiff no-endpoint-services \{ 10\.43\.0\.3 \. tcp \. 80 \}$/.test(l)));
    assert.ok(lines.some((l) => /^add element ip skiff service-ips \{ .*10\.43\.0\.3 \. tcp \. 80 : goto service-.*10\.43\.0\.5 \. tcp \. 80 : goto service-/.test(l)));
    assert.ok(lines.some((l) => /^delete chain ip skiff endpoint-\S+\/b\/tcp\/p80__10\.42\.0\.7\/8080$/.test(l)));
    assert.ok(lines.some((l) => /^flush chain ip skiff service-\S+\/a\/tcp\/p80$/.test(l)));
    assert.ok(lines.some((l) => /^add rule ip skiff service-\S+\/a\/tcp\/p80 numgen random mod 3 0 goto /.test(l)));
  });

  it('asks for a full replacement when the node addresses changed', () => {
    assert.equal(renderDelta(before.state, render([], [], ['192.0.2.11']).state), undefined);
  });

  it('leaves nft with the same table as a full apply (in throwaway network namespaces)', { skip: process.getuid?.() === 0 ? false : 'needs root' }, () => {
    // `unshare --net`: new, empty namespaces that vanish with the command — never the machine's own.
    const dir = mkdtempSync(join(tmpdir(), 'skiff-delta-'));
    const run = (...inputs: string[]) => {
      const files = inputs.map((input, i) => {
        writeFileSync(join(dir, `${i}.nft`), input);
        return join(dir, `${i}.nft`);
      });
      const script = `${files.map((f) => `nft -f ${f}`).join(' && ')} && nft -j list table ip skiff`;
      const result = spawnSync('unshare', ['--net', 'sh', '-c', script], { encoding: 'utf8' });
      assert.equal(result.status, 0, result.stderr);
      return normalize(result.stdout);
    };
    try {
      const viaDelta = run(before.text, renderDelta(before.state, after.state)!);
      const whole = run(after.text);
      assert.ok(viaDelta.some((line) => line.includes('10.42.0.8')));
      assert.deepEqual(viaDelta, whole);
      // Then the affinity service goes: its chains, then its sets, are deleted.
      const last = render([svc('a', '10.43.0.1')], [slice('a', ['10.42.0.5'])]);
      const second = renderDelta(after.state, last.state)!;
      assert.match(second, /^delete set ip skiff affinity-/m);
      assert.deepEqual(run(before.text, renderDelta(before.state, after.state)!, second), run(last.text));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
