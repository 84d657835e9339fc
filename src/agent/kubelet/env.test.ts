import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../client/interface.ts';
import { ContainerConfigError, containerArgv, containerEnv, expandVariables, fieldRefValue, mergeWithImageEnv, resourceFieldValue, type EnvSources } from './env.ts';
import { serviceEnvVars, servicesForPod } from './service-env.ts';

const vars = new Map([['A', 'alpha'], ['B', 'beta']]);
const lookup = (name: string) => vars.get(name);

describe('$(VAR) expansion (upstream expansion.Expand)', () => {
  const cases: [string, string][] = [
    ['$(A)', 'alpha'],
    ['x-$(A)-$(B)-y', 'x-alpha-beta-y'],
    ['$(MISSING)', '$(MISSING)'],
    ['$$(A)', '$(A)'],
    ['$$$(A)', '$alpha'],
    ['$$$$(A)', '$$(A)'],
    ['$(A', '$(A'],
    ['$A', '$A'],
    ['cost: 5$', 'cost: 5$'],
    ['$()', '$()'],
    ['', ''],
    ['no vars', 'no vars'],
    ['$(A)$(B)', 'alphabeta'],
  ];
  for (const [input, want] of cases) it(`${JSON.stringify(input)} → ${JSON.stringify(want)}`, () => assert.equal(expandVariables(input, lookup), want));
});

describe('argv from command/args and the image', () => {
  const env = new Map([['GREETING', 'hi']]);
  it('uses Entrypoint + Cmd without command or args', () => {
    assert.deepEqual(containerArgv({ container: { name: 'c' }, imageEntrypoint: ['/entry'], imageCmd: ['a', 'b'], env }), ['/entry', 'a', 'b']);
  });
  it('args replace Cmd and keep the Entrypoint', () => {
    assert.deepEqual(containerArgv({ container: { name: 'c', args: ['x'] }, imageEntrypoint: ['/entry'], imageCmd: ['a'], env }), ['/entry', 'x']);
  });
  it('command replaces both (Cmd is dropped)', () => {
    assert.deepEqual(containerArgv({ container: { name: 'c', command: ['sh'] }, imageEntrypoint: ['/entry'], imageCmd: ['a'], env }), ['sh']);
    assert.deepEqual(containerArgv({ container: { name: 'c', command: ['sh', '-c'], args: ['echo $(GREETING) $$(GREETING)'] }, imageEntrypoint: null, imageCmd: null, env }), ['sh', '-c', 'echo hi $(GREETING)']);
  });
});

const pod: KubeObject = {
  metadata: { name: 'p', namespace: 'ns', uid: 'u-1', labels: { app: 'web', tier: 'x' }, annotations: { note: 'a"b' } },
  spec: { nodeName: 'n1', serviceAccountName: 'sa', containers: [{ name: 'c', resources: { limits: { memory: '64Mi' }, requests: { cpu: '250m' } } }] },
};
const facts = { pod, hostIp: '192.0.2.10', podIps: ['10.42.0.5'], allocatable: { cpu: '2', memory: '4Gi' } };

function sources(objects: Record<string, KubeObject>, services: KubeObject[] = []): EnvSources {
  return {
    configMap: async (ns, name) => objects[`cm/${ns}/${name}`],
    secret: async (ns, name) => objects[`secret/${ns}/${name}`],
    serviceEnv: async (ns, all) => serviceEnvVars(servicesForPod({ namespace: ns, enableServiceLinks: all, all: services })),
  };
}

describe('container env', () => {
  it('fieldRef and resourceFieldRef values', () => {
    assert.equal(fieldRefValue('metadata.name', facts), 'p');
    assert.equal(fieldRefValue("metadata.labels['app']", facts), 'web');
    assert.equal(fieldRefValue('metadata.labels', facts), 'app="web"\ntier="x"');
    assert.equal(fieldRefValue('metadata.annotations', facts), 'note="a\\"b"');
    assert.equal(fieldRefValue('status.podIP', facts), '10.42.0.5');
    assert.equal(fieldRefValue('spec.nodeName', facts), 'n1');
    const container = (pod.spec as any).containers[0];
    assert.equal(resourceFieldValue({ ref: { resource: 'limits.memory', divisor: '1Mi' }, container, pod, allocatable: facts.allocatable }), '64');
    assert.equal(resourceFieldValue({ ref: { resource: 'requests.cpu', divisor: '1m' }, container, pod, allocatable: facts.allocatable }), '250');
    assert.equal(resourceFieldValue({ ref: { resource: 'requests.cpu' }, container, pod, allocatable: facts.allocatable }), '1');
    // No cpu limit: the node's allocatable stands in.
    assert.equal(resourceFieldValue({ ref: { resource: 'limits.cpu' }, container, pod, allocatable: facts.allocatable }), '2');
  });

  it('envFrom with prefix, then env in order with expansion, configMap/secret keys, service links last', async () => {
    const objects = {
      'cm/ns/cfg': { metadata: { name: 'cfg' }, data: { MODE: 'fast', LEVEL: '3' } },
      'secret/ns/creds': { metadata: { name: 'creds' }, data: { password: Buffer.from('s3cret').toString('base64') } },
    };
    const services = [
      { metadata: { name: 'kubernetes', namespace: 'default' }, spec: { clusterIP: '10.43.0.1', ports: [{ name: 'https', port: 443, protocol: 'TCP' }] } },
      { metadata: { name: 'my-db', namespace: 'ns' }, spec: { clusterIP: '10.43.0.9', ports: [{ port: 5432 }] } },
    ];
    const env = await containerEnv({
      facts, sources: sources(objects, services),
      container: {
        name: 'c',
        envFrom: [{ prefix: 'CFG_', configMapRef: { name: 'cfg' } }, { configMapRef: { name: 'absent', optional: true } }],
        env: [
          { name: 'FIRST', value: 'one' },
          { name: 'SECOND', value: '$(FIRST)-two-$(LATER)-$(CFG_MODE)' },
          { name: 'LATER', value: 'late' },
          { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
          { name: 'LVL', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'LEVEL' } } },
          { name: 'OPT', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'nope', optional: true } } },
          { name: 'MY_DB_SERVICE_HOST', value: 'overridden' },
          { name: 'DB', value: '$(MY_DB_SERVICE_PORT)' },
        ],
      },
    });
    assert.equal(env.get('CFG_MODE'), 'fast');
    assert.equal(env.get('SECOND'), 'one-two-$(LATER)-fast');
    assert.equal(env.get('PASSWORD'), 's3cret');
    assert.equal(env.get('LVL'), '3');
    assert.equal(env.has('OPT'), false);
    assert.equal(env.get('MY_DB_SERVICE_HOST'), 'overridden');
    assert.equal(env.get('DB'), '5432');
    assert.equal(env.get('KUBERNETES_SERVICE_HOST'), '10.43.0.1');
    assert.equal(env.get('KUBERNETES_PORT_443_TCP'), 'tcp://10.43.0.1:443');
    assert.equal(env.get('MY_DB_PORT'), 'tcp://10.43.0.9:5432');
  });

  it('enableServiceLinks: false keeps only the kubernetes service', async () => {
    const services = [
      { metadata: { name: 'kubernetes', namespace: 'default' }, spec: { clusterIP: '10.43.0.1', ports: [{ port: 443 }] } },
      { metadata: { name: 'web', namespace: 'ns' }, spec: { clusterIP: '10.43.0.2', ports: [{ port: 80 }] } },
    ];
    const noLinks = { ...facts, pod: { ...pod, spec: { ...(pod.spec as object), enableServiceLinks: false } } };
    const env = await containerEnv({ facts: noLinks, sources: sources({}, services), container: { name: 'c' } });
    assert.equal(env.get('KUBERNETES_SERVICE_PORT'), '443');
    assert.equal(env.has('WEB_SERVICE_HOST'), false);
  });

  it('missing objects and keys are CreateContainerConfigError with upstream messages', async () => {
    const objects = { 'cm/ns/cfg': { metadata: { name: 'cfg' }, data: {} } };
    await assert.rejects(containerEnv({ facts, sources: sources(objects), container: { name: 'c', env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'mode' } } }] } }),
      (e: Error) => e instanceof ContainerConfigError && e.message === "couldn't find key mode in ConfigMap ns/cfg");
    await assert.rejects(containerEnv({ facts, sources: sources(objects), container: { name: 'c', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'db', key: 'k' } } }] } }),
      (e: Error) => e.message === 'secret "db" not found');
    await assert.rejects(containerEnv({ facts, sources: sources(objects), container: { name: 'c', envFrom: [{ configMapRef: { name: 'gone' } }] } }),
      (e: Error) => e.message === 'configmap "gone" not found');
  });

  it('merges with the image Env (container wins), HOSTNAME and a default PATH', () => {
    const merged = mergeWithImageEnv({ imageEnv: ['PATH=/bin', 'LANG=C', 'X=image'], env: new Map([['X', 'pod']]), hostname: 'p' });
    assert.deepEqual(merged, ['PATH=/bin', 'HOSTNAME=p', 'LANG=C', 'X=pod']);
    assert.ok(mergeWithImageEnv({ imageEnv: undefined, env: new Map(), hostname: 'h' }).includes('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'));
  });
});
