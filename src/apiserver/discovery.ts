// API discovery documents: legacy (APIVersions, APIGroupList, APIGroup,
// APIResourceList) and aggregated (apidiscovery.k8s.io v2 / v2beta1, chosen by
// the Accept header). Built once from the kind registry and cached.
import { createHash } from 'node:crypto';
import type { KindRegistry, ResourceInfo } from '../api/registry.ts';

export const AGGREGATED_V2 = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';
export const AGGREGATED_V2BETA1 = 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList';

/** Which aggregated discovery version the Accept header prefers, if any. */
export function wantsAggregated(accept: string | undefined): 'v2' | 'v2beta1' | undefined {
  if (!accept) return undefined;
  for (const part of accept.split(',')) {
    const params = part.split(';').map((p) => p.trim());
    if (!params.includes('g=apidiscovery.k8s.io') || !params.includes('as=APIGroupDiscoveryList')) continue;
    if (params.includes('v=v2')) return 'v2';
    if (params.includes('v=v2beta1')) return 'v2beta1';
  }
  return undefined;
}

const storageVersionHash = (r: ResourceInfo) =>
  createHash('sha256').update(`${r.group}/${r.version}/${r.kind}`).digest('base64').slice(0, 11);

/** What discovery lists: the kind registry, plus groups served by handlers of their own (metrics.k8s.io). */
type DiscoverySource = Pick<KindRegistry, 'groups' | 'resourcesIn'>;

function withExtraResources(registry: KindRegistry, extra: readonly ResourceInfo[]): DiscoverySource {
  if (extra.length === 0) return registry;
  return {
    groups: () => {
      const groups = registry.groups();
      for (const r of extra) {
        const group = groups.find((g) => g.name === r.group);
        if (!group) groups.push({ name: r.group, versions: [r.version], preferred: r.version });
        else if (!group.versions.includes(r.version)) group.versions.push(r.version);
      }
      return groups;
    },
    resourcesIn: (group, version) => [...registry.resourcesIn(group, version), ...extra.filter((r) => r.group === group && r.version === version)],
  };
}

export class Discovery {
  private readonly registry: DiscoverySource;
  private readonly cache = new Map<string, string>();

  constructor(registry: KindRegistry, options: { extraResources?: readonly ResourceInfo[] } = {}) {
    this.registry = withExtraResources(registry, options.extraResources ?? []);
  }

  private cached(key: string, build: () => unknown): string {
    let text = this.cache.get(key);
    if (text === undefined) {
      text = JSON.stringify(build());
      this.cache.set(key, text);
    }
    return text;
  }

  apiVersions(serverAddress: string): string {
    return this.cached(`api:${serverAddress}`, () => ({
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
    }));
  }

  private groupEntry(group: { name: string; versions: string[]; preferred: string }) {
    const gv = (v: string) => ({ groupVersion: `${group.name}/${v}`, version: v });
    return { name: group.name, versions: group.versions.map(gv), preferredVersion: gv(group.preferred) };
  }

  apiGroupList(): string {
    return this.cached('apis', () => ({
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: this.registry.groups().filter((g) => g.name !== '').map((g) => this.groupEntry(g)),
    }));
  }

  /** undefined when the group is not served. */
  apiGroup(name: string): string | undefined {
    const group = this.registry.groups().find((g) => g.name === name && name !== '');
    if (!group) return undefined;
    return this.cached(`group:${name}`, () => ({ kind: 'APIGroup', apiVersion: 'v1', ...this.groupEntry(group) }));
  }

  /** undefined when the group/version is not served. */
  resourceList(group: string, version: string): string | undefined {
    const resources = this.registry.resourcesIn(group, version);
    if (resources.length === 0) return undefined;
    return this.cached(`resources:${group}/${version}`, () => ({
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: group ? `${group}/${version}` : version,
      resources: resources.flatMap((r) => [
        {
          name: r.plural,
          singularName: r.singular,
          namespaced: r.namespaced,
          kind: r.kind,
          verbs: r.verbs,
          ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
          ...(r.categories.length ? { categories: r.categories } : {}),
          storageVersionHash: storageVersionHash(r),
        },
        ...Object.entries(r.subresources).map(([name, sub]) => ({
          name: `${r.plural}/${name}`,
          singularName: '',
          namespaced: r.namespaced,
          ...(sub.group !== r.group || sub.version !== r.version ? { group: sub.group, version: sub.version } : {}),
          kind: sub.kind,
          verbs: sub.verbs,
        })),
      ]),
    }));
  }

  /** Aggregated discovery for /api (legacy core group only) or /apis (all named groups). */
  aggregated(which: 'api' | 'apis', version: 'v2' | 'v2beta1'): string {
    return this.cached(`aggregated:${which}:${version}`, () => ({
      kind: 'APIGroupDiscoveryList',
      apiVersion: `apidiscovery.k8s.io/${version}`,
      metadata: {},
      items: this.registry.groups()
        .filter((g) => (which === 'api' ? g.name === '' : g.name !== ''))
        .map((g) => ({
          metadata: { name: g.name, creationTimestamp: null },
          versions: g.versions.map((v) => ({
            version: v,
            resources: this.registry.resourcesIn(g.name, v).map((r) => aggregatedResource(r)),
            freshness: 'Current',
          })),
        })),
    }));
  }

  contentTypeFor(version: 'v2' | 'v2beta1'): string {
    return version === 'v2' ? AGGREGATED_V2 : AGGREGATED_V2BETA1;
  }
}

function aggregatedResource(r: ResourceInfo) {
  return {
    resource: r.plural,
    responseKind: { group: r.group, version: r.version, kind: r.kind },
    scope: r.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: r.singular,
    verbs: r.verbs,
    ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
    ...(r.categories.length ? { categories: r.categories } : {}),
    ...(Object.keys(r.subresources).length
      ? {
          subresources: Object.entries(r.subresources).map(([name, sub]) => ({
            subresource: name,
            responseKind: { group: sub.group, version: sub.version, kind: sub.kind },
            verbs: sub.verbs,
          })),
        }
      : {}),
  };
}
