// The controller manager `skiff server` runs: the controllers --controllers
// turns on, sharing one set of informers, all API clients of the server.
//
// With leader election, every server competes for the Lease
// kube-system/skiff-controller-manager and only the holder runs
// controllers; the others wait and take over when it stops or dies. Each
// term of leadership gets fresh informers and controllers (an informer does
// not restart), and a lost term stops them before anything else can lead.
//
//   const cm = await startControllerManager({ client, controllers: flags.controllers, leaderElection: true });
//   …
//   await cm.stop();   // stops the controllers, then releases the Lease
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { ApiClient } from '../client/interface.ts';
import { defaultLogger, type ControllerTuning, type Logger, type RunningController } from './framework/controller.ts';
import { createSharedInformers, type SharedInformers } from './framework/informers.ts';
import { createLeaderElector, type LeaderElector } from '../client/leader-election.ts';
import { enabledControllers } from './registry.ts';

export const CONTROLLER_MANAGER_LEASE = { namespace: 'kube-system', name: 'skiff-controller-manager' } as const;

export interface ControllerManagerOptions {
  client: ApiClient;
  /** --controllers: "*", "name", "-name", comma-separated. Default "*". Unknown names are rejected. */
  controllers?: string;
  /** Run controllers only while holding the Lease (default false: run at once). */
  leaderElection?: boolean;
  /** Workers per controller (default 5). */
  workers?: number;
  /** The cluster CA (PEM) published as ConfigMap kube-root-ca.crt in every namespace. */
  rootCaCert?: string;
  /** Timing and rate flags (--node-monitor-grace-period, --node-eviction-rate, --terminated-pod-gc-threshold …). */
  tuning?: ControllerTuning;
  /** This candidate's identity on the Lease (default hostname_uuid). */
  identity?: string;
  /** Lease timing (defaults 15 s lease, 10 s renew deadline, 2 s retry); tests shorten them. */
  leaderElectionTiming?: { leaseDurationMs?: number; renewDeadlineMs?: number; retryPeriodMs?: number };
  logger?: Logger;
}

export interface ControllerManager {
  /** The implemented controllers that run (while leading, with leader election). */
  readonly controllers: readonly string[];
  readonly identity: string;
  /** True while controllers run (always after start without leader election). */
  isLeading(): boolean;
  /** Stop the controllers and their informers; release the Lease if held. Does not close the client. */
  stop(): Promise<void>;
}

interface Term {
  informers: SharedInformers;
  controllers: RunningController[];
  runs: Promise<void>[];
}

/** Validates the options (throwing on a bad --controllers value), then starts; resolves without waiting for caches or the Lease. */
export async function startControllerManager(options: ControllerManagerOptions): Promise<ControllerManager> {
  const descriptors = enabledControllers(options.controllers);
  const logger = options.logger ?? defaultLogger;
  const identity = options.identity ?? `${hostname()}_${randomUUID()}`;
  let term: Term | undefined;

  const startTerm = () => {
    if (term) return;
    const informers = createSharedInformers({ client: options.client, logger });
    const controllers = descriptors.map((d) => d.create({ client: options.client, informers, workers: options.workers, rootCaCert: options.rootCaCert, logger, tuning: options.tuning }));
    informers.start();
    const runs = controllers.map((c) => c.run().catch((error) => logger.warn(`controller ${c.name} stopped: ${(error as Error)?.stack ?? error}`)));
    term = { informers, controllers, runs };
    logger.info(`controller manager ${identity}: running ${descriptors.map((d) => d.name).join(', ') || 'no controllers'}`);
  };

  const stopTerm = async () => {
    const current = term;
    term = undefined;
    if (!current) return;
    await Promise.all(current.controllers.map((c) => c.stop()));
    current.informers.stop();
    await Promise.all(current.runs);
  };

  let elector: LeaderElector | undefined;
  if (options.leaderElection) {
    elector = createLeaderElector({
      client: options.client,
      ...CONTROLLER_MANAGER_LEASE,
      identity,
      ...options.leaderElectionTiming,
      onStartedLeading: startTerm,
      onStoppedLeading: stopTerm,
      onNewLeader: (leader) => { if (leader !== identity) logger.info(`controller manager: ${leader} is the leader`); },
      logger,
    });
    elector.start();
  } else {
    startTerm();
  }

  let stopping: Promise<void> | undefined;
  return {
    controllers: descriptors.map((d) => d.name),
    identity,
    isLeading: () => term !== undefined,
    stop() {
      // The elector calls stopTerm itself before releasing the Lease.
      stopping ??= elector ? elector.stop().then(stopTerm) : stopTerm();
      return stopping;
    },
  };
}
