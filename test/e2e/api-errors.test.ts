// The API server's edge as raw clients see it (what kubectl alone does not
// expose): error Status objects with upstream codes, reasons and messages;
// undecodable bodies that change nothing; authentication of /metrics and the
// public health endpoints; discovery (legacy and aggregated) and OpenAPI v3.
// One real `skiff server`, driven over HTTP/2 (and HTTP/1.1 where the code
// path differs).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encodeKubernetesProtobuf } from '../../src/api/protobuf/index.ts';
import { startServer, type ServerHandle } from './harness.ts';
import { configMap, createNamespace, expectStatus, ok, RawClient } from './raw-client.ts';

const NS = 'errs';
const CMS = `/api/v1/namespaces/${NS}/configmaps`;
const METHOD_NOT_ALLOWED = 'the server does not allow this method on the requested resource';
const PAGE_NOT_FOUND = 'the server could not find the requested resource';

describe('API edge: errors, auth, discovery, OpenAPI, metrics', () => {
  let server: ServerHandle;
  let api: RawClient;
  let http1: RawClient;

  before(async () => {
    server = await startServer({ apiOnly: true });
    api = new RawClient({ port: server.port, dataDir: server.dataDir });
    http1 = new RawClient({ port: server.port, dataDir: server.dataDir, protocol: 'http/1.1' });
    await createNamespace(api, NS);
    ok(await api.post(CMS, configMap('a', { k: 'v' })), 201);
  });
  after(async () => {
    await api?.close();
    await http1?.close();
    await server?.stop();
  });

  /** Names and resourceVersion of the test namespace's ConfigMaps: must not move after a rejected write. */
  const snapshot = async () => {
    const list = ok(await api.get(CMS), 200);
    return { resourceVersion: list.metadata.resourceVersion, names: list.items.map((o: any) => o.metadata.name) };
  };

  it('404 NotFound for a missing object, an unknown resource and an unknown group', async () => {
    const status = expectStatus(await api.get(`${CMS}/x`), 404, 'NotFound', 'configmaps "x" not found');
    assert.deepEqual(status.details, { name: 'x', kind: 'configmaps' });
    const apps = expectStatus(await api.get(`/apis/apps/v1/namespaces/${NS}/deployments/x`), 404, 'NotFound', 'deployments.apps "x" not found');
    assert.deepEqual(apps.details, { name: 'x', group: 'apps', kind: 'deployments' });
    expectStatus(await api.delete(`${CMS}/x`), 404, 'NotFound', 'configmaps "x" not found');
    expectStatus(await api.put(`${CMS}/x`, configMap('x')), 404, 'NotFound', 'configmaps "x" not found');
    expectStatus(await api.patch(`${CMS}/x`, { data: { k: 'v' } }), 404, 'NotFound', 'configmaps "x" not found');
    expectStatus(await api.get(`/api/v1/namespaces/${NS}/foos`), 404, 'NotFound', PAGE_NOT_FOUND);
    expectStatus(await api.get(`${CMS}/a/foo`), 404, 'NotFound');
    // Upstream answers unknown groups outside go-restful (plain "404 page not found"): only the code is fixed.
    assert.equal((await api.get('/apis/nope.example.com/v1/things')).status, 404);
  });

  it('409 AlreadyExists on a duplicate create, Conflict on a stale resourceVersion', async () => {
    ok(await api.post(CMS, configMap('dup')), 201);
    const exists = expectStatus(await api.post(CMS, configMap('dup')), 409, 'AlreadyExists', 'configmaps "dup" already exists');
    assert.deepEqual(exists.details, { name: 'dup', kind: 'configmaps' });

    const v1 = ok(await api.get(`${CMS}/dup`), 200);
    const v2 = ok(await api.put(`${CMS}/dup`, { ...v1, data: { n: '2' } }), 200);
    assert.ok(Number(v2.metadata.resourceVersion) > Number(v1.metadata.resourceVersion));
    const stale = `Operation cannot be fulfilled on configmaps "dup": the object has been modified; please apply your changes to the latest version and try again`;
    const conflict = expectStatus(await api.put(`${CMS}/dup`, { ...v1, data: { n: '3' } }), 409, 'Conflict', stale);
    assert.deepEqual(conflict.details, { name: 'dup', kind: 'configmaps' });
    expectStatus(await api.patch(`${CMS}/dup`, { metadata: { resourceVersion: v1.metadata.resourceVersion }, data: { n: '4' } }), 409, 'Conflict', stale);
    assert.deepEqual(ok(await api.get(`${CMS}/dup`), 200).data, { n: '2' });
  });

  it('405 MethodNotAllowed for POST on an item and PUT/PATCH on a collection', async () => {
    const before = await snapshot();
    expectStatus(await api.post(`${CMS}/a`, configMap('a')), 405, 'MethodNotAllowed', METHOD_NOT_ALLOWED);
    expectStatus(await api.put(CMS, configMap('a')), 405, 'MethodNotAllowed', METHOD_NOT_ALLOWED);
    expectStatus(await api.patch(CMS, { data: { x: 'y' } }), 405, 'MethodNotAllowed', METHOD_NOT_ALLOWED);
    assert.deepEqual(await snapshot(), before);
  });

  it('415 UnsupportedMediaType for a text/plain body and an unknown patch type; 422 for apply without fieldManager', async () => {
    const before = await snapshot();
    const plain = await api.request({ method: 'POST', path: CMS, body: 'name: text', contentType: 'text/plain' });
    expectStatus(plain, 415, 'UnsupportedMediaType',
      /^the body of the request was in an unknown format - accepted media types include: application\/json, application\/yaml, application\/vnd\.kubernetes\.protobuf/);
    const unknownPatch = await api.request({ method: 'PATCH', path: `${CMS}/a`, body: '{}', contentType: 'application/x-unknown-patch' });
    expectStatus(unknownPatch, 415, 'UnsupportedMediaType', /unknown format/);
    // Server-side apply without a fieldManager is refused before anything is written.
    const apply = await api.request({ method: 'PATCH', path: `${CMS}/a`, body: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: applied\n', contentType: 'application/apply-patch+yaml' });
    expectStatus(apply, 422, 'Invalid', /fieldManager: Required value: is required for apply patch/);
    assert.deepEqual(await snapshot(), before);
    assert.deepEqual(ok(await api.get(`${CMS}/a`), 200).data, { k: 'v' });
  });

  it('413 RequestEntityTooLarge for a body over 3 MiB (HTTP/2 and HTTP/1.1)', async () => {
    const before = await snapshot();
    const big = configMap('big', { blob: 'x'.repeat(3 * 1024 * 1024 + 100) });
    for (const client of [api, http1]) {
      expectStatus(await client.post(CMS, big), 413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728');
      ok(await client.get('/version'), 200);
    }
    assert.deepEqual(await snapshot(), before);
  });

  it('400 BadRequest for undecodable bodies; the server keeps serving and writes nothing', async () => {
    const before = await snapshot();
    const deep = `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep"},"data":${'{"a":'.repeat(200)}"x"${'}'.repeat(200)}}`;
    const proto = Buffer.from(encodeKubernetesProtobuf(configMap('proto', { k: 'v' }) as never));
    const bodies: { what: string; body: string | Buffer; contentType?: string }[] = [
      { what: 'malformed JSON', body: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"bad"' },
      { what: 'not JSON at all', body: 'this is not json' },
      { what: 'a JSON array', body: JSON.stringify([configMap('arr')]) },
      { what: 'a body 200 levels deep', body: deep },
      { what: 'truncated protobuf', body: proto.subarray(0, proto.length - 5), contentType: 'application/vnd.kubernetes.protobuf' },
      { what: 'protobuf without the k8s magic', body: Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]), contentType: 'application/vnd.kubernetes.protobuf' },
      { what: 'malformed YAML', body: 'metadata: {name: [unclosed\n', contentType: 'application/yaml' },
    ];
    for (const { what, body, contentType } of bodies) {
      for (const client of [api, http1]) {
        const res = await client.request({ method: 'POST', path: CMS, body, contentType });
        const status = expectStatus(res, 400, 'BadRequest');
        assert.ok(status.message, `${what}: a message`);
        assert.deepEqual(await snapshot(), before, `${what}: nothing written, and the server still answers`);
      }
    }
    // The same bodies on an update change nothing either.
    for (const { body, contentType } of bodies) {
      expectStatus(await api.request({ method: 'PUT', path: `${CMS}/a`, body, contentType }), 400, 'BadRequest');
    }
    assert.deepEqual(await snapshot(), before);
    // A valid protobuf body is accepted (the truncated one above was rejected for its truncation).
    ok(await api.request({ method: 'POST', path: CMS, body: proto, contentType: 'application/vnd.kubernetes.protobuf' }), 201);
    ok(await api.delete(`${CMS}/proto`), 200);
  });

  it('400 for a body of another kind or apiVersion, and for names or namespaces that differ from the URL', async () => {
    const before = await snapshot();
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: {} };
    const wrongKind = expectStatus(await api.post(CMS, secret), 400, 'BadRequest');
    assert.match(wrongKind.message, /Secret/);
    assert.match(wrongKind.message, /ConfigMap/);
    expectStatus(await api.post(CMS, { ...configMap('g'), apiVersion: 'apps/v1' }), 400, 'BadRequest');
    const hpa = {
      apiVersion: 'autoscaling/v1', kind: 'HorizontalPodAutoscaler', metadata: { name: 'h' },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, minReplicas: 1, maxReplicas: 3 },
    };
    expectStatus(await api.post(`/apis/autoscaling/v2/namespaces/${NS}/horizontalpodautoscalers`, hpa), 400, 'BadRequest',
      'the API version in the data (autoscaling/v1) does not match the expected API version (autoscaling/v2)');

    const current = ok(await api.get(`${CMS}/a`), 200);
    expectStatus(await api.put(`${CMS}/a`, { ...current, metadata: { ...current.metadata, name: 'b' } }), 400, 'BadRequest',
      'the name of the object (b) does not match the name on the URL (a)');
    expectStatus(await api.post(CMS, { ...configMap('n'), metadata: { name: 'n', namespace: 'default' } }), 400, 'BadRequest',
      'the namespace of the provided object does not match the namespace sent on the request');
    assert.deepEqual(await snapshot(), before);
  });

  it('422 Invalid for an object without name or generateName', async () => {
    const res = await api.post(CMS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: {}, data: {} });
    const status = expectStatus(res, 422, 'Invalid', 'ConfigMap "" is invalid: metadata.name: Required value: name or generateName is required');
    assert.equal(status.details.kind, 'ConfigMap');
    assert.deepEqual(status.details.causes, [{ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' }]);
  });

  it('404 for new content in a namespace that does not exist', async () => {
    const status = expectStatus(await api.post('/api/v1/namespaces/nope/configmaps', configMap('x')), 404, 'NotFound', 'namespaces "nope" not found');
    assert.deepEqual(status.details, { name: 'nope', kind: 'namespaces' });
  });

  it('409 for DELETE with a failing uid or resourceVersion precondition', async () => {
    ok(await api.post(CMS, configMap('pre')), 201);
    const wrongUid = { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: 'not-the-uid' } };
    const status = expectStatus(await api.delete(`${CMS}/pre`, wrongUid), 409, 'Conflict', /^Operation cannot be fulfilled on configmaps "pre": .*Precondition failed: UID in precondition: not-the-uid, UID in object meta: /);
    assert.equal(status.details.name, 'pre');
    const wrongRv = { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { resourceVersion: '1' } };
    expectStatus(await api.delete(`${CMS}/pre`, wrongRv), 409, 'Conflict', /Precondition failed: ResourceVersion in precondition: 1, ResourceVersion in object meta: /);
    const current = ok(await api.get(`${CMS}/pre`), 200);
    const right = { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: current.metadata.uid, resourceVersion: current.metadata.resourceVersion } };
    ok(await api.delete(`${CMS}/pre`, right), 200);
    expectStatus(await api.get(`${CMS}/pre`), 404, 'NotFound');
  });

  it('400 for malformed list parameters: continue, label and field selectors', async () => {
    expectStatus(await api.get(`${CMS}?limit=1&continue=not-a-valid-token!`), 400, 'BadRequest', /continue/);
    for (const selector of ['tier in (web', 'a=b=c', '!', 'tier notin web', 'tier web']) {
      expectStatus(await api.get(`${CMS}?labelSelector=${encodeURIComponent(selector)}`), 400, 'BadRequest');
    }
    expectStatus(await api.get(`${CMS}?fieldSelector=${encodeURIComponent('data.k=v')}`), 400, 'BadRequest');
    expectStatus(await api.get(`/api/v1/pods?fieldSelector=${encodeURIComponent('spec.foo=bar')}`), 400, 'BadRequest');
    ok(await api.get(CMS), 200);
  });

  it('401 without credentials, except for /healthz, /livez, /readyz and /version', async () => {
    for (const path of ['/metrics', '/api/v1/namespaces', '/apis', '/openapi/v3']) {
      expectStatus(await api.request({ path, auth: false }), 401, 'Unauthorized', 'Unauthorized');
    }
    expectStatus(await api.request({ path: '/metrics', auth: false, headers: { authorization: 'Bearer not-a-valid-token' } }), 401, 'Unauthorized');
    for (const path of ['/healthz', '/livez', '/readyz']) {
      const res = await api.request({ path, auth: false });
      assert.equal(res.status, 200, path);
      assert.equal(res.text, 'ok', path);
    }
    const version = ok(await api.request({ path: '/version', auth: false }), 200);
    assert.equal(version.major, '1');
    assert.equal(version.minor, '36');
    assert.match(version.gitVersion, /^v1\.36\./);
  });

  it('/metrics counts requests by verb, resource and code', async () => {
    ok(await api.get(`${CMS}/a`), 200);
    expectStatus(await api.get(`${CMS}/none`), 404, 'NotFound');
    ok(await api.post(CMS, configMap('metrics')), 201);
    const res = await api.get('/metrics');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain/);
    const samples = res.text.split('\n').filter((l) => l.startsWith('apiserver_request_total{')).map(parseSample);
    const has = (want: Record<string, string>) => samples.some((s) => Object.entries(want).every(([k, v]) => s.labels[k] === v) && s.value > 0);
    // Upstream reports the HTTP verb for writes (POST, PUT, PATCH, DELETE) and GET/LIST/WATCH for reads.
    assert.ok(has({ verb: 'GET', resource: 'configmaps', code: '200' }), 'GET 200');
    assert.ok(has({ verb: 'GET', resource: 'configmaps', code: '404' }), 'GET 404');
    assert.ok(has({ verb: 'LIST', resource: 'configmaps', code: '200' }), 'LIST 200');
    assert.ok(has({ verb: 'POST', resource: 'configmaps', code: '201' }), `POST 201 in:\n${samples.filter((s) => s.labels.resource === 'configmaps').map((s) => s.line).join('\n')}`);
    assert.ok(has({ verb: 'POST', resource: 'configmaps', code: '409' }), 'POST 409');
    assert.ok(has({ verb: 'PUT', resource: 'configmaps', code: '200' }), 'PUT 200');
  });

  it('discovery: legacy APIGroupList, aggregated v2 by Accept, APIResourceList with subresources', async () => {
    const legacy = await api.get('/apis');
    assert.match(String(legacy.headers['content-type']), /^application\/json/);
    assert.equal(legacy.json.kind, 'APIGroupList');
    const apps = legacy.json.groups.find((g: any) => g.name === 'apps');
    assert.deepEqual(apps.preferredVersion, { groupVersion: 'apps/v1', version: 'v1' });

    const accept = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';
    const aggregated = await api.get('/apis', accept);
    assert.equal(aggregated.status, 200);
    assert.equal(String(aggregated.headers['content-type']).replaceAll(' ', ''), 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
    assert.equal(aggregated.json.kind, 'APIGroupDiscoveryList');
    assert.equal(aggregated.json.apiVersion, 'apidiscovery.k8s.io/v2');
    const appsV1 = aggregated.json.items.find((g: any) => g.metadata.name === 'apps').versions.find((v: any) => v.version === 'v1');
    const deployments = appsV1.resources.find((r: any) => r.resource === 'deployments');
    assert.equal(deployments.scope, 'Namespaced');
    assert.deepEqual(deployments.subresources.find((s: any) => s.subresource === 'scale').responseKind, { group: 'autoscaling', version: 'v1', kind: 'Scale' });
    const core = await api.get('/api', accept);
    assert.equal(core.json.kind, 'APIGroupDiscoveryList');
    assert.ok(core.json.items[0].versions[0].resources.some((r: any) => r.resource === 'pods'));

    const list = ok(await api.get('/apis/apps/v1'), 200);
    assert.equal(list.kind, 'APIResourceList');
    assert.equal(list.groupVersion, 'apps/v1');
    const scale = list.resources.find((r: any) => r.name === 'deployments/scale');
    assert.ok(scale, 'deployments/scale is listed');
    assert.equal(scale.group, 'autoscaling');
    assert.equal(scale.version, 'v1');
    assert.equal(scale.kind, 'Scale');
    assert.deepEqual([...scale.verbs].sort(), ['get', 'patch', 'update']);
    assert.equal(list.resources.find((r: any) => r.name === 'deployments/status')?.kind, 'Deployment');
    expectStatus(await api.get('/apis/apps/v9'), 404, 'NotFound');
  });

  it('OpenAPI v3: index with hashed URLs; PATCH operations carry the GVK and fieldValidation', async () => {
    const index = ok(await api.get('/openapi/v3'), 200);
    const entry = index.paths['apis/apps/v1'];
    assert.match(entry?.serverRelativeURL ?? '', /^\/openapi\/v3\/apis\/apps\/v1\?hash=[0-9A-Za-z]+$/);
    assert.match(index.paths['api/v1']?.serverRelativeURL ?? '', /^\/openapi\/v3\/api\/v1\?hash=/);
    const doc = ok(await api.get(entry.serverRelativeURL), 200);
    assert.match(doc.openapi, /^3\./);
    const patch = doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}']?.patch;
    assert.ok(patch, 'the deployment item path has a PATCH operation');
    assert.deepEqual(patch['x-kubernetes-group-version-kind'], { group: 'apps', version: 'v1', kind: 'Deployment' });
    assert.ok(patch.parameters.some((p: any) => p.name === 'fieldValidation' && p.in === 'query'), 'fieldValidation parameter');
    assert.ok(Object.keys(patch.requestBody.content).includes('application/strategic-merge-patch+json'));
    const schema = doc.components.schemas['io.k8s.api.apps.v1.Deployment'];
    assert.deepEqual(schema['x-kubernetes-group-version-kind'], [{ group: 'apps', version: 'v1', kind: 'Deployment' }]);
    expectStatus(await api.get('/openapi/v3/apis/nope/v1'), 404, 'NotFound');
  });
});

function parseSample(line: string): { line: string; labels: Record<string, string>; value: number } {
  const m = /^\w+\{(.*)\}\s+(\S+)$/.exec(line)!;
  const labels: Record<string, string> = {};
  for (const [, k, v] of m[1].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v;
  return { line, labels, value: Number(m[2]) };
}
