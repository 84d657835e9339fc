// Printers for the apps API group: deployments, replica sets, stateful sets,
// daemon sets and controller revisions.
import type { Column, KindPrinter, Obj } from './types.ts';
import { ageColumn, containerColumns, formatLabelSelector, formatLabels, int, nameColumn, str } from './helpers.ts';
import { selectorFromLabelSelector } from '../selectors/label-selector.ts';

const template = (o: Obj): Obj => o?.spec?.template;
// Workload replicas default to 1 when the object was stored without them.
const desired = (o: Obj): number => int(o?.spec?.replicas ?? 1);

const selectorColumn: Column = {
  name: 'Selector',
  priority: 1,
  description: 'Label selector of the pods it manages.',
  cell: (o) => formatLabelSelector(o?.spec?.selector),
};

const deploymentPrinter: KindPrinter = {
  columns: [
    nameColumn,
    { name: 'Ready', description: 'Ready pods out of desired pods.', cell: (o) => `${int(o?.status?.readyReplicas)}/${desired(o)}` },
    { name: 'Up-to-date', description: 'Pods running the latest pod template.', cell: (o) => int(o?.status?.updatedReplicas) },
    { name: 'Available', description: 'Pods available to serve.', cell: (o) => int(o?.status?.availableReplicas) },
    ageColumn,
    ...containerColumns(template),
    {
      ...selectorColumn,
      // Deployments print the bare selector (no "<none>"), "<invalid>" if it cannot be parsed.
      cell: (o) => {
        try {
          return selectorFromLabelSelector(o?.spec?.selector).toString();
        } catch {
          return '<invalid>';
        }
      },
    },
  ],
};

const replicaSetPrinter: KindPrinter = {
  columns: [
    nameColumn,
    { name: 'Desired', type: 'integer', description: 'Number of pods wanted.', cell: desired },
    { name: 'Current', type: 'integer', description: 'Number of pods that exist.', cell: (o) => int(o?.status?.replicas) },
    { name: 'Ready', type: 'integer', description: 'Number of pods that are ready.', cell: (o) => int(o?.status?.readyReplicas) },
    ageColumn,
    ...containerColumns(template),
    selectorColumn,
  ],
};

const statefulSetPrinter: KindPrinter = {
  columns: [
    nameColumn,
    { name: 'Ready', description: 'Ready pods out of desired pods.', cell: (o) => `${int(o?.status?.readyReplicas)}/${desired(o)}` },
    ageColumn,
    ...containerColumns(template),
  ],
};

const daemonSetPrinter: KindPrinter = {
  columns: [
    nameColumn,
    { name: 'Desired', type: 'integer', description: 'Nodes that should run the pod.', cell: (o) => int(o?.status?.desiredNumberScheduled) },
    { name: 'Current', type: 'integer', description: 'Nodes running the pod.', cell: (o) => int(o?.status?.currentNumberScheduled) },
    { name: 'Ready', type: 'integer', description: 'Nodes where the pod is ready.', cell: (o) => int(o?.status?.numberReady) },
    { name: 'Up-to-date', type: 'integer', description: 'Nodes running the latest pod template.', cell: (o) => int(o?.status?.updatedNumberScheduled) },
    { name: 'Available', type: 'integer', description: 'Nodes where the pod is available.', cell: (o) => int(o?.status?.numberAvailable) },
    { name: 'Node Selector', description: 'Node labels the pods require.', cell: (o) => formatLabels(template(o)?.spec?.nodeSelector) },
    ageColumn,
    ...containerColumns(template),
    selectorColumn,
  ],
};

/** "statefulset.apps/web" for the controlling owner, "<none>" without one. */
export function controllerName(obj: Obj): string {
  const owners: Obj[] = Array.isArray(obj?.metadata?.ownerReferences) ? obj.metadata.ownerReferences : [];
  const ref = owners.find((r) => r?.controller === true);
  if (!ref) return '<none>';
  const apiVersion = str(ref.apiVersion);
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
  const kind = str(ref.kind);
  if (!kind && !group) return str(ref.name);
  return `${(group ? `${kind}.${group}` : kind).toLowerCase()}/${str(ref.name)}`;
}

const controllerRevisionPrinter: KindPrinter = {
  columns: [
    nameColumn,
    { name: 'Controller', description: 'The object that owns this revision.', cell: controllerName },
    { name: 'Revision', description: 'Revision number.', cell: (o) => int(o?.revision) },
    ageColumn,
  ],
};

export const appsPrinters: Record<string, KindPrinter> = {
  Deployment: deploymentPrinter,
  ReplicaSet: replicaSetPrinter,
  StatefulSet: statefulSetPrinter,
  DaemonSet: daemonSetPrinter,
  ControllerRevision: controllerRevisionPrinter,
};
