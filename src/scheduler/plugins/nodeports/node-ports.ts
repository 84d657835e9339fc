// NodePorts: a pod asking for host ports fits only where none of them is
// taken (same protocol and port, on the same address or on 0.0.0.0).
import type { CycleState } from '../../framework/cycle-state.ts';
import type { FilterPlugin, Handle, PreFilterPlugin } from '../../framework/interface.ts';
import type { NodeInfo } from '../../framework/node-info.ts';
import type { PodInfo } from '../../framework/pod-info.ts';
import { SKIP, Status, type PluginResult } from '../../framework/status.ts';
import { names } from '../names.ts';

export const ERR_REASON_PORTS = "node(s) didn't have free ports for the requested pod ports";

const rejected = new Status('Unschedulable', [ERR_REASON_PORTS], { plugin: names.NodePorts });

export class NodePorts implements PreFilterPlugin, FilterPlugin {
  readonly name = names.NodePorts;

  /** Nothing to check for a pod without host ports. */
  preFilter(_state: CycleState, pod: PodInfo): Status | undefined {
    return pod.hostPorts.length === 0 ? SKIP : undefined;
  }

  filter(_state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): PluginResult {
    for (const p of pod.hostPorts) if (nodeInfo.usedPorts.conflicts(p)) return rejected;
    return undefined;
  }
}

export const newNodePorts = (_args: unknown, _handle: Handle) => new NodePorts();
