// The scheduler under leader election, as kube-scheduler runs with
// --leader-elect: every `skiff server` competes for the Lease
// kube-system/kube-scheduler and only the holder schedules, so two servers on
// one datastore never bind the same pod twice. Each term of leadership gets a
// fresh scheduler (its informers and cache do not restart), and a lost term
// stops it before the Lease can expire for anyone else.
//
//   const s = await startLeaderElectedScheduler({ client, config });
//   …
//   await s.stop();   // stops the scheduler, then releases the Lease
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { createLeaderElector, type LeaderElectionLogger } from '../client/leader-election.ts';
import { startScheduler, type RunningScheduler, type SchedulerOptions } from './scheduler.ts';

export const SCHEDULER_LEASE = { namespace: 'kube-system', name: 'kube-scheduler' } as const;

export interface LeaderElectedSchedulerOptions extends SchedulerOptions {
  /** This candidate's identity on the Lease (default hostname_uuid, as upstream). */
  identity?: string;
  /** Lease timing (defaults 15 s lease, 10 s renew deadline, 2 s retry); tests shorten them. */
  leaderElectionTiming?: { leaseDurationMs?: number; renewDeadlineMs?: number; retryPeriodMs?: number };
  logger?: LeaderElectionLogger;
}

export interface LeaderElectedScheduler {
  readonly identity: string;
  /** True while this candidate holds the Lease and its scheduler runs. */
  isLeading(): boolean;
  /** Stop scheduling and release the Lease if held. Does not close the client. */
  stop(): Promise<void>;
}

/** Resolves at once; the scheduler starts when (and each time) the Lease is won. */
export async function startLeaderElectedScheduler(options: LeaderElectedSchedulerOptions): Promise<LeaderElectedScheduler> {
  const { identity = `${hostname()}_${randomUUID()}`, leaderElectionTiming, logger, ...schedulerOptions } = options;
  const log = schedulerOptions.log ?? ((message: string) => console.error(`scheduler: ${message}`));
  // Not awaited by the elector: waiting for the informers to sync must not hold up renewing the Lease.
  let term: Promise<RunningScheduler | undefined> | undefined;

  const startTerm = () => {
    term ??= startScheduler(schedulerOptions).catch((error) => {
      log(`could not start: ${(error as Error)?.stack ?? error}`);
      return undefined;
    });
  };
  const stopTerm = async () => {
    const current = term;
    term = undefined;
    await (await current)?.stop();
  };

  const elector = createLeaderElector({
    client: options.client,
    ...SCHEDULER_LEASE,
    identity,
    ...leaderElectionTiming,
    onStartedLeading: startTerm,
    onStoppedLeading: stopTerm,
    logger,
  });
  elector.start();

  let stopping: Promise<void> | undefined;
  return {
    identity,
    isLeading: () => term !== undefined,
    stop() {
      // The elector calls stopTerm itself before releasing the Lease.
      stopping ??= elector.stop().then(stopTerm);
      return stopping;
    },
  };
}
