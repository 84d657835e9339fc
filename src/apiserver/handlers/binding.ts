// Binding a pod to a node: POST pods/NAME/binding (what schedulers use) and
// the older POST namespaces/NS/bindings. Sets spec.nodeName once (409 if the
// pod is already bound or being deleted) and the PodScheduled=True condition,
// as upstream's binding storage does.
import { errors } from '../errors.ts';
import { sendJson } from '../http/respond.ts';
import { nowTimestamp, type KubeObject } from '../registry/resource-store.ts';
import type { RequestContext } from './context.ts';
import { checkKind, readObject } from './input.ts';

const MAX_ATTEMPTS = 5;

interface Binding extends KubeObject {
  target?: { kind?: string; name?: string; apiVersion?: string };
}

interface PodCondition {
  type: string;
  status: string;
  lastProbeTime?: string | null;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export async function handleBinding(ctx: RequestContext): Promise<void> {
  const { info, parts } = ctx;
  const binding = checkKind(await readObject(ctx, { apiVersion: 'v1', kind: 'Binding' }), { apiVersion: 'v1', kind: 'Binding' }) as Binding;
  const podName = info.resource === 'bindings' ? binding.metadata.name : info.name;
  if (!podName) throw errors.invalid({ kind: 'Binding', group: '', name: '', causes: [{ reason: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name or generateName is required' }] });
  if (info.resource === 'pods' && binding.metadata.name && binding.metadata.name !== podName) {
    throw errors.badRequest(`the name of the object (${binding.metadata.name}) does not match the name on the URL (${podName})`);
  }
  const nodeName = binding.target?.name;
  if (!nodeName) throw errors.invalid({ kind: 'Binding', group: '', name: podName, causes: [{ reason: 'FieldValueRequired', field: 'target.name', message: 'Required value' }] });
  if (binding.target?.kind && binding.target.kind !== 'Node') {
    throw errors.invalid({ kind: 'Binding', group: '', name: podName, causes: [{ reason: 'FieldValueNotSupported', field: 'target.kind', message: `Unsupported value: "${binding.target.kind}": supported values: "Node"` }] });
  }
  const pods = parts.registry.lookup('', 'v1', 'pods')!;
  const gr = { group: '', resource: 'pods/binding' };
  for (let attempt = 1; ; attempt++) {
    const pod = await parts.store.get(pods, info.namespace, podName);
    const spec = (pod.spec ?? {}) as { nodeName?: string };
    if (pod.metadata.deletionTimestamp) throw errors.conflict(gr, podName, `pod ${podName} is being deleted, cannot be assigned to a host`);
    if (spec.nodeName) throw errors.conflict(gr, podName, `pod ${podName} is already assigned to node "${spec.nodeName}"`);
    const next: KubeObject = structuredClone(pod);
    (next.spec as { nodeName?: string }).nodeName = nodeName;
    if (binding.metadata.annotations) next.metadata.annotations = { ...next.metadata.annotations, ...binding.metadata.annotations };
    setScheduledCondition(next);
    try {
      await parts.store.update(pods, next, Number(pod.metadata.resourceVersion));
      break;
    } catch (error) {
      if ((error as { reason?: string }).reason !== 'Conflict' || attempt >= MAX_ATTEMPTS) throw error;
    }
  }
  sendJson(ctx.res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
}

function setScheduledCondition(pod: KubeObject): void {
  const status = (pod.status ??= {}) as { conditions?: PodCondition[] };
  const conditions = (status.conditions ??= []);
  const existing = conditions.find((c) => c.type === 'PodScheduled');
  if (existing) {
    if (existing.status !== 'True') existing.lastTransitionTime = nowTimestamp();
    existing.status = 'True';
    delete existing.reason;
    delete existing.message;
  } else {
    conditions.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: nowTimestamp() });
  }
}
