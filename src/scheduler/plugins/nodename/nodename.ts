// NodeName: a pod that already names its node (spec.nodeName) fits only there.
import type { FilterPlugin, Handle } from '../../framework/interface.ts';
import type { PodInfo } from '../../framework/pod-info.ts';
import type { NodeInfo } from '../../framework/node-info.ts';
import { Status, type PluginResult } from '../../framework/status.ts';
import { names } from '../names.ts';

export const ERR_REASON_NODE_NAME = "node(s) didn't match the requested node name";

const rejected = new Status('UnschedulableAndUnresolvable', [ERR_REASON_NODE_NAME], { plugin: names.NodeName });

export class NodeName implements FilterPlugin {
  readonly name = names.NodeName;

  filter(_state: unknown, pod: PodInfo, nodeInfo: NodeInfo): PluginResult {
    return pod.nodeName === '' || pod.nodeName === nodeInfo.name ? undefined : rejected;
  }
}

export const newNodeName = (_args: unknown, _handle: Handle) => new NodeName();
