// Lifecycle hooks (postStart, preStop): exec in the container, httpGet to
// the pod, or sleep — with the failure text upstream puts in its
// FailedPostStartHook / FailedPreStopHook events.
import type { ContainerRuntime } from '../runtime/types.ts';
import type { ContainerSpec, LifecycleHandler } from './pod-types.ts';
import { httpProbe } from './probes/http.ts';
import { resolvePort } from './probes/run.ts';

export interface HookTarget {
  runtime: ContainerRuntime;
  containerId: string;
  container: ContainerSpec;
  podIp: string;
  /** `name_namespace(uid)` */
  podName: string;
  /** Bound for the hook (preStop: the grace period); 0: none. */
  timeoutSeconds: number;
  signal?: AbortSignal;
}

/** Runs the handler; resolves with an error message when it failed, undefined when it succeeded. */
export async function runLifecycleHook(handler: LifecycleHandler, target: HookTarget): Promise<string | undefined> {
  const where = `for Container "${target.container.name}" in Pod "${target.podName}"`;
  if (handler.exec) {
    const argv = handler.exec.command ?? [];
    try {
      const res = await target.runtime.execSync(target.containerId, { argv, timeoutSeconds: target.timeoutSeconds });
      if (res.exitCode === 0) return undefined;
      const output = Buffer.concat([res.stdout, res.stderr]).toString('utf8');
      return `Exec lifecycle hook ([${argv.join(' ')}]) ${where} failed - error: command '${argv.join(' ')}' exited with ${res.exitCode}: ${output}, message: ${JSON.stringify(output)}`;
    } catch (error) {
      return `Exec lifecycle hook ([${argv.join(' ')}]) ${where} failed - error: ${(error as Error).message}, message: ""`;
    }
  }
  if (handler.httpGet) {
    const port = resolvePort(handler.httpGet.port, target.container);
    const path = handler.httpGet.path ?? '/';
    if (port === undefined) return `HTTP lifecycle hook (${path}) ${where} failed - error: unknown port ${handler.httpGet.port}, message: ""`;
    const scheme = (handler.httpGet.scheme ?? 'HTTP').toUpperCase() === 'HTTPS' ? 'HTTPS' : 'HTTP';
    const outcome = await httpProbe({ scheme, host: handler.httpGet.host || target.podIp, port, path, headers: handler.httpGet.httpHeaders, timeoutMs: (target.timeoutSeconds || 30) * 1000 });
    return outcome.result === 'success' ? undefined : `HTTP lifecycle hook (${path}) ${where} failed - error: ${outcome.output}, message: ""`;
  }
  if (handler.sleep) {
    const ms = Math.min(handler.sleep.seconds * 1000, target.timeoutSeconds > 0 ? target.timeoutSeconds * 1000 : Infinity);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      target.signal?.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
    });
    return undefined;
  }
  return undefined;
}
