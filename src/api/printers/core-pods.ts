// The pod row: READY, STATUS and RESTARTS computed the way kubectl shows them.
// STATUS is the most specific thing known about the pod: an init container's
// progress ("Init:0/1") or failure ("Init:CrashLoopBackOff"), a container's
// waiting/terminated reason, "Completed", "Terminating", or else the phase.
import type { KindPrinter, Obj, PrintContext, TableRowCondition } from './types.ts';
import { ageColumn, int, nameColumn, orNone, str } from './helpers.ts';
import { humanDuration, parseTimestamp } from './time.ts';

export interface PodSummary {
  readyContainers: number;
  totalContainers: number;
  /** The STATUS column. */
  status: string;
  restarts: number;
  /** When a container last terminated before a restart (ms since epoch), if known. */
  lastRestart?: number;
}

const list = (v: unknown): Obj[] => (Array.isArray(v) ? v : []);

/** Sidecars: init containers with restartPolicy Always keep running beside the app containers. */
const isSidecar = (container: Obj): boolean => container?.restartPolicy === 'Always';

function hasCondition(pod: Obj, type: string): boolean {
  return list(pod?.status?.conditions).some((c) => c?.type === type && c?.status === 'True');
}

/** "Signal:9" / "ExitCode:1" for a termination without a reason. */
function terminationCode(terminated: Obj): string {
  const signal = int(terminated.signal);
  return signal !== 0 ? `Signal:${signal}` : `ExitCode:${int(terminated.exitCode)}`;
}

function later(current: number | undefined, terminated: Obj): number | undefined {
  const finished = parseTimestamp(terminated?.finishedAt);
  if (finished === undefined) return current;
  return current === undefined || finished > current ? finished : current;
}

export function summarizePod(pod: Obj): PodSummary {
  const spec = pod?.spec ?? {};
  const status = pod?.status ?? {};
  const phase = str(status.phase);
  let reason = status.reason ? str(status.reason) : phase;
  if (list(status.conditions).some((c) => c?.type === 'PodScheduled' && c?.reason === 'SchedulingGated')) {
    reason = 'SchedulingGated';
  }

  const initSpecs = new Map<string, Obj>(list(spec.initContainers).map((c) => [str(c?.name), c]));
  const totalContainers = list(spec.containers).length + list(spec.initContainers).filter(isSidecar).length;
  let readyContainers = 0;
  let restarts = 0;
  let lastRestart: number | undefined;
  let sidecarRestarts = 0;
  let lastSidecarRestart: number | undefined;

  // Init containers run in order; the first one not done decides the status.
  let initializing = false;
  const initStatuses = list(status.initContainerStatuses);
  for (let i = 0; i < initStatuses.length; i++) {
    const cs = initStatuses[i];
    const sidecar = isSidecar(initSpecs.get(str(cs?.name)));
    restarts += int(cs?.restartCount);
    const lastTerminated = cs?.lastState?.terminated;
    if (lastTerminated) lastRestart = later(lastRestart, lastTerminated);
    if (sidecar) {
      sidecarRestarts += int(cs?.restartCount);
      if (lastTerminated) lastSidecarRestart = later(lastSidecarRestart, lastTerminated);
    }
    const terminated = cs?.state?.terminated;
    const waiting = cs?.state?.waiting;
    if (terminated && int(terminated.exitCode) === 0) continue;
    if (sidecar && cs?.started === true) {
      if (cs?.ready === true) readyContainers++;
      continue;
    }
    if (terminated) {
      reason = terminated.reason ? `Init:${terminated.reason}` : `Init:${terminationCode(terminated)}`;
    } else if (waiting?.reason && waiting.reason !== 'PodInitializing') {
      reason = `Init:${waiting.reason}`;
    } else {
      reason = `Init:${i}/${list(spec.initContainers).length}`;
    }
    initializing = true;
    break;
  }

  if (!initializing || hasCondition(pod, 'Initialized')) {
    // Restarts of init containers that ran to completion no longer matter; sidecars' do.
    restarts = sidecarRestarts;
    lastRestart = lastSidecarRestart;
    let hasRunning = false;
    const statuses = list(status.containerStatuses);
    // Walk backwards so the first container's reason wins.
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = statuses[i];
      restarts += int(cs?.restartCount);
      if (cs?.lastState?.terminated) lastRestart = later(lastRestart, cs.lastState.terminated);
      const waiting = cs?.state?.waiting;
      const terminated = cs?.state?.terminated;
      if (waiting?.reason) reason = str(waiting.reason);
      else if (terminated?.reason) reason = str(terminated.reason);
      else if (terminated) reason = terminationCode(terminated);
      else if (cs?.ready === true && cs?.state?.running) {
        hasRunning = true;
        readyContainers++;
      }
    }
    // One container finished but another still runs: the pod is not complete.
    if (reason === 'Completed' && hasRunning) reason = hasCondition(pod, 'Ready') ? 'Running' : 'NotReady';
  }

  const deleting = pod?.metadata?.deletionTimestamp != null;
  if (deleting && status.reason === 'NodeLost') reason = 'Unknown';
  else if (deleting && phase !== 'Succeeded' && phase !== 'Failed') reason = 'Terminating';

  return { readyContainers, totalContainers, status: reason, restarts, lastRestart };
}

/** RESTARTS: "3" or "3 (5m ago)" when the last restart time is known. */
export function formatRestarts(summary: PodSummary, now: number): string {
  if (summary.restarts !== 0 && summary.lastRestart !== undefined) {
    return `${summary.restarts} (${humanDuration(now - summary.lastRestart)} ago)`;
  }
  return String(summary.restarts);
}

function readinessGates(pod: Obj): string {
  const gates = list(pod?.spec?.readinessGates);
  if (gates.length === 0) return '<none>';
  const conditions = list(pod?.status?.conditions);
  const passing = gates.filter((g) => conditions.find((c) => c?.type === g?.conditionType)?.status === 'True').length;
  return `${passing}/${gates.length}`;
}

interface PodView {
  pod: Obj;
  summary: PodSummary;
}

const completed = (reason: string, message: string): TableRowCondition[] => [
  { type: 'Completed', status: 'True', reason, message },
];

export const podPrinter: KindPrinter<PodView> = {
  view: (pod: Obj): PodView => ({ pod, summary: summarizePod(pod) }),
  conditions: (pod) => {
    if (pod?.status?.phase === 'Succeeded') return completed('Succeeded', 'The pod has completed successfully.');
    if (pod?.status?.phase === 'Failed') return completed('Failed', 'The pod failed.');
    return undefined;
  },
  columns: [
    { ...nameColumn, cell: (v, ctx) => nameColumn.cell(v.pod, ctx) },
    {
      name: 'Ready',
      description: 'Ready containers out of all containers (sidecars included).',
      cell: (v) => `${v.summary.readyContainers}/${v.summary.totalContainers}`,
    },
    { name: 'Status', description: 'The most telling state of the pod and its containers.', cell: (v) => v.summary.status },
    {
      name: 'Restarts',
      description: 'Container restarts in total, and how long ago the last one was.',
      cell: (v, ctx: PrintContext) => formatRestarts(v.summary, ctx.now),
    },
    { ...ageColumn, cell: (v, ctx) => ageColumn.cell(v.pod, ctx) },
    {
      name: 'IP',
      priority: 1,
      description: 'The primary IP address of the pod.',
      cell: (v) => orNone(v.pod?.status?.podIPs?.[0]?.ip ?? v.pod?.status?.podIP),
    },
    { name: 'Node', priority: 1, description: 'The node the pod is bound to.', cell: (v) => orNone(v.pod?.spec?.nodeName) },
    {
      name: 'Nominated Node',
      priority: 1,
      description: 'The node the scheduler preempted pods on for this pod.',
      cell: (v) => orNone(v.pod?.status?.nominatedNodeName),
    },
    {
      name: 'Readiness Gates',
      priority: 1,
      description: 'Readiness gates that are satisfied, out of all declared.',
      cell: (v) => readinessGates(v.pod),
    },
  ],
};
