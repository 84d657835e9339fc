// Which resources the namespace controller empties: every namespaced
// resource that can be deleted, in discovery's shape (APIResourceList per
// group/version, as /api/v1 and /apis/<group>/<version> serve them). The
// source is a function so that kinds served later (custom resources) are
// picked up on the next pass: the default reads the API kind registry,
// another source may read discovery over HTTP. A source may report groups it
// could not read; the controller keeps going with the rest but does not
// finalize the namespace (content of a group it cannot see may remain).
import { builtinKinds, type KindRegistry } from '../../api/registry.ts';

export interface ApiResource {
  /** Plural resource name as in the URL. */
  name: string;
  namespaced: boolean;
  verbs: string[];
}

export interface ApiResourceList {
  /** "v1" or "apps/v1". */
  groupVersion: string;
  resources: ApiResource[];
}

export interface DiscoveryResult {
  lists: ApiResourceList[];
  /** Group versions that could not be read, with why. */
  failedGroups?: Map<string, string>;
}

export type DiscoverResources = () => Promise<DiscoveryResult>;

/** A resource to empty, with the collection verbs it supports. */
export interface DeletableResource {
  group: string;
  version: string;
  resource: string;
  list: boolean;
  deleteCollection: boolean;
}

/**
 * Discovery from the kind registry: each stored resource once, in its
 * preferred version (a resource served in versions that are stored apart,
 * like autoscaling v1 and v2 today, once per version).
 */
export function registryDiscovery(registry: KindRegistry = builtinKinds()): DiscoverResources {
  return async () => {
    const preferred = new Map(registry.groups().map((g) => [g.name, g.preferred]));
    const chosen = new Map<string, (typeof registry.resources)[number]>();
    for (const r of registry.resources) {
      const seen = chosen.get(r.storageResource);
      if (!seen || (seen.version !== preferred.get(r.group) && r.version === preferred.get(r.group))) chosen.set(r.storageResource, r);
    }
    const lists = new Map<string, ApiResourceList>();
    for (const r of chosen.values()) {
      const groupVersion = r.apiVersion;
      let list = lists.get(groupVersion);
      if (!list) lists.set(groupVersion, (list = { groupVersion, resources: [] }));
      list.resources.push({ name: r.plural, namespaced: r.namespaced, verbs: [...r.verbs] });
    }
    return { lists: [...lists.values()] };
  };
}

/** Upstream's message for a discovery that missed some groups. */
export function discoveryFailureMessage(failedGroups: Map<string, string>): string {
  const groups = [...failedGroups].map(([gv, why]) => `${gv}: ${why}`).sort();
  return `Discovery failed for some groups, ${failedGroups.size} failing: unable to retrieve the complete list of server APIs: ${groups.join(', ')}`;
}

/** "apps/v1" → {group: apps, version: v1}; "v1" → core. Throws on anything else. */
export function parseGroupVersion(groupVersion: string): { group: string; version: string } {
  const parts = groupVersion.split('/');
  if (parts.length === 1 && parts[0]) return { group: '', version: parts[0] };
  if (parts.length === 2 && parts[0] && parts[1]) return { group: parts[0], version: parts[1] };
  throw new Error(`unexpected GroupVersion string: ${groupVersion}`);
}

/** The namespaced resources that support delete, and the group versions that did not parse. */
export function deletableResources(lists: readonly ApiResourceList[]): { resources: DeletableResource[]; parseErrors: string[] } {
  const resources: DeletableResource[] = [];
  const parseErrors: string[] = [];
  for (const list of lists) {
    let gv: { group: string; version: string };
    try {
      gv = parseGroupVersion(list.groupVersion);
    } catch (error) {
      parseErrors.push((error as Error).message);
      continue;
    }
    for (const r of list.resources) {
      // Subresources ("pods/status") are served under their parent.
      if (!r.namespaced || r.name.includes('/') || !r.verbs.includes('delete')) continue;
      resources.push({ ...gv, resource: r.name, list: r.verbs.includes('list'), deleteCollection: r.verbs.includes('deletecollection') });
    }
  }
  return { resources, parseErrors };
}
