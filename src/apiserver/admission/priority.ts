// Priority admission: a new pod gets spec.priority (and preemptionPolicy)
// from its priorityClassName, or from the globalDefault PriorityClass, or 0.
// A missing class or a hand-written priority that disagrees is refused with
// upstream's 403 messages. The two system classes exist from the start.
import type { KindRegistry } from '../../api/registry.ts';
import { errors } from '../errors.ts';
import type { KubeObject, ResourceStore } from '../registry/resource-store.ts';
import { isCoreKind, type AdmissionPlugin } from './chain.ts';

export const SYSTEM_PRIORITY_CLASSES = [
  { name: 'system-node-critical', value: 2000001000, description: 'Used for system critical pods that must not be moved from their current node.' },
  { name: 'system-cluster-critical', value: 2000000000, description: 'Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.' },
];

interface PriorityClass extends KubeObject {
  value?: number;
  globalDefault?: boolean;
  preemptionPolicy?: string;
}

interface PodSpec {
  priorityClassName?: string;
  priority?: number;
  preemptionPolicy?: string;
}

export const priorityAdmission: AdmissionPlugin = {
  name: 'Priority',
  async admit(attributes) {
    if (attributes.operation !== 'CREATE' || !isCoreKind(attributes, 'Pod') || !attributes.object) return;
    await admitPodPriority({ registry: attributes.parts.registry, store: attributes.parts.store, pod: attributes.object });
  },
};

async function admitPodPriority(options: { registry: KindRegistry; store: ResourceStore; pod: KubeObject }): Promise<void> {
  const { registry, store, pod } = options;
  const spec = (pod.spec ??= {}) as PodSpec;
  const classes = registry.lookup('scheduling.k8s.io', 'v1', 'priorityclasses')!;
  const forbidden = (why: string) => errors.forbidden({ group: '', resource: 'pods' }, pod.metadata.name ?? '', why);
  let priority = 0;
  let preemptionPolicy = 'PreemptLowerPriority';
  if (spec.priorityClassName) {
    let pc: PriorityClass;
    try {
      pc = (await store.get(classes, undefined, spec.priorityClassName)) as PriorityClass;
    } catch {
      throw forbidden(`no PriorityClass with name ${spec.priorityClassName} was found`);
    }
    priority = pc.value ?? 0;
    preemptionPolicy = pc.preemptionPolicy ?? preemptionPolicy;
  } else {
    const globalDefault = (await store.list(classes, {})).items.find((pc) => (pc as PriorityClass).globalDefault) as PriorityClass | undefined;
    if (globalDefault) {
      priority = globalDefault.value ?? 0;
      preemptionPolicy = globalDefault.preemptionPolicy ?? preemptionPolicy;
      spec.priorityClassName = globalDefault.metadata.name;
    }
  }
  if (spec.priority !== undefined && spec.priority !== priority) {
    throw forbidden(`the integer value of priority (${spec.priority}) must not be provided in pod spec; priority admission controller computed ${priority} from the given PriorityClass name`);
  }
  spec.priority = priority;
  spec.preemptionPolicy ??= preemptionPolicy;
}
