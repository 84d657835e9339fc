// The runtime's ContainerConfig for one container attempt: argv, env,
// working directory, mounts (volumes with subPath and readOnly, the
// termination-message file), user and security settings, cgroup resources,
// log path and the labels that identify it later. Throws
// ContainerConfigError (CreateContainerConfigError) for what the user must fix.
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, isAbsolute, join, normalize } from 'node:path';
import type { ImageRecord } from '../images/store.ts';
import type { ContainerConfig, ContainerSecurity, Mount } from '../runtime/types.ts';
import type { MountedVolume } from '../volumes/types.ts';
import type { KubeletContext, PodRecord } from './context.ts';
import { ContainerConfigError, containerArgv, containerEnv, expandVariables, mergeWithImageEnv } from './env.ts';
import { CONTAINER_NAME, IMAGE_DIGEST_REF, IMAGE_REF, podLabels, TERMINATION_MESSAGE_FILE, TERMINATION_MESSAGE_POLICY } from './labels.ts';
import { containerLogPath, terminationMessageFile } from './paths.ts';
import { specOf, statusOf, type ContainerSpec, type VolumeMount } from './pod-types.ts';
import { containerResources, qosClassOf, type QosClass } from './resources.ts';
import { effectiveSecurity, resolveImageUser, verifyRunAsNonRoot } from './user.ts';

const PROPAGATION: Record<string, Mount['propagation']> = { None: 'private', HostToContainer: 'rslave', Bidirectional: 'rshared' };

/** A subPath inside its volume: relative, without `..`, created when missing (as kubelet does). */
async function subPathMount(options: { volume: MountedVolume; mount: VolumeMount; env: Map<string, string> }): Promise<string> {
  const { volume, mount } = options;
  const sub = mount.subPathExpr !== undefined ? expandVariables(mount.subPathExpr, (name) => options.env.get(name)) : mount.subPath;
  if (!sub) return volume.hostPath;
  if (isAbsolute(sub) || normalize(sub).split('/').includes('..')) {
    throw new ContainerConfigError(`failed to prepare subPath for volumeMount "${mount.name}" of container: subPath "${sub}" must be a relative path without ".."`);
  }
  const path = join(volume.hostPath, sub);
  try {
    await stat(path);
  } catch {
    await mkdir(path, { recursive: true, mode: 0o750 });
  }
  return path;
}

function security(options: { ctx: KubeletContext; record: PodRecord; container: ContainerSpec; user: { uid: number; gid: number } }): ContainerSecurity {
  const { record, container } = options;
  const spec = specOf(record.pod);
  const own = container.securityContext ?? {};
  const effective = effectiveSecurity(spec, container);
  const groups = [...(spec.securityContext?.supplementalGroups ?? [])];
  if (spec.securityContext?.fsGroup !== undefined && !groups.includes(spec.securityContext.fsGroup)) groups.push(spec.securityContext.fsGroup);
  const result: ContainerSecurity = {
    runAsUser: effective.runAsUser ?? options.user.uid,
    runAsGroup: effective.runAsGroup ?? options.user.gid,
  };
  if (groups.length) result.supplementalGroups = groups;
  if (own.privileged) result.privileged = true;
  if (own.readOnlyRootFilesystem) result.readOnlyRootFilesystem = true;
  if (own.allowPrivilegeEscalation === false) result.noNewPrivileges = true;
  if (own.capabilities?.add?.length) result.capabilitiesAdd = own.capabilities.add;
  if (own.capabilities?.drop?.length) result.capabilitiesDrop = own.capabilities.drop;
  if (effective.seccompType === 'RuntimeDefault' || effective.seccompType === 'Unconfined') result.seccomp = effective.seccompType;
  return result;
}

export async function buildContainerConfig(options: {
  ctx: KubeletContext;
  record: PodRecord;
  container: ContainerSpec;
  image: ImageRecord;
  attempt: number;
}): Promise<ContainerConfig> {
  const { ctx, record, container, image, attempt } = options;
  const pod = record.pod;
  const spec = specOf(pod);
  const imageConfig = image.config.config ?? {};
  verifyRunAsNonRoot({ pod, container, imageUser: imageConfig.User });

  const env = await containerEnv({
    container,
    sources: ctx.envSources,
    facts: { pod, hostIp: ctx.node.hostIp, podIps: record.podIps, allocatable: { cpu: ctx.node.allocatable.cpu ?? '0', memory: ctx.node.allocatable.memory ?? '0' } },
  });
  const argv = containerArgv({ container, imageEntrypoint: imageConfig.Entrypoint, imageCmd: imageConfig.Cmd, env });
  if (argv.length === 0) throw new ContainerConfigError('failed to generate container spec: no command specified', 'CreateContainerError');

  const mounts: Mount[] = [];
  for (const mount of container.volumeMounts ?? []) {
    const volume = record.volumes?.get(mount.name);
    if (!volume) throw new ContainerConfigError(`cannot find volume "${mount.name}" to mount into container "${container.name}"`);
    mounts.push({
      containerPath: mount.mountPath,
      hostPath: await subPathMount({ volume, mount, env }),
      readOnly: mount.readOnly === true || volume.readOnly,
      ...(mount.mountPropagation && PROPAGATION[mount.mountPropagation] ? { propagation: PROPAGATION[mount.mountPropagation] } : {}),
    });
  }
  const terminationPath = container.terminationMessagePath ?? '/dev/termination-log';
  const messageFile = terminationMessageFile({ dataDir: ctx.dataDir, podUid: record.uid, container: container.name, attempt });
  await mkdir(dirname(messageFile), { recursive: true });
  // World-writable: the container may run as any user.
  await writeFile(messageFile, '', { mode: 0o666 });
  if (!mounts.some((m) => m.containerPath === terminationPath)) mounts.push({ containerPath: terminationPath, hostPath: messageFile });

  const logPath = containerLogPath({ dataDir: ctx.dataDir, pod, container: container.name, attempt });
  await mkdir(dirname(logPath), { recursive: true });

  // As containerd: a runAsUser replaces the image's User, and its group comes from the image's passwd entry for that uid (else 0).
  const runAsUser = effectiveSecurity(spec, container).runAsUser;
  const user = await resolveImageUser({ layers: ctx.images.layersFor(image), user: runAsUser !== undefined ? String(runAsUser) : imageConfig.User });
  const qos = (statusOf(pod).qosClass as QosClass | undefined) ?? qosClassOf(spec);
  return {
    name: container.name,
    attempt,
    image: { reference: image.reference, imageId: image.imageId, layers: ctx.images.layersFor(image), layerFormat: ctx.images.layerFormat },
    argv,
    env: mergeWithImageEnv({ imageEnv: imageConfig.Env, env, hostname: podHostname(pod) }),
    workingDir: container.workingDir || imageConfig.WorkingDir || undefined,
    mounts,
    security: security({ ctx, record, container, user }),
    resources: containerResources({ container, qos, memoryCapacityBytes: ctx.node.memoryCapacityBytes, priority: spec.priority }),
    tty: container.tty,
    stdin: container.stdin,
    stdinOnce: container.stdinOnce,
    logPath,
    labels: {
      ...podLabels({ uid: record.uid, name: pod.metadata.name ?? '', namespace: pod.metadata.namespace ?? '' }),
      [CONTAINER_NAME]: container.name,
      [IMAGE_REF]: image.reference,
      [IMAGE_DIGEST_REF]: `${image.repository}@${image.digest}`,
      [TERMINATION_MESSAGE_FILE]: messageFile,
      [TERMINATION_MESSAGE_POLICY]: container.terminationMessagePolicy ?? 'File',
    },
  };
}

/** The pod's hostname (spec.hostname or its name, at most 63 characters; the node's with hostNetwork). */
export function podHostname(pod: { metadata: { name?: string }; spec?: unknown }): string {
  const spec = (pod.spec ?? {}) as { hostname?: string; hostNetwork?: boolean };
  // hostNetwork pods share the node's UTS namespace, hence its name.
  if (spec.hostNetwork) return hostname();
  let name = spec.hostname || pod.metadata.name || '';
  if (name.length > 63) name = name.slice(0, 63).replace(/[-.]+$/, '');
  return name;
}
