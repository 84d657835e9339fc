// The kubelet's periodic work beside the pod syncs: image garbage collection
// (kubelet's ImageGCPeriod, 5 min: unused images go, least recently used
// first, once the disk is past the high threshold) and the sweep of
// local-path volume directories whose PersistentVolume is gone (every
// minute). Old container attempts are pruned by the pod syncs themselves
// (prune.ts), where they cannot race with the pod's worker.
import type { ContainerRuntime } from '../runtime/types.ts';
import type { ImageGarbageCollection } from './context.ts';

export interface HousekeepingOptions {
  runtime: ContainerRuntime;
  /** The image store's collector; absent: no image GC. */
  images?: ImageGarbageCollection;
  /** Removes orphaned local-path volume directories; absent: no sweep. */
  reclaimVolumes?: () => Promise<string[]>;
  warn: (message: string) => void;
  /** Default 5 min (kubelet's ImageGCPeriod). */
  imageGcPeriodMs?: number;
  /** Default 60 s. */
  volumeSweepPeriodMs?: number;
}

export interface Housekeeping {
  /** Runs both tasks once now (tests, and after start-up). */
  runOnce(): Promise<void>;
  /** No more rounds; resolves when a round under way has finished. */
  stop(): Promise<void>;
}

/** One task at a time per kind: a slow round is not overlapped by the next tick. */
function every(periodMs: number, task: () => Promise<void>): { stop(): Promise<void>; run(): Promise<void> } {
  let running: Promise<void> | undefined;
  const run = () => {
    running ??= task().finally(() => { running = undefined; });
    return running;
  };
  const timer = setInterval(() => void run(), periodMs);
  timer.unref();
  return {
    run,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

export function startHousekeeping(options: HousekeepingOptions): Housekeeping {
  const { runtime, warn } = options;
  const imageGc = every(options.imageGcPeriodMs ?? 5 * 60_000, async () => {
    if (!options.images) return;
    try {
      // Every image a container still exists for (running or not yet removed) stays.
      const used = new Set((await runtime.listContainers()).map((c) => c.imageId));
      const result = await options.images.garbageCollect({ inUse: (image) => used.has(image.imageId) });
      if (result.removed.length) warn(`image garbage collection removed ${result.removed.join(', ')} (${result.freedBytes} bytes)`);
    } catch (error) {
      warn(`image garbage collection failed: ${(error as Error).message}`);
    }
  });
  const volumeSweep = every(options.volumeSweepPeriodMs ?? 60_000, async () => {
    if (!options.reclaimVolumes) return;
    try {
      await options.reclaimVolumes();
    } catch (error) {
      warn(`reclaiming local-path volumes failed: ${(error as Error).message}`);
    }
  });
  return {
    async runOnce() {
      await Promise.all([imageGc.run(), volumeSweep.run()]);
    },
    async stop() {
      await Promise.all([imageGc.stop(), volumeSweep.stop()]);
    },
  };
}
