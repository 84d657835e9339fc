// DefaultBinder: posts a Binding (pods/<name>/binding). The POST itself is
// the scheduler loop's: it hands the framework a bindPod function, keeping
// the framework free of I/O.
import type { Binding, BindPlugin, Handle } from '../../framework/interface.ts';
import type { PodInfo } from '../../framework/pod-info.ts';
import { Status, asStatus, type PluginResult } from '../../framework/status.ts';
import { names } from '../names.ts';

export function bindingFor(pod: PodInfo, nodeName: string): Binding {
  const metadata: Binding['metadata'] = { name: pod.name, namespace: pod.namespace };
  if (pod.pod.metadata.uid) metadata.uid = pod.pod.metadata.uid;
  return { apiVersion: 'v1', kind: 'Binding', metadata, target: { apiVersion: 'v1', kind: 'Node', name: nodeName } };
}

export class DefaultBinder implements BindPlugin {
  readonly name = names.DefaultBinder;
  readonly #handle: Handle;

  constructor(handle: Handle) {
    this.#handle = handle;
  }

  async bind(_state: unknown, pod: PodInfo, nodeName: string): Promise<PluginResult> {
    const bindPod = this.#handle.bindPod;
    if (!bindPod) return new Status('Error', ['no bindPod function was given to the framework']);
    try {
      await bindPod(bindingFor(pod, nodeName));
      return undefined;
    } catch (err) {
      return asStatus(err);
    }
  }
}

export const newDefaultBinder = (_args: unknown, handle: Handle) => new DefaultBinder(handle);
