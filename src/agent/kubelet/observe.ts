// What the runtime shows of one pod: its sandboxes, its containers, and for
// each container of the spec the latest and previous instance (with the
// termination message of exited ones). Rebuilt on every sync, so a
// restarted agent knows exactly what its predecessor left running.
import { open } from 'node:fs/promises';
import type { ContainerStatus, PodSandboxStatus } from '../runtime/types.ts';
import type { KubeletContext } from './context.ts';
import { CONTAINER_NAME, IMAGE_DIGEST_REF, IMAGE_REF, POD_UID, TERMINATION_MESSAGE_FILE, TERMINATION_MESSAGE_POLICY } from './labels.ts';
import type { ContainerHistory, ContainerView } from './status.ts';

export interface PodObservation {
  /** The newest ready sandbox, if any. */
  sandbox?: PodSandboxStatus;
  sandboxes: PodSandboxStatus[];
  containers: ContainerStatus[];
  histories: Map<string, ContainerHistory>;
}

const MAX_MESSAGE_BYTES = 4096;
const FALLBACK_LOG_LINES = 80;
const FALLBACK_LOG_BYTES = 2048;

async function readHead(path: string, max: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(max);
    const { bytesRead } = await handle.read(buffer, 0, max, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** The last `max` bytes of the file, from the first whole line when that cut one. */
async function readTail(path: string, max: number): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const start = Math.max(0, size - max);
    const buffer = Buffer.alloc(size - start);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, start);
    const text = buffer.subarray(0, bytesRead).toString('utf8');
    return start === 0 ? text : text.slice(text.indexOf('\n') + 1);
  } finally {
    await handle.close();
  }
}

/** The text of a CRI log (`TIME STREAM P|F text` lines): partial lines joined, newlines restored. */
export function criLogText(raw: string): string {
  let out = '';
  for (const line of raw.split('\n')) {
    const m = /^\S+ (?:stdout|stderr) ([PF]) (.*)$/.exec(line);
    if (!m) continue;
    out += m[2] + (m[1] === 'F' ? '\n' : '');
  }
  return out;
}

/**
 * terminated.message: the terminationMessagePath file (at most 4 KiB) or,
 * with FallbackToLogsOnError and a failed container whose file is empty,
 * the last 80 lines (at most 2 KiB) of its log.
 */
export async function terminationMessage(status: ContainerStatus): Promise<string> {
  let message = '';
  const file = status.labels[TERMINATION_MESSAGE_FILE];
  if (file) message = await readHead(file, MAX_MESSAGE_BYTES).then((b) => b.toString('utf8')).catch(() => '');
  if (message === '' && status.labels[TERMINATION_MESSAGE_POLICY] === 'FallbackToLogsOnError' && (status.exitCode ?? 0) !== 0 && status.logPath) {
    // Read a little more than 2 KiB of raw log: the timestamps and stream names are dropped.
    const raw = await readTail(status.logPath, FALLBACK_LOG_BYTES * 4).catch(() => '');
    const text = criLogText(raw);
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    message = lines.slice(-FALLBACK_LOG_LINES).join('\n');
    if (Buffer.byteLength(message) > FALLBACK_LOG_BYTES) message = Buffer.from(message).subarray(-FALLBACK_LOG_BYTES).toString('utf8');
    if (message && text.endsWith('\n')) message += '\n';
  }
  return message;
}

function view(status: ContainerStatus, message: string | undefined): ContainerView {
  return {
    id: status.id,
    name: status.name,
    attempt: status.attempt,
    state: status.state,
    createdAt: status.createdAt,
    startedAt: status.startedAt,
    finishedAt: status.finishedAt,
    exitCode: status.exitCode,
    reason: status.reason,
    message,
    image: status.labels[IMAGE_REF] ?? '',
    imageId: status.labels[IMAGE_DIGEST_REF] ?? status.imageId,
  };
}

export async function observePod(ctx: KubeletContext, podUid: string): Promise<PodObservation> {
  const sandboxes = (await ctx.runtime.listPodSandboxes({ podUid })).filter((s) => s.podUid === podUid).sort((a, b) => b.attempt - a.attempt || b.createdAt - a.createdAt);
  const sandbox = sandboxes.find((s) => s.state === 'ready');
  const containers = (await ctx.runtime.listContainers({ podUid })).filter((c) => c.labels[POD_UID] === podUid);
  const byName = new Map<string, ContainerStatus[]>();
  for (const c of containers) {
    const name = c.labels[CONTAINER_NAME] ?? c.name;
    byName.set(name, [...(byName.get(name) ?? []), c]);
  }
  const histories = new Map<string, ContainerHistory>();
  for (const [name, list] of byName) {
    list.sort((a, b) => b.attempt - a.attempt || b.createdAt - a.createdAt);
    const [current, previous] = list;
    const message = async (c: ContainerStatus | undefined) => {
      if (!c || c.state !== 'exited') return undefined;
      let cached = ctx.terminationMessages.get(c.id);
      if (cached === undefined) {
        cached = await terminationMessage(c);
        ctx.terminationMessages.set(c.id, cached);
      }
      return cached || undefined;
    };
    histories.set(name, {
      current: current ? view(current, await message(current)) : undefined,
      previous: previous ? view(previous, await message(previous)) : undefined,
    });
  }
  return { sandbox, sandboxes, containers, histories };
}
