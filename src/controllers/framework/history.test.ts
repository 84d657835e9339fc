// ControllerRevision history: the stored patch, revision numbering,
// rollbacks that renumber, hash collisions, and pruning. The client is a
// small in-memory stand-in: only create, get, patch and delete are used.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiStatusError, type ApiClient, type ResourceRef } from '../../client/interface.ts';
import {
  CONTROLLER_REVISION_HASH_LABEL, newRevision, sortRevisions, syncRevisions, templateOf, templatePatch, truncateHistory, type ControllerRevision,
} from './history.ts';

const owner = { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'web', namespace: 'ns', uid: 'uid-1', annotations: { 'kubernetes.io/change-cause': 'v1' } } };
const template = (image: string) => ({ metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image }] } });

function fakeClient(initial: ControllerRevision[] = []) {
  const store = new Map(initial.map((r) => [r.metadata.name!, structuredClone(r)]));
  const calls: string[] = [];
  const notFound = () => new ApiStatusError({ code: 404, reason: 'NotFound', message: 'not found' });
  const client = {
    async create(_ref: ResourceRef, body: ControllerRevision) {
      calls.push(`create ${body.metadata.name}`);
      if (store.has(body.metadata.name!)) throw new ApiStatusError({ code: 409, reason: 'AlreadyExists', message: 'exists' });
      const stored = { ...structuredClone(body), metadata: { ...body.metadata, uid: `uid-${body.metadata.name}` } };
      store.set(body.metadata.name!, stored);
      return structuredClone(stored);
    },
    async get(ref: ResourceRef) {
      const found = store.get(ref.name!);
      if (!found) throw notFound();
      return structuredClone(found);
    },
    async patch(ref: ResourceRef, _type: string, patch: { revision: number }) {
      calls.push(`renumber ${ref.name} ${patch.revision}`);
      const found = store.get(ref.name!);
      if (!found) throw notFound();
      found.revision = patch.revision;
      return structuredClone(found);
    },
    async delete(ref: ResourceRef) {
      calls.push(`delete ${ref.name}`);
      if (!store.delete(ref.name!)) throw notFound();
      return {};
    },
  };
  return { client: client as unknown as ApiClient, store, calls };
}

describe('controller history', () => {
  it('stores a replacing patch of the template and gives it back', () => {
    const r = newRevision({ owner, template: template('a:1'), revision: 1 });
    assert.deepEqual(r.data, { spec: { template: { ...template('a:1'), $patch: 'replace' } } });
    assert.deepEqual(templateOf(r), template('a:1'));
    assert.equal(r.metadata.name, `web-${r.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL]}`);
    assert.deepEqual(r.metadata.labels?.app, 'web');
    assert.deepEqual(r.metadata.annotations, owner.metadata.annotations);
    assert.equal(r.metadata.ownerReferences?.[0].uid, 'uid-1');
    assert.deepEqual(templatePatch(undefined), { spec: { template: { $patch: 'replace' } } });
  });

  it('creates revision 1, keeps it while the template stays, and numbers a new template 2', async () => {
    const { client, store } = fakeClient();
    const first = await syncRevisions({ client, owner, template: template('a:1'), revisions: [] });
    assert.equal(first.update.revision, 1);
    const same = await syncRevisions({ client, owner, template: template('a:1'), revisions: [...store.values()] });
    assert.equal(same.update.metadata.name, first.update.metadata.name);
    const second = await syncRevisions({ client, owner, template: template('a:2'), revisions: [...store.values()] });
    assert.equal(second.update.revision, 2);
    assert.deepEqual(second.revisions.map((r) => r.revision), [1, 2]);
  });

  it('renumbers an older equal revision instead of duplicating it (rollback)', async () => {
    const { client, store, calls } = fakeClient();
    const one = (await syncRevisions({ client, owner, template: template('a:1'), revisions: [] })).update;
    await syncRevisions({ client, owner, template: template('a:2'), revisions: [...store.values()] });
    const back = await syncRevisions({ client, owner, template: template('a:1'), revisions: [...store.values()] });
    assert.equal(back.update.metadata.name, one.metadata.name);
    assert.equal(back.update.revision, 3);
    assert.ok(calls.includes(`renumber ${one.metadata.name} 3`));
    assert.equal(store.size, 2);
  });

  it('takes an existing equal revision the cache did not show, and salts the hash past a real collision', async () => {
    const wanted = newRevision({ owner, template: template('a:1'), revision: 1 });
    const { client, calls } = fakeClient([wanted]);
    const found = await syncRevisions({ client, owner, template: template('a:1'), revisions: [] });
    assert.equal(found.update.metadata.name, wanted.metadata.name);
    assert.equal(found.collisionCount, 0);

    // Same name, other data: a collision.
    const squatter = { ...newRevision({ owner, template: template('a:2'), revision: 1 }), metadata: { ...wanted.metadata } };
    const collided = fakeClient([squatter]);
    const result = await syncRevisions({ client: collided.client, owner, template: template('a:1'), revisions: [] });
    assert.equal(result.collisionCount, 1);
    assert.notEqual(result.update.metadata.name, wanted.metadata.name);
    assert.equal(collided.calls.length, 2);
    assert.ok(calls.every((c) => c.startsWith('create')));
  });

  it('prunes the oldest unused revisions beyond the limit', async () => {
    const revisions = [1, 2, 3, 4, 5].map((n) => newRevision({ owner, template: template(`a:${n}`), revision: n }));
    const { client, calls } = fakeClient(revisions);
    const live = new Set([revisions[0].metadata.name!, revisions[4].metadata.name!]);
    await truncateHistory({ client, revisions: sortRevisions([...revisions].reverse()), live, limit: 1 });
    assert.deepEqual(calls, [`delete ${revisions[1].metadata.name}`, `delete ${revisions[2].metadata.name}`]);
  });
});
