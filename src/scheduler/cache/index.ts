// The scheduler cache: nodes and pods (assumed ones included), updated
// incrementally; it doubles as the snapshot a scheduling cycle reads.
export { SchedulerCache, nodeFingerprint, type CacheOptions } from './cache.ts';
