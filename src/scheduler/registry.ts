// Plugin name → factory. The scheduler builds each profile's plugins from a
// registry; out-of-tree plugins are added by merging registries (no
// registration by import side effects).
import type { PluginFactory } from './framework/interface.ts';
import { names } from './plugins/names.ts';
import { newNodeName } from './plugins/nodename/nodename.ts';
import { newNodeUnschedulable } from './plugins/nodeunschedulable/nodeunschedulable.ts';
import { newTaintToleration } from './plugins/tainttoleration/taint-toleration.ts';
import { newNodeAffinity } from './plugins/nodeaffinity/node-affinity.ts';
import { newNodePorts } from './plugins/nodeports/node-ports.ts';
import { newNodeResourcesFit } from './plugins/noderesources/fit.ts';
import { newBalancedAllocation } from './plugins/noderesources/balanced-allocation.ts';
import { newImageLocality } from './plugins/imagelocality/image-locality.ts';
import { newPrioritySort } from './plugins/queuesort/priority-sort.ts';
import { newDefaultBinder } from './plugins/defaultbinder/default-binder.ts';
import { newSchedulingGates } from './plugins/schedulinggates/scheduling-gates.ts';
import { newPodTopologySpread } from './plugins/podtopologyspread/pod-topology-spread.ts';
import { newInterPodAffinity } from './plugins/interpodaffinity/inter-pod-affinity.ts';
import { newDefaultPreemption } from './plugins/defaultpreemption/default-preemption.ts';

export type Registry = Readonly<Record<string, PluginFactory>>;

/** The plugins skiff ships. */
export function inTreeRegistry(): Registry {
  return {
    [names.PrioritySort]: newPrioritySort,
    [names.SchedulingGates]: newSchedulingGates,
    [names.NodeUnschedulable]: newNodeUnschedulable,
    [names.NodeName]: newNodeName,
    [names.TaintToleration]: newTaintToleration,
    [names.NodeAffinity]: newNodeAffinity,
    [names.NodePorts]: newNodePorts,
    [names.NodeResourcesFit]: newNodeResourcesFit,
    [names.NodeResourcesBalancedAllocation]: newBalancedAllocation,
    [names.ImageLocality]: newImageLocality,
    [names.PodTopologySpread]: newPodTopologySpread,
    [names.InterPodAffinity]: newInterPodAffinity,
    [names.DefaultPreemption]: newDefaultPreemption,
    [names.DefaultBinder]: newDefaultBinder,
  };
}

/** Later registries win; a name registered twice on purpose replaces the earlier factory. */
export function mergeRegistries(...registries: Registry[]): Registry {
  return Object.assign({}, ...registries) as Registry;
}
