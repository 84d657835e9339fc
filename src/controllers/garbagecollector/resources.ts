// The resources the garbage collector watches and resolves references to:
// every served resource that can be listed, watched and deleted (upstream's
// GetDeletableResources), minus the ones it ignores by default (events).
// Built-in kinds come from the kind registry; kinds served later (custom
// resources) are added at runtime with GarbageCollector.syncResources().
import { builtinKinds, type KindRegistry } from '../../api/registry.ts';
import type { ResourceRef } from '../../client/interface.ts';
import { StaleReadError } from '../framework/controller.ts';
import { splitApiVersion } from './identity.ts';

export interface GcResource {
  group: string;
  version: string;
  /** Plural, as in the URL. */
  resource: string;
  kind: string;
  namespaced: boolean;
}

/** Upstream's DefaultIgnoredResources: events are never owners worth a watch. */
const IGNORED = new Set(['/events', 'events.k8s.io/events']);

export const resourceKey = (r: Pick<GcResource, 'group' | 'version' | 'resource'>) => `${r.group}/${r.version}/${r.resource}`;

export const apiVersionOf = (r: Pick<GcResource, 'group' | 'version'>) => (r.group ? `${r.group}/${r.version}` : r.version);

/** Resources of a kind registry the collector can watch and delete. */
export function deletableResources(registry: KindRegistry = builtinKinds()): GcResource[] {
  return registry.resources
    .filter((r) => ['list', 'watch', 'delete'].every((verb) => r.verbs.includes(verb)))
    .filter((r) => !IGNORED.has(`${r.group}/${r.plural}`))
    .map((r) => ({ group: r.group, version: r.version, resource: r.plural, kind: r.kind, namespaced: r.namespaced }));
}

/**
 * apiVersion + kind → resource, for references and identities. Knows the
 * built-in kinds (deletable or not: an owner may be of any kind) and the
 * resources added since.
 */
export class ResourceMapper {
  private readonly byKind = new Map<string, GcResource>();

  constructor(registry: KindRegistry = builtinKinds()) {
    for (const r of registry.resources) {
      this.add({ group: r.group, version: r.version, resource: r.plural, kind: r.kind, namespaced: r.namespaced });
    }
  }

  add(resource: GcResource): void {
    this.byKind.set(`${apiVersionOf(resource)}/${resource.kind}`, resource);
  }

  /** The resource of `kind` in `apiVersion`, or undefined when not served (yet). */
  resolve(apiVersion: string, kind: string): GcResource | undefined {
    return this.byKind.get(`${apiVersion}/${kind}`);
  }

  /** The request target of one object of that kind (namespace dropped for cluster-scoped kinds). */
  refFor(resource: GcResource, namespace: string, name: string): ResourceRef {
    return { group: resource.group, version: resource.version, resource: resource.resource, namespace: resource.namespaced ? namespace : undefined, name };
  }
}

/**
 * A reference to a kind the mapper does not know (yet, e.g. a custom
 * resource not served so far): retried with backoff and logged quietly, as
 * upstream's restMappingError.
 */
export class UnknownKindError extends StaleReadError {
  constructor(apiVersion: string, kind: string) {
    const [group, version] = splitApiVersion(apiVersion);
    super(`unable to get REST mapping for ${group ? `${group}/` : ''}${version}/${kind}`);
    this.name = 'UnknownKindError';
  }
}
