// SchedulingGates: a pod with spec.schedulingGates stays out of the active
// queue until every gate is removed.
import type { Handle, PreEnqueuePlugin } from '../../framework/interface.ts';
import type { PodInfo } from '../../framework/pod-info.ts';
import { Status, type PluginResult } from '../../framework/status.ts';
import { names } from '../names.ts';

export class SchedulingGates implements PreEnqueuePlugin {
  readonly name = names.SchedulingGates;

  preEnqueue(pod: PodInfo): PluginResult {
    const gates = pod.pod.spec?.schedulingGates ?? [];
    if (gates.length === 0) return undefined;
    return new Status('UnschedulableAndUnresolvable', [`waiting for scheduling gates: [${gates.map((g) => g.name).join(' ')}]`]);
  }
}

export const newSchedulingGates = (_args: unknown, _handle: Handle) => new SchedulingGates();
