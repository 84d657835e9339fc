// Quota and limit arithmetic shared by the API server (ResourceQuota and
// LimitRanger admission) and the resourcequota controller. Pure: no I/O.
export * from './quantity.ts';
export * from './resources.ts';
export * from './pod-resources.ts';
export * from './scopes.ts';
export * from './evaluators.ts';
export * from './quota.ts';
export * from './limit-ranges.ts';
export * from './names.ts';
