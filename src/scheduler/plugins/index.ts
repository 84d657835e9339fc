// The built-in plugins, one folder each.
export { names } from './names.ts';
export { NodeName, newNodeName, ERR_REASON_NODE_NAME } from './nodename/nodename.ts';
export { NodeUnschedulable, newNodeUnschedulable, ERR_REASON_UNSCHEDULABLE } from './nodeunschedulable/nodeunschedulable.ts';
export { TaintToleration, newTaintToleration, untoleratedTaintReason } from './tainttoleration/taint-toleration.ts';
export { NodeAffinity, newNodeAffinity, ERR_REASON_POD, ERR_REASON_ENFORCED, ERR_REASON_CONFLICT, type NodeAffinityArgs } from './nodeaffinity/node-affinity.ts';
export { NodePorts, newNodePorts, ERR_REASON_PORTS } from './nodeports/node-ports.ts';
export { NodeResourcesFit, newNodeResourcesFit, fitsRequest, defaultFitArgs, type NodeResourcesFitArgs, type ScoringStrategyType } from './noderesources/fit.ts';
export { BalancedAllocation, newBalancedAllocation, type NodeResourcesBalancedAllocationArgs } from './noderesources/balanced-allocation.ts';
export { ImageLocality, newImageLocality } from './imagelocality/image-locality.ts';
export { PrioritySort, newPrioritySort } from './queuesort/priority-sort.ts';
export { DefaultBinder, newDefaultBinder, bindingFor } from './defaultbinder/default-binder.ts';
export { SchedulingGates, newSchedulingGates } from './schedulinggates/scheduling-gates.ts';
export { PodTopologySpread, newPodTopologySpread, type PodTopologySpreadArgs } from './podtopologyspread/pod-topology-spread.ts';
export { ERR_REASON_CONSTRAINTS_NOT_MATCH, ERR_REASON_NODE_LABEL_NOT_MATCH, SYSTEM_DEFAULT_CONSTRAINTS, defaultSelector } from './podtopologyspread/common.ts';
export { InterPodAffinity, newInterPodAffinity, type InterPodAffinityArgs } from './interpodaffinity/inter-pod-affinity.ts';
export {
  ERR_REASON_AFFINITY_RULES_NOT_MATCH, ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH, ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH,
} from './interpodaffinity/filtering.ts';
export { DefaultPreemption, newDefaultPreemption, terminatingByPreemption, type DefaultPreemptionArgs } from './defaultpreemption/default-preemption.ts';
export * from './helper/taints.ts';
export * from './helper/node-affinity.ts';
export { defaultNormalizeScore } from './helper/normalize.ts';
