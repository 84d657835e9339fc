// Where the kubelet keeps per-pod files under the data dir:
//   DATA/pods/<uid>/                       etc-hosts, resolv.conf, volumes/ (agent/volumes)
//   DATA/pods/<uid>/containers/<name>/     termination-message files, one per attempt
//   DATA/pods/<ns>_<name>_<uid>/<container>/<attempt>.log   container logs (CRI format)
import { join } from 'node:path';
import type { KubeObject } from '../../client/interface.ts';

export function podsDir(dataDir: string): string {
  return join(dataDir, 'pods');
}

export function podDir(dataDir: string, podUid: string): string {
  return join(podsDir(dataDir), podUid);
}

export function terminationMessageFile(options: { dataDir: string; podUid: string; container: string; attempt: number }): string {
  return join(podDir(options.dataDir, options.podUid), 'containers', options.container, `${options.attempt}.termination-log`);
}

export function podLogDir(dataDir: string, pod: KubeObject): string {
  return join(podsDir(dataDir), `${pod.metadata.namespace}_${pod.metadata.name}_${pod.metadata.uid}`);
}

export function containerLogPath(options: { dataDir: string; pod: KubeObject; container: string; attempt: number }): string {
  return join(podLogDir(options.dataDir, options.pod), options.container, `${options.attempt}.log`);
}
