// Endpoints and EndpointSlices in `skiff server` with simulated nodes (which
// give pods an IP and Ready status), through kubectl: a Deployment exposed
// as a Service, scaling, a named targetPort, a headless StatefulSet service,
// and deleting the Service. The garbage collector is switched off, so what is
// checked here is the endpoint controllers' own doing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, startServer, type ServerHandle } from './harness.ts';

/** `eventually` for checks that answer `false` until they answer the value wanted. */
const until = async <T>(check: () => T | false | undefined, timeoutMs: number): Promise<T> => (await eventually(check, { timeoutMs })) as T;

interface Slice {
  metadata: { name: string; labels?: Record<string, string>; ownerReferences?: { kind: string; name: string; controller?: boolean }[] };
  addressType: string;
  ports?: { name?: string; port?: number }[] | null;
  endpoints?: { addresses: string[]; hostname?: string; conditions?: { ready?: boolean }; targetRef?: { name?: string } }[] | null;
}

describe('endpoints and endpoint slices on simulated nodes', () => {
  let server: ServerHandle;
  const json = (args: string[]) => JSON.parse(server.k([...args, '-o', 'json']));
  const slices = (service: string): Slice[] => json(['get', 'endpointslices', '-l', `kubernetes.io/service-name=${service}`]).items;
  const readyAddresses = (list: Slice[]) => list.flatMap((s) => (s.endpoints ?? []).filter((e) => e.conditions?.ready).flatMap((e) => e.addresses));
  const endpointsRow = (name: string) => server.k(['get', 'endpoints', name, '--no-headers']).trim();
  const apply = (...objects: object[]) => {
    for (const object of objects) server.k(['apply', '-f', '-'], { input: JSON.stringify(object) });
  };

  before(async () => {
    server = await startServer({ extraArgs: ['--simulated-nodes', '2', '--controllers', '*,-garbagecollector'] });
  });
  after(async () => server?.stop());

  it('exposes a Deployment: Endpoints and slices list its 3 pods, then follow a scale to 1', async () => {
    server.k(['create', 'deployment', 'web', '--image=registry.example/web:1', '--replicas=3']);
    server.k(['expose', 'deployment', 'web', '--port', '80', '--target-port', '8080']);
    const row = await until(() => {
      const line = endpointsRow('web');
      return line.split(/\s+/)[1]?.split(',').length === 3 && line;
    }, 60_000);
    assert.match(row, /^web\s+(\d+\.\d+\.\d+\.\d+:8080,){2}\d+\.\d+\.\d+\.\d+:8080\s+\S+$/);
    assert.match(server.k(['get', 'endpoints', 'web']), /^NAME\s+ENDPOINTS\s+AGE\n/);

    const webSlices = await until(() => {
      const list = slices('web');
      return readyAddresses(list).length === 3 && list;
    }, 30_000);
    assert.equal(webSlices.length, 1);
    const [slice] = webSlices;
    assert.equal(slice.addressType, 'IPv4');
    assert.deepEqual(slice.ports, [{ name: '', port: 8080, protocol: 'TCP' }]);
    assert.equal(slice.metadata.labels?.['endpointslice.kubernetes.io/managed-by'], 'endpointslice-controller.k8s.io');
    assert.deepEqual(slice.metadata.ownerReferences?.map((o) => [o.kind, o.name, o.controller]), [['Service', 'web', true]]);
    const pods = json(['get', 'pods', '-l', 'app=web']).items.map((p: { status: { podIP: string } }) => p.status.podIP).sort();
    assert.deepEqual(readyAddresses(webSlices).sort(), pods);
    const table = server.k(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=web']);
    assert.match(table, /^NAME\s+ADDRESSTYPE\s+PORTS\s+ENDPOINTS\s+AGE\n/);
    assert.match(table, new RegExp(`^${slice.metadata.name}\\s+IPv4\\s+8080\\s+(\\d+\\.\\d+\\.\\d+\\.\\d+,){2}\\d+\\.\\d+\\.\\d+\\.\\d+\\s+\\S+$`, 'm'));

    server.k(['scale', 'deployment', 'web', '--replicas=1']);
    await eventually(() => endpointsRow('web').split(/\s+/)[1]?.split(',').length === 1, { timeoutMs: 15_000 });
    await eventually(() => readyAddresses(slices('web')).length === 1, { timeoutMs: 15_000 });
    // The terminating pods leave the slice once their deletion completes; the slice itself stays.
    const final = await until(() => {
      const list = slices('web');
      return list.flatMap((s) => s.endpoints ?? []).length === 1 && list;
    }, 30_000);
    assert.deepEqual(final.map((s) => s.metadata.name), [slice.metadata.name]);
  });

  it('resolves a named targetPort to the container port', async () => {
    apply(
      {
        apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'api' },
        spec: {
          replicas: 2, selector: { matchLabels: { app: 'api' } },
          template: { metadata: { labels: { app: 'api' } }, spec: { containers: [{ name: 'api', image: 'registry.example/api:1', ports: [{ name: 'http-api', containerPort: 9376 }] }] } },
        },
      },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'api' }, spec: { selector: { app: 'api' }, ports: [{ name: 'http', port: 80, targetPort: 'http-api' }] } },
    );
    const ep = await until(() => {
      const e = json(['get', 'endpoints', 'api']);
      return e.subsets?.[0]?.addresses?.length === 2 && e;
    }, 60_000);
    assert.deepEqual(ep.subsets[0].ports, [{ name: 'http', port: 9376, protocol: 'TCP' }]);
    const list = await until(() => {
      const l = slices('api');
      return readyAddresses(l).length === 2 && l;
    }, 30_000);
    assert.deepEqual(list[0].ports, [{ name: 'http', port: 9376, protocol: 'TCP' }]);
  });

  it('gives a headless StatefulSet service endpoints with hostnames', async () => {
    apply(
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'db' }, spec: { clusterIP: 'None', selector: { app: 'db' }, ports: [{ name: 'pg', port: 5432 }] } },
      {
        apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db' },
        spec: {
          serviceName: 'db', replicas: 2, selector: { matchLabels: { app: 'db' } },
          template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'db', image: 'registry.example/db:1' }] } },
        },
      },
    );
    const ep = await until(() => {
      const e = json(['get', 'endpoints', 'db']);
      return e.subsets?.[0]?.addresses?.length === 2 && e;
    }, 60_000);
    assert.deepEqual(ep.subsets[0].addresses.map((a: { hostname?: string }) => a.hostname).sort(), ['db-0', 'db-1']);
    assert.equal(ep.metadata.labels?.['service.kubernetes.io/headless'], '');
    const list = await until(() => {
      const l = slices('db');
      return readyAddresses(l).length === 2 && l;
    }, 30_000);
    assert.deepEqual(list.flatMap((s) => s.endpoints ?? []).map((e) => e.hostname).sort(), ['db-0', 'db-1']);
    assert.equal(list[0].metadata.labels?.['service.kubernetes.io/headless'], '');
  });

  it('deleting the Service deletes its Endpoints and its slices', async () => {
    assert.equal(slices('web').length, 1);
    server.k(['delete', 'service', 'web']);
    await eventually(() => server.kubectl(['get', 'endpoints', 'web']).stderr.includes('NotFound'), { timeoutMs: 15_000 });
    await eventually(() => slices('web').length === 0, { timeoutMs: 15_000 });
    // The built-in service's objects are untouched.
    assert.match(endpointsRow('kubernetes'), /^kubernetes\s+\S+:\d+\s/);
  });
});
