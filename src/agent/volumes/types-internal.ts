// The slices of pod volume specs the plugins read (the API's shapes, only the
// fields skiff uses). Everything arrives as JSON from the API server.
import type { KubeObject } from '../../client/interface.ts';

export interface KeyToPath {
  key: string;
  path: string;
  mode?: number;
}

export interface ObjectFieldSelector {
  fieldPath: string;
  apiVersion?: string;
}

export interface ResourceFieldSelector {
  containerName?: string;
  resource: string;
  divisor?: string | number;
}

export interface DownwardApiFile {
  path: string;
  fieldRef?: ObjectFieldSelector;
  resourceFieldRef?: ResourceFieldSelector;
  mode?: number;
}

export interface ConfigMapSource {
  name?: string;
  items?: KeyToPath[];
  defaultMode?: number;
  optional?: boolean;
}

export interface SecretSource {
  secretName?: string;
  items?: KeyToPath[];
  defaultMode?: number;
  optional?: boolean;
}

export interface ServiceAccountTokenProjection {
  audience?: string;
  expirationSeconds?: number;
  path: string;
}

export interface VolumeProjection {
  configMap?: Omit<ConfigMapSource, 'defaultMode'>;
  secret?: { name?: string; items?: KeyToPath[]; optional?: boolean };
  downwardAPI?: { items?: DownwardApiFile[] };
  serviceAccountToken?: ServiceAccountTokenProjection;
  clusterTrustBundle?: unknown;
  podCertificate?: unknown;
}

export interface PodVolume {
  name: string;
  emptyDir?: { medium?: string; sizeLimit?: string | number };
  hostPath?: { path: string; type?: string };
  configMap?: ConfigMapSource;
  secret?: SecretSource;
  downwardAPI?: { items?: DownwardApiFile[]; defaultMode?: number };
  projected?: { sources?: VolumeProjection[] | null; defaultMode?: number };
  persistentVolumeClaim?: { claimName: string; readOnly?: boolean };
  [source: string]: unknown;
}

export interface ContainerSpec {
  name: string;
  resources?: { limits?: Record<string, string | number>; requests?: Record<string, string | number> };
}

export interface PodSpec {
  volumes?: PodVolume[];
  containers?: ContainerSpec[];
  initContainers?: ContainerSpec[];
  serviceAccountName?: string;
  securityContext?: { fsGroup?: number; fsGroupChangePolicy?: string };
}

export interface Pod extends KubeObject {
  spec?: PodSpec;
}

/** A file of an atomically written volume: its bytes and permission bits. */
export interface FileProjection {
  data: Buffer;
  mode: number;
}

/** Relative path inside the volume → file. */
export type Payload = Map<string, FileProjection>;

/** kubelet's default file mode for configMap, secret, downwardAPI and projected volumes (0644). */
export const DEFAULT_FILE_MODE = 0o644;
