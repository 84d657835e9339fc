// Probe workers, as kubelet's prober manager: one per running container and
// probe kind, each probing every periodSeconds after initialDelaySeconds,
// turning consecutive results into a state with successThreshold and
// failureThreshold, and telling the pod worker when a state changes. Until a
// startup probe succeeds, liveness and readiness wait. Readiness starts as
// failure, liveness as success, startup as not yet started. Every failed
// attempt is an Unhealthy event, in upstream's words.
import type { EventRecorder } from '../../../client/events.ts';
import type { KubeObject } from '../../../client/interface.ts';
import type { ContainerRuntime } from '../../runtime/types.ts';
import type { ContainerSpec, Probe } from '../pod-types.ts';
import { runProbe } from './run.ts';
import type { ProbeResult } from './types.ts';

export type ProbeKind = 'liveness' | 'readiness' | 'startup';
const LABEL: Record<ProbeKind, string> = { liveness: 'Liveness', readiness: 'Readiness', startup: 'Startup' };

export interface ProbeManagerOptions {
  runtime: ContainerRuntime;
  recorder: Pick<EventRecorder, 'record'>;
  /** A container's probe state changed: the pod needs a sync. */
  onChange: (podUid: string) => void;
  now?: () => number;
}

interface Worker {
  podUid: string;
  containerId: string;
  kind: ProbeKind;
  probe: Probe;
  state: ProbeResult;
  lastResult: ProbeResult | undefined;
  run: number;
  timer: NodeJS.Timeout | undefined;
  stopped: boolean;
}

/** What the pod worker passes for each running container. */
export interface RunningContainer {
  pod: KubeObject;
  container: ContainerSpec;
  fieldPath: string;
  containerId: string;
  startedAt: number;
  podIp: string;
}

const key = (containerId: string, kind: ProbeKind) => `${containerId}/${kind}`;

export class ProbeManager {
  private readonly options: ProbeManagerOptions;
  private readonly workers = new Map<string, Worker>();
  private readonly now: () => number;

  constructor(options: ProbeManagerOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  /** Start workers for these running containers of one pod, stop the pod's others. */
  syncPod(podUid: string, running: RunningContainer[]): void {
    const wanted = new Set<string>();
    for (const target of running) {
      for (const kind of ['startup', 'liveness', 'readiness'] as const) {
        const probe = kind === 'startup' ? target.container.startupProbe : kind === 'liveness' ? target.container.livenessProbe : target.container.readinessProbe;
        if (!probe) continue;
        const k = key(target.containerId, kind);
        wanted.add(k);
        if (!this.workers.has(k)) this.startWorker(target, kind, probe);
      }
    }
    for (const [k, worker] of this.workers) if (worker.podUid === podUid && !wanted.has(k)) this.stopWorker(k);
  }

  removePod(podUid: string): void {
    this.syncPod(podUid, []);
  }

  stop(): void {
    for (const k of [...this.workers.keys()]) this.stopWorker(k);
  }

  /** No readiness probe: ready once started. */
  ready(containerId: string, container: ContainerSpec): boolean {
    if (!container.readinessProbe) return true;
    return this.workers.get(key(containerId, 'readiness'))?.state === 'success';
  }

  /** No startup probe: started once running. */
  started(containerId: string, container: ContainerSpec): boolean {
    if (!container.startupProbe) return true;
    return this.workers.get(key(containerId, 'startup'))?.state === 'success';
  }

  /** The probe whose failures mean this container must be restarted. */
  failed(containerId: string): 'liveness' | 'startup' | undefined {
    if (this.workers.get(key(containerId, 'startup'))?.state === 'failure') return 'startup';
    if (this.workers.get(key(containerId, 'liveness'))?.state === 'failure') return 'liveness';
    return undefined;
  }

  private startWorker(target: RunningContainer, kind: ProbeKind, probe: Probe): void {
    const worker: Worker = {
      podUid: target.pod.metadata.uid ?? '', containerId: target.containerId, kind, probe,
      state: kind === 'liveness' ? 'success' : kind === 'readiness' ? 'failure' : 'unknown',
      lastResult: undefined, run: 0, timer: undefined, stopped: false,
    };
    this.workers.set(key(target.containerId, kind), worker);
    const initialDelayMs = (probe.initialDelaySeconds ?? 0) * 1000;
    const first = Math.max(0, target.startedAt + initialDelayMs - this.now());
    worker.timer = setTimeout(() => void this.tick(worker, target), first);
  }

  private stopWorker(k: string): void {
    const worker = this.workers.get(k);
    if (!worker) return;
    worker.stopped = true;
    if (worker.timer) clearTimeout(worker.timer);
    this.workers.delete(k);
  }

  private async tick(worker: Worker, target: RunningContainer): Promise<void> {
    if (worker.stopped) return;
    const periodMs = (worker.probe.periodSeconds ?? 10) * 1000;
    const waitingForStartup = worker.kind !== 'startup' && target.container.startupProbe && !this.started(worker.containerId, target.container);
    if (!waitingForStartup) await this.probeOnce(worker, target);
    if (worker.stopped) return;
    // Liveness and startup probes pause once they failed (the container is being restarted); startup stops when it succeeded.
    if (worker.kind !== 'readiness' && worker.state === 'failure') return;
    if (worker.kind === 'startup' && worker.state === 'success') return;
    worker.timer = setTimeout(() => void this.tick(worker, target), periodMs);
  }

  private async probeOnce(worker: Worker, target: RunningContainer): Promise<void> {
    let outcome;
    try {
      outcome = await runProbe(worker.probe, { runtime: this.options.runtime, containerId: target.containerId, container: target.container, podIp: target.podIp });
    } catch (error) {
      outcome = { result: 'unknown' as const, output: (error as Error).message };
    }
    if (worker.stopped) return;
    if (outcome.result !== 'success') {
      this.options.recorder.record({
        object: { apiVersion: 'v1', kind: 'Pod', metadata: target.pod.metadata },
        fieldPath: target.fieldPath,
        type: 'Warning',
        reason: 'Unhealthy',
        message: `${LABEL[worker.kind]} probe ${outcome.result === 'failure' ? 'failed' : 'errored'}: ${outcome.output}`,
      });
    }
    // An attempt that could not run counts as a failure towards the threshold, as upstream's.
    const result: ProbeResult = outcome.result === 'success' ? 'success' : 'failure';
    worker.run = worker.lastResult === result ? worker.run + 1 : 1;
    worker.lastResult = result;
    const threshold = result === 'failure' ? (worker.probe.failureThreshold ?? 3) : (worker.probe.successThreshold ?? 1);
    if (worker.run < threshold || worker.state === result) return;
    worker.state = result;
    worker.run = 0;
    this.options.onChange(worker.podUid);
  }
}
