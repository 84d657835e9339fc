// The scheduling framework: plugin contract, Status, CycleState, NodeInfo,
// the runner and the failure explanations.
export * from './status.ts';
export * from './types.ts';
export * from './resources.ts';
export * from './pod-info.ts';
export * from './node-info.ts';
export * from './cycle-state.ts';
export * from './interface.ts';
export * from './explain.ts';
export * from './sampling.ts';
export * from './equivalence.ts';
export { Framework, EXTENSION_POINT_METHODS, type ExtensionPointName, type FrameworkOptions, type ExtensionPoints, type WeightedPlugin, type ScoreEntry, type FrameworkStats } from './runtime.ts';
export { selectHost, type ScheduleResult, type Scheduled, type NotScheduled } from './cycle.ts';
export { WaitingPodImpl, WaitingPods, MAX_PERMIT_TIMEOUT_MS } from './waiting-pods.ts';
