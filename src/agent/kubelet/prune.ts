// Container garbage collection for a live pod (kubelet's container GC):
// each container of the pod keeps its newest attempt and the one before it
// (the status's state/lastState and `kubectl logs --previous` need both);
// older exited attempts are removed with their log and termination-message
// files, so a crash-looping container does not pile up overlay mounts and
// runtime state. Runs inside the pod's sync, so it never races the worker.
import { rm } from 'node:fs/promises';
import type { ContainerStatus } from '../runtime/types.ts';
import type { KubeletContext } from './context.ts';
import { CONTAINER_NAME, TERMINATION_MESSAGE_FILE } from './labels.ts';

/** Attempts kept per container: the current one and the previous one. */
export const KEPT_ATTEMPTS = 2;

/** The exited attempts beyond the newest KEPT_ATTEMPTS of each container. */
export function attemptsToPrune(containers: readonly ContainerStatus[]): ContainerStatus[] {
  const byName = new Map<string, ContainerStatus[]>();
  for (const c of containers) {
    const name = c.labels[CONTAINER_NAME] ?? c.name;
    byName.set(name, [...(byName.get(name) ?? []), c]);
  }
  const prune: ContainerStatus[] = [];
  for (const list of byName.values()) {
    list.sort((a, b) => b.attempt - a.attempt || b.createdAt - a.createdAt);
    prune.push(...list.slice(KEPT_ATTEMPTS).filter((c) => c.state === 'exited'));
  }
  return prune;
}

/** Removes what attemptsToPrune picks; true when anything was removed. */
export async function pruneOldAttempts(ctx: KubeletContext, containers: readonly ContainerStatus[]): Promise<boolean> {
  const old = attemptsToPrune(containers);
  for (const c of old) {
    await ctx.runtime.removeContainer(c.id);
    ctx.terminationMessages.delete(c.id);
    if (c.logPath) await rm(c.logPath, { force: true });
    const messageFile = c.labels[TERMINATION_MESSAGE_FILE];
    if (messageFile) await rm(messageFile, { force: true });
  }
  return old.length > 0;
}
