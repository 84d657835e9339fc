// NodeUnschedulable: cordoned nodes (spec.unschedulable) take only pods that
// tolerate the node.kubernetes.io/unschedulable:NoSchedule taint, the one the
// node lifecycle controller puts on them (DaemonSet pods carry it).
import type { FilterPlugin, Handle } from '../../framework/interface.ts';
import type { PodInfo } from '../../framework/pod-info.ts';
import type { NodeInfo } from '../../framework/node-info.ts';
import { Status, type PluginResult } from '../../framework/status.ts';
import type { Taint } from '../../framework/types.ts';
import { TAINT_NODE_UNSCHEDULABLE, tolerationsTolerateTaint } from '../helper/taints.ts';
import { names } from '../names.ts';

export const ERR_REASON_UNSCHEDULABLE = 'node(s) were unschedulable';

const rejected = new Status('UnschedulableAndUnresolvable', [ERR_REASON_UNSCHEDULABLE], { plugin: names.NodeUnschedulable });
const unschedulableTaint: Taint = { key: TAINT_NODE_UNSCHEDULABLE, effect: 'NoSchedule' };

export class NodeUnschedulable implements FilterPlugin {
  readonly name = names.NodeUnschedulable;

  filter(_state: unknown, pod: PodInfo, nodeInfo: NodeInfo): PluginResult {
    if (!nodeInfo.node?.spec?.unschedulable) return undefined;
    return tolerationsTolerateTaint(pod.tolerations, unschedulableTaint) ? undefined : rejected;
  }
}

export const newNodeUnschedulable = (_args: unknown, _handle: Handle) => new NodeUnschedulable();
