// Explaining a failed attempt (ARCHITECTURE.md §2 rule 5): the per-node
// statuses of a cycle, the counted message upstream prints in the
// FailedScheduling event and the PodScheduled=False condition
// ("0/5 nodes are available: 3 Insufficient cpu, 2 node(s) had untolerated
// taint {a: b}. preemption: …"), and pure builders for that condition.
import type { NodeToStatusReader } from './interface.ts';
import type { Status } from './status.ts';

/** Why a pod did not fit (upstream framework.Diagnosis). */
export class Diagnosis implements NodeToStatusReader {
  /** Statuses of the nodes that Filter (or the nominated-node check) rejected. */
  readonly nodeToStatus = new Map<string, Status>();
  /** Status of every node without an explicit entry (PreFilter rejected the pod or narrowed the nodes). */
  absentStatus: Status | undefined = undefined;
  /** Plugins that returned a rejection, for requeueing on the events they care about. */
  readonly unschedulablePlugins = new Set<string>();
  /** Set when PreFilter rejected the pod; then per-node counts are not printed. */
  preFilterMsg = '';
  /** What PostFilter (preemption) said, appended to the message. */
  postFilterMsg = '';

  get(nodeName: string): Status | undefined {
    return this.nodeToStatus.get(nodeName) ?? this.absentStatus;
  }

  entries(): Iterable<[string, Status]> {
    return this.nodeToStatus.entries();
  }
}

export interface FitErrorMessageOptions {
  /**
   * How the "<count> <reason>" parts are ordered. 'count' (the default, as
   * skiff's issue asks): most frequent first, then by text. 'lexical':
   * upstream's sort.Strings over the formatted parts.
   */
  order?: 'count' | 'lexical';
}

export const NO_NODES_AVAILABLE = 'no nodes available to schedule pods';

/** Counts each reason over all nodes, absent ones included. */
export function reasonHistogram(numAllNodes: number, diagnosis: Diagnosis): Map<string, number> {
  const counts = new Map<string, number>();
  for (const status of diagnosis.nodeToStatus.values()) {
    for (const reason of status.reasons) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  }
  const absent = numAllNodes - diagnosis.nodeToStatus.size;
  if (absent > 0 && diagnosis.absentStatus) {
    for (const reason of diagnosis.absentStatus.reasons) counts.set(reason, (counts.get(reason) ?? 0) + absent);
  }
  return counts;
}

/** "0/N nodes are available: <PreFilter msg | counted Filter reasons>. <PostFilter msg>" */
export function fitErrorMessage(numAllNodes: number, diagnosis: Diagnosis, options: FitErrorMessageOptions = {}): string {
  let msg = `0/${numAllNodes} nodes are available:`;
  if (diagnosis.preFilterMsg !== '') {
    // PreFilter rejected the pod: every node carries that same status, so
    // counting them would only repeat it.
    msg += ` ${diagnosis.preFilterMsg}.`;
  } else {
    const parts = [...reasonHistogram(numAllNodes, diagnosis)];
    if (options.order === 'lexical') {
      const texts = parts.map(([reason, n]) => `${n} ${reason}`).sort(byBytes);
      if (texts.length) msg += ` ${texts.join(', ')}.`;
    } else {
      parts.sort((a, b) => b[1] - a[1] || byBytes(a[0], b[0]));
      if (parts.length) msg += ` ${parts.map(([reason, n]) => `${n} ${reason}`).join(', ')}.`;
    }
  }
  // PostFilter messages end in their own period (upstream adds none).
  if (diagnosis.postFilterMsg !== '') msg += ` ${diagnosis.postFilterMsg}`;
  return msg;
}

const byBytes = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The PodScheduled condition a failed attempt writes to pod.status.conditions. */
export function podScheduledFalseCondition(options: { message: string; reason?: 'Unschedulable' | 'SchedulerError'; now: Date }) {
  return {
    type: 'PodScheduled',
    status: 'False',
    lastProbeTime: null,
    lastTransitionTime: options.now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    reason: options.reason ?? 'Unschedulable',
    message: options.message,
  };
}

/** Reason and type of the event a failed attempt records (upstream: Warning FailedScheduling). */
export const FAILED_SCHEDULING_EVENT = { type: 'Warning', reason: 'FailedScheduling' } as const;
/** And of a successful one: Normal Scheduled "Successfully assigned ns/name to node". */
export const SCHEDULED_EVENT = { type: 'Normal', reason: 'Scheduled' } as const;

export const scheduledMessage = (namespace: string, name: string, node: string): string =>
  `Successfully assigned ${namespace}/${name} to ${node}`;
