import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Binding } from '../../framework/interface.ts';
import { Harness, makePod } from '../../testing/harness.ts';
import { buildFramework } from '../../profile.ts';

describe('DefaultBinder', () => {
  it('posts a Binding through the injected function', async () => {
    const sent: Binding[] = [];
    const fw = buildFramework(undefined, { bindPod: async (b) => void sent.push(b) });
    const h = new Harness({ nodes: [{ name: 'a' }] });
    const r = fw.schedule(makePod({ name: 'p', namespace: 'ns' }), h.cache);
    assert.equal(r.node, 'a');
    if (r.node === undefined) return;
    assert.equal(await fw.bindingCycle(r.state, r.podInfo, r.node), undefined);
    assert.deepEqual(sent, [{
      apiVersion: 'v1', kind: 'Binding', metadata: { name: 'p', namespace: 'ns', uid: 'uid-ns-p' },
      target: { apiVersion: 'v1', kind: 'Node', name: 'a' },
    }]);
  });
  it('reports a failed POST as an Error status', async () => {
    const fw = buildFramework(undefined, { bindPod: async () => { throw new Error('409 conflict'); } });
    const h = new Harness({ nodes: [{ name: 'a' }] });
    const r = fw.schedule(makePod({ name: 'p' }), h.cache);
    if (r.node === undefined) return assert.fail('not scheduled');
    const s = await fw.bindingCycle(r.state, r.podInfo, r.node);
    assert.equal(s?.code, 'Error');
    assert.equal(s?.plugin, 'DefaultBinder');
    assert.match(s!.message(), /409 conflict/);
  });
});
