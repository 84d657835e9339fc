// The official Python client (Debian's python3-kubernetes) creates, lists and
// watches against a real skiff server using the generated kubeconfig.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { hasPython3Kubernetes, startServer, type ServerHandle } from './harness.ts';

const script = `
import json, sys, threading
from kubernetes import client, config, watch
config.load_kube_config(config_file=sys.argv[1])
core = client.CoreV1Api()
apps = client.AppsV1Api()
core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="py")))
events = []
def watcher():
    w = watch.Watch()
    for ev in w.stream(core.list_namespaced_config_map, namespace="py", timeout_seconds=10):
        events.append((ev["type"], ev["object"].metadata.name))
        if len(events) >= 2:
            w.stop()
t = threading.Thread(target=watcher)
t.start()
import time; time.sleep(1)
core.create_namespaced_config_map("py", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="one", labels={"k": "v"}), data={"a": "1"}))
core.create_namespaced_config_map("py", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="two"), data={"b": "2"}))
t.join(15)
dep = client.V1Deployment(metadata=client.V1ObjectMeta(name="pyweb"), spec=client.V1DeploymentSpec(
    replicas=2, selector=client.V1LabelSelector(match_labels={"app": "pyweb"}),
    template=client.V1PodTemplateSpec(metadata=client.V1ObjectMeta(labels={"app": "pyweb"}),
        spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="nginx")]))))
apps.create_namespaced_deployment("py", dep)
listed = [c.metadata.name for c in core.list_namespaced_config_map("py", label_selector="k=v").items]
try:
    core.read_namespaced_config_map("missing", "py")
    missing = None
except client.exceptions.ApiException as e:
    missing = e.status
print(json.dumps({"events": events, "listed": listed, "deploy": apps.read_namespaced_deployment("pyweb", "py").spec.replicas, "missing": missing}))
`;

describe('python3-kubernetes client', { skip: !hasPython3Kubernetes() && 'python3-kubernetes is not installed (apt-get install python3-kubernetes)' }, () => {
  let server: ServerHandle;
  before(async () => {
    server = await startServer({ apiOnly: true });
  });
  after(async () => server?.stop());

  it('creates, lists and watches', () => {
    const result = spawnSync('/usr/bin/python3', ['-c', script, server.kubeconfig], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(result.status, 0, result.stderr);
    const out = JSON.parse(result.stdout.trim().split('\n').pop()!);
    assert.deepEqual(out.events, [['ADDED', 'one'], ['ADDED', 'two']]);
    assert.deepEqual(out.listed, ['one']);
    assert.equal(out.deploy, 2);
    assert.equal(out.missing, 404);
  });
});
