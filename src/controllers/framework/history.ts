// ControllerRevisions: the rollout history of DaemonSets and StatefulSets
// (upstream's pkg/controller/history, by behaviour).
//
// A revision is an apps/v1 ControllerRevision owned (controllerRef) by its
// set. Its `data` is a strategic merge patch that puts the set's pod
// template back — {spec: {template: {…, $patch: replace}}} — which is what
// `kubectl rollout undo ds/x|sts/x` applies, and what `rollout history`
// prints. `revision` numbers grow by one per template change; returning to
// an earlier template (a rollback) moves that template's revision to the
// next number instead of making a duplicate. The name is
// `<set>-<hash of data>`, with the controller-revision-hash label carrying
// the hash; a name collision with different data is escaped by bumping the
// set's status.collisionCount, which salts the hash.
import { isAlreadyExists, isNotFound, type ApiClient, type KubeObject } from '../../client/interface.ts';
import { newControllerRef } from './controller-ref.ts';
import { computeTemplateHash, semanticEqual } from './template-hash.ts';
import type { PodTemplate } from './types.ts';

export const CONTROLLER_REVISION_HASH_LABEL = 'controller-revision-hash';
export const controllerRevisionsResource = { group: 'apps', version: 'v1', resource: 'controllerrevisions' } as const;

/** Upstream keeps revision names within 253 characters: the owner-name prefix is cut at 223. */
const MAX_NAME_PREFIX = 223;

export interface ControllerRevision extends KubeObject {
  data?: unknown;
  revision: number;
}

/** The patch a revision stores for a template. */
export function templatePatch(template: PodTemplate | undefined): Record<string, unknown> {
  return { spec: { template: { ...structuredClone(template ?? {}), $patch: 'replace' } } };
}

/** The pod template a revision restores. */
export function templateOf(revision: ControllerRevision): PodTemplate {
  const data = revision.data as { spec?: { template?: PodTemplate & { $patch?: string } } } | undefined;
  const { $patch: _ignored, ...template } = structuredClone(data?.spec?.template ?? {});
  return template;
}

/** Same template stored, whatever the bytes (see semanticEqual). */
export const equalRevisions = (a: ControllerRevision, b: ControllerRevision) => semanticEqual(a.data, b.data);

/** The hash of a revision's data, salted by the collision count (0 and none alike: names do not change when status gains a 0). */
export const hashRevisionData = (data: unknown, collisionCount?: number) => computeTemplateHash(data, collisionCount || undefined);

export const revisionName = (owner: string, hash: string) => `${owner.slice(0, MAX_NAME_PREFIX)}-${hash}`;

/** Oldest first: by revision number, then age, then name (upstream's SortControllerRevisions). */
export function sortRevisions(revisions: readonly ControllerRevision[]): ControllerRevision[] {
  return [...revisions].sort((a, b) => (a.revision ?? 0) - (b.revision ?? 0)
    || (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '')
    || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
}

export const maxRevision = (revisions: readonly ControllerRevision[]) => revisions.reduce((max, r) => Math.max(max, r.revision ?? 0), 0);

export interface NewRevisionOptions {
  /** The DaemonSet or StatefulSet (needs apiVersion, kind, name, namespace, uid). */
  owner: KubeObject;
  template: PodTemplate | undefined;
  revision: number;
  collisionCount?: number;
  /** More labels carrying the hash (a StatefulSet's revisions also have controller.kubernetes.io/hash). */
  extraHashLabels?: readonly string[];
}

/** A revision object (not yet stored): template labels plus the hash label, the owner's annotations (change-cause). */
export function newRevision(options: NewRevisionOptions): ControllerRevision {
  const { owner } = options;
  const data = templatePatch(options.template);
  const hash = hashRevisionData(data, options.collisionCount);
  const labels: Record<string, string> = { ...(options.template?.metadata?.labels ?? {}), [CONTROLLER_REVISION_HASH_LABEL]: hash };
  for (const key of options.extraHashLabels ?? []) labels[key] = hash;
  const metadata: KubeObject['metadata'] = {
    name: revisionName(owner.metadata.name!, hash), namespace: owner.metadata.namespace, labels, ownerReferences: [newControllerRef(owner)],
  };
  if (owner.metadata.annotations && Object.keys(owner.metadata.annotations).length) metadata.annotations = { ...owner.metadata.annotations };
  return { apiVersion: 'apps/v1', kind: 'ControllerRevision', metadata, data, revision: options.revision };
}

export interface SyncRevisionsOptions extends Omit<NewRevisionOptions, 'revision'> {
  client: ApiClient;
  /** The revisions the owner controls (claimed), in any order. */
  revisions: readonly ControllerRevision[];
}

export interface SyncedRevisions {
  /** The revision of the owner's current template (created, or an equal one renumbered when needed). */
  update: ControllerRevision;
  /** Every revision, oldest first, with `update` in its stored state. */
  revisions: ControllerRevision[];
  /** The collision count to store in the owner's status. */
  collisionCount: number;
}

/** Bounds the collision loop; each step is a create and a get. */
const MAX_COLLISIONS = 100;

/**
 * The revision for the owner's current template (upstream's
 * getStatefulSetRevisions / constructHistory): the newest revision when it
 * already holds this template; else an older equal one, renumbered to be the
 * newest (a rollback); else a new one, its name's hash salted past
 * collisions with revisions holding other data.
 */
export async function syncRevisions(options: SyncRevisionsOptions): Promise<SyncedRevisions> {
  const { client, owner } = options;
  const sorted = sortRevisions(options.revisions);
  let collisionCount = options.collisionCount ?? 0;
  const next = maxRevision(sorted) + 1;
  const wanted = newRevision({ ...options, revision: next, collisionCount });
  const equal = sorted.filter((r) => equalRevisions(r, wanted));
  const latest = sorted.at(-1);
  const replace = (update: ControllerRevision) => ({
    update, collisionCount,
    revisions: sortRevisions([...sorted.filter((r) => r.metadata.name !== update.metadata.name), update]),
  });
  if (equal.length && equal.at(-1) === latest) return replace(latest!);
  if (equal.length) {
    const previous = equal.at(-1)!;
    // The revision number is the one mutable part of a revision (data is immutable).
    const renumbered = await client.patch<ControllerRevision>(
      { ...controllerRevisionsResource, namespace: owner.metadata.namespace, name: previous.metadata.name }, 'merge', { revision: next },
    );
    return replace(renumbered);
  }
  for (let attempt = 0; attempt < MAX_COLLISIONS; attempt++) {
    const candidate = newRevision({ ...options, revision: next, collisionCount });
    const ref = { ...controllerRevisionsResource, namespace: owner.metadata.namespace };
    try {
      return replace(await client.create<ControllerRevision>(ref, candidate));
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
      // Made by an earlier sync whose result our cache has not seen yet, or a real hash collision.
      const existing = await client.get<ControllerRevision>({ ...ref, name: candidate.metadata.name });
      if (equalRevisions(existing, candidate)) return replace(existing);
      collisionCount++;
    }
  }
  throw new Error(`${owner.kind} ${owner.metadata.namespace}/${owner.metadata.name}: no free ControllerRevision name after ${MAX_COLLISIONS} collisions`);
}

export interface TruncateHistoryOptions {
  client: ApiClient;
  /** Every revision the owner controls. */
  revisions: readonly ControllerRevision[];
  /** Names of revisions still in use (the current and update revisions, those of live pods): never deleted. */
  live: ReadonlySet<string>;
  /** spec.revisionHistoryLimit: how many unused revisions to keep. */
  limit: number;
}

/** Delete the oldest unused revisions beyond the limit. */
export async function truncateHistory(options: TruncateHistoryOptions): Promise<void> {
  const unused = sortRevisions(options.revisions).filter((r) => !options.live.has(r.metadata.name!));
  const excess = unused.length - Math.max(0, options.limit);
  for (const r of unused.slice(0, Math.max(0, excess))) {
    try {
      await options.client.delete({ ...controllerRevisionsResource, namespace: r.metadata.namespace, name: r.metadata.name }, { preconditions: { uid: r.metadata.uid } });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}
