// What the pod worker's steps share: the node's identity and settings, the
// API client and event recorder, the runtime/network/volume/image ports,
// and the kubelet's in-memory knowledge of each pod.
import type { EventRecorder } from '../../client/events.ts';
import type { ApiClient, KubeObject } from '../../client/interface.ts';
import type { RegistryCredentials } from '../images/credentials.ts';
import type { PullPolicy } from '../images/policy.ts';
import type { PullBackoff } from '../images/policy.ts';
import type { ImageRecord } from '../images/store.ts';
import type { PodNetwork } from '../network/types.ts';
import type { ContainerRuntime } from '../runtime/types.ts';
import type { MountedVolume, VolumeManager } from '../volumes/types.ts';
import type { CrashBackoff } from './backoff.ts';
import type { EnvSources } from './env.ts';
import type { ProbeManager } from './probes/manager.ts';
import type { WaitingReason } from './status.ts';

/** The part of ImageService (src/agent/images) the kubelet uses; tests pass a fake. */
export interface KubeletImages {
  ensureImage(options: { image: string; pullPolicy?: PullPolicy; credentials?: RegistryCredentials[] }): Promise<ImageRecord>;
  get(image: string): ImageRecord | undefined;
  list(): ImageRecord[];
  layersFor(image: string | ImageRecord): string[];
  readonly layerFormat: 'overlay' | 'plain';
}

/** The image store's garbage collector (ImageService.garbageCollect), for the kubelet's housekeeping. */
export interface ImageGarbageCollection {
  garbageCollect(options: { inUse: (image: ImageRecord) => boolean }): Promise<{ freedBytes: number; removed: string[] }>;
}

export interface NodeFacts {
  nodeName: string;
  hostIp: string;
  memoryCapacityBytes: number;
  allocatable: Record<string, string>;
}

/** What the kubelet knows about one pod beyond the API object and the runtime. */
export interface PodRecord {
  uid: string;
  /** The newest pod from the API (the last one seen, once it is gone). */
  pod: KubeObject;
  /** Deleted from the API: stop and clean up everything. */
  gone: boolean;
  /** Admission verdict: undefined until checked. */
  admitted?: boolean;
  rejection?: { reason: string; message: string };
  /** Why a container is not running, for its status (cleared when it starts). */
  waiting: Map<string, WaitingReason>;
  podIps: string[];
  volumes?: Map<string, MountedVolume>;
  /** Consecutive FailedMount retries (for the retry delay). */
  mountFailures: number;
  /** Network/volumes released after the pod finished. */
  released: boolean;
  /** The status last written, and the pod resourceVersion it was computed from. */
  lastWritten?: { status: string; resourceVersion: string | undefined };
  /** The last failed pull's `reason: message` per image, for the ImagePullBackOff message. */
  pullErrors?: Map<string, string>;
  /** The eviction manager chose this pod: fail it with this message, stop it within this grace; `done` when stopped. */
  eviction?: { message: string; gracePeriodSeconds: number; eventRecorded?: boolean; done: (evicted: boolean) => void };
  /** The final DELETE was sent for this resourceVersion. */
  deleteSentFor?: string;
}

export interface KubeletContext {
  client: ApiClient;
  recorder: Pick<EventRecorder, 'record'>;
  runtime: ContainerRuntime;
  network: PodNetwork;
  volumes: VolumeManager;
  images: KubeletImages;
  probes: ProbeManager;
  envSources: EnvSources;
  node: NodeFacts;
  dataDir: string;
  clusterDns: string[];
  clusterDomain: string;
  crashBackoff: CrashBackoff;
  pullBackoff: PullBackoff;
  now: () => Date;
  warn: (message: string) => void;
  /** Termination messages of exited containers by id (they never change). */
  terminationMessages: Map<string, string>;
  /** The node's resolv.conf for pods' DNS (null: none). */
  hostResolvConfPath?: string | null;
}

export function podObject(pod: KubeObject): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: pod.metadata };
}

export function recordPodEvent(ctx: KubeletContext, options: { pod: KubeObject; type: 'Normal' | 'Warning'; reason: string; message: string; fieldPath?: string }): void {
  ctx.recorder.record({ object: podObject(options.pod), type: options.type, reason: options.reason, message: options.message, fieldPath: options.fieldPath });
}

export function coreResource(resource: string): { group: string; version: string; resource: string } {
  return { group: '', version: 'v1', resource };
}
