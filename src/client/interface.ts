// The API client contract every component (scheduler, controllers, agents)
// uses to talk to the API server — the same REST API users drive with
// kubectl. Implementations: the HTTP/2 client (rest-client.ts). Tests may
// use the same client against a real in-process server.

/** Which resource (and optionally which object) a request addresses. */
export interface ResourceRef {
  /** '' for the core group. */
  group: string;
  version: string;
  /** Plural resource name: "pods", "deployments". */
  resource: string;
  /** Required for namespaced objects; omit to address all namespaces in list/watch. */
  namespace?: string;
  name?: string;
  /** "status", "binding", "scale", "eviction" … */
  subresource?: string;
}

export type { KubeObject, ObjectMeta, OwnerReference } from '../api/object.ts';
import type { KubeObject } from '../api/object.ts';

/**
 * Metadata only: the server answers meta.k8s.io/v1 PartialObjectMetadata
 * (PartialObjectMetadataList for lists) — each object's apiVersion, kind and
 * metadata, no spec or status — as upstream's metadata client asks for.
 */
export interface MetadataOnlyOption {
  metadataOnly?: boolean;
}

export type GetOptions = MetadataOnlyOption;

export interface ListOptions extends MetadataOnlyOption {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

export interface ObjectList<T extends KubeObject = KubeObject> {
  apiVersion?: string;
  kind?: string;
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  items: T[];
}

export interface WatchOptions extends MetadataOnlyOption {
  /** Start after this version ("" or "0": current state first, as ADDED events). */
  resourceVersion?: string;
  labelSelector?: string;
  fieldSelector?: string;
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent<T extends KubeObject = KubeObject> {
  type: WatchEventType;
  /** For ERROR events a Status object. */
  object: T;
}

/** A running watch: iterate events until the server ends the stream or `stop()` is called. */
export interface WatchStream<T extends KubeObject = KubeObject> extends AsyncIterable<WatchEvent<T>> {
  stop(): void;
}

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
}

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

export interface PatchOptions extends WriteOptions {
  /** Server-side apply only: take fields owned by other managers. */
  force?: boolean;
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export interface DeleteCollectionOptions extends DeleteOptions {
  labelSelector?: string;
  fieldSelector?: string;
}

export interface ApiClient {
  get<T extends KubeObject = KubeObject>(ref: ResourceRef, options?: GetOptions): Promise<T>;
  list<T extends KubeObject = KubeObject>(ref: ResourceRef, options?: ListOptions): Promise<ObjectList<T>>;
  watch<T extends KubeObject = KubeObject>(ref: ResourceRef, options?: WatchOptions): WatchStream<T>;
  /** POST to the collection (or to a subresource of `ref.name`, e.g. binding). */
  create<T extends KubeObject = KubeObject>(ref: ResourceRef, body: unknown, options?: WriteOptions): Promise<T>;
  update<T extends KubeObject = KubeObject>(ref: ResourceRef, body: unknown, options?: WriteOptions): Promise<T>;
  patch<T extends KubeObject = KubeObject>(ref: ResourceRef, type: PatchType, patch: unknown, options?: PatchOptions): Promise<T>;
  /** Returns the response body (a Status, or the object when it is only marked for deletion). */
  delete(ref: ResourceRef, options?: DeleteOptions): Promise<unknown>;
  /**
   * DELETE on the collection (upstream's deletecollection verb): every object of
   * `ref.resource` in `ref.namespace` that matches the selectors is deleted or
   * marked for deletion. Returns the response body (the list of those objects).
   */
  deleteCollection(ref: ResourceRef, options?: DeleteCollectionOptions): Promise<unknown>;
  /** Close connections; pending watches end. */
  close(): Promise<void>;
}

/** A non-2xx answer: the server's Status fields. */
export class ApiStatusError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly status: Record<string, unknown> | undefined;
  constructor(options: { code: number; reason: string; message: string; status?: Record<string, unknown> }) {
    super(options.message);
    this.code = options.code;
    this.reason = options.reason;
    this.status = options.status;
  }
}

export const isNotFound = (error: unknown) => error instanceof ApiStatusError && error.code === 404;
export const isConflict = (error: unknown) => error instanceof ApiStatusError && error.code === 409 && error.reason === 'Conflict';
export const isAlreadyExists = (error: unknown) => error instanceof ApiStatusError && error.reason === 'AlreadyExists';

/** Frequently used resources. */
export const resources = {
  pods: { group: '', version: 'v1', resource: 'pods' },
  nodes: { group: '', version: 'v1', resource: 'nodes' },
  events: { group: '', version: 'v1', resource: 'events' },
  namespaces: { group: '', version: 'v1', resource: 'namespaces' },
  services: { group: '', version: 'v1', resource: 'services' },
  leases: { group: 'coordination.k8s.io', version: 'v1', resource: 'leases' },
  priorityClasses: { group: 'scheduling.k8s.io', version: 'v1', resource: 'priorityclasses' },
  podDisruptionBudgets: { group: 'policy', version: 'v1', resource: 'poddisruptionbudgets' },
  persistentVolumeClaims: { group: '', version: 'v1', resource: 'persistentvolumeclaims' },
} as const satisfies Record<string, ResourceRef>;
