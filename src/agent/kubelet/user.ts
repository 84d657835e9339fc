// Which user a container runs as: the pod's and container's securityContext
// over the image's `User`, names resolved through the image's /etc/passwd
// and /etc/group (the runtime wants numbers) — and kubelet's runAsNonRoot
// check, which refuses to start a container that would run as root.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KubeObject } from '../../client/interface.ts';
import { ContainerConfigError } from './env.ts';
import { formatPod, type ContainerSpec, type PodSpec } from './pod-types.ts';

/** The image's `User` split: `uid[:gid]` or `name[:group]`; empty means root. */
export function parseImageUser(user: string | undefined): { uid?: number; username?: string; group?: string } {
  const [who = '', group] = (user ?? '').split(':', 2);
  if (who === '') return { uid: 0, group };
  return /^\d+$/.test(who) ? { uid: Number(who), group } : { username: who, group };
}

/** The securityContext fields in force: the container's over the pod's. */
export function effectiveSecurity(spec: PodSpec, container: ContainerSpec) {
  const pod = spec.securityContext ?? {};
  const own = container.securityContext ?? {};
  return {
    runAsUser: own.runAsUser ?? pod.runAsUser,
    runAsGroup: own.runAsGroup ?? pod.runAsGroup,
    runAsNonRoot: own.runAsNonRoot ?? pod.runAsNonRoot,
    seccompType: own.seccompProfile?.type ?? pod.seccompProfile?.type,
  };
}

/** kubelet's verifyRunAsNonRoot, with its messages. */
export function verifyRunAsNonRoot(options: { pod: KubeObject; container: ContainerSpec; imageUser: string | undefined }): void {
  const { pod, container } = options;
  const effective = effectiveSecurity(pod.spec as PodSpec, container);
  if (!effective.runAsNonRoot) return;
  if (effective.runAsUser !== undefined) {
    if (effective.runAsUser === 0) throw new ContainerConfigError(`container's runAsUser breaks non-root policy (pod: "${formatPod(pod)}", container: ${container.name})`);
    return;
  }
  const image = parseImageUser(options.imageUser);
  if (image.uid === 0) throw new ContainerConfigError(`container has runAsNonRoot and image will run as root (pod: "${formatPod(pod)}", container: ${container.name})`);
  if (image.uid === undefined && image.username) {
    throw new ContainerConfigError(`container has runAsNonRoot and image has non-numeric user (${image.username}), cannot verify user is non-root (pod: "${formatPod(pod)}", container: ${container.name})`);
  }
}

/** The first of the layers (topmost first) that has the file. */
async function readFromLayers(layers: string[], path: string): Promise<string | undefined> {
  for (const layer of layers) {
    try {
      return await readFile(join(layer, path), 'utf8');
    } catch {
      // not in this layer
    }
  }
  return undefined;
}

function lookup(text: string | undefined, name: string): string[] | undefined {
  for (const line of (text ?? '').split('\n')) {
    const fields = line.split(':');
    if (fields[0] === name) return fields;
  }
  return undefined;
}

/**
 * Numeric uid and gid for a `User` of the image (as containerd resolves it):
 * names through the image's passwd/group files; a numeric uid without a
 * group takes the passwd entry's group, else 0.
 */
export async function resolveImageUser(options: { layers: string[]; user: string | undefined }): Promise<{ uid: number; gid: number }> {
  const parsed = parseImageUser(options.user);
  const passwd = parsed.username !== undefined || parsed.group === undefined ? await readFromLayers(options.layers, 'etc/passwd') : undefined;
  let uid = parsed.uid;
  let gid: number | undefined;
  if (parsed.username !== undefined) {
    const entry = lookup(passwd, parsed.username);
    if (!entry) throw new ContainerConfigError(`unable to find user ${parsed.username}: no matching entries in passwd file`);
    uid = Number(entry[2]);
    gid = Number(entry[3]);
  } else if (passwd) {
    const entry = (passwd.split('\n').map((l) => l.split(':')).find((f) => f[2] === String(uid)));
    if (entry) gid = Number(entry[3]);
  }
  if (parsed.group !== undefined && parsed.group !== '') {
    if (/^\d+$/.test(parsed.group)) {
      gid = Number(parsed.group);
    } else {
      const entry = lookup(await readFromLayers(options.layers, 'etc/group'), parsed.group);
      if (!entry) throw new ContainerConfigError(`unable to find group ${parsed.group}: no matching entries in group file`);
      gid = Number(entry[2]);
    }
  }
  return { uid: uid ?? 0, gid: gid ?? 0 };
}
