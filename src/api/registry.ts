// The kind registry: every served resource with its group/version/kind,
// plural and singular names, scope, verbs, short names, categories and
// subresources. Built from the generated schema facts plus the small table of
// facts the OpenAPI document does not carry (short names, categories).
import { loadSchemaFacts, type ResourceFacts, type SubresourceFacts, type SchemaFacts } from './schema/facts.ts';

export interface ResourceInfo {
  group: string;
  version: string;
  kind: string;
  listKind: string;
  /** Plural resource name, as in the URL: "deployments". */
  plural: string;
  singular: string;
  namespaced: boolean;
  verbs: string[];
  shortNames: string[];
  categories: string[];
  subresources: Record<string, SubresourceFacts>;
  /** "apps/v1" or "v1". */
  apiVersion: string;
  /** Storage key segment shared by every version of the resource: "apps/deployments", "core/pods". */
  storageResource: string;
}

/** Short names and categories kubectl shows in `api-resources` (not in the OpenAPI document). */
const extraFacts: Record<string, { shortNames?: string[]; categories?: string[] }> = {
  '/pods': { shortNames: ['po'], categories: ['all'] },
  '/services': { shortNames: ['svc'], categories: ['all'] },
  '/replicationcontrollers': { shortNames: ['rc'], categories: ['all'] },
  '/configmaps': { shortNames: ['cm'] },
  '/endpoints': { shortNames: ['ep'] },
  '/events': { shortNames: ['ev'] },
  '/limitranges': { shortNames: ['limits'] },
  '/namespaces': { shortNames: ['ns'] },
  '/nodes': { shortNames: ['no'] },
  '/persistentvolumeclaims': { shortNames: ['pvc'] },
  '/persistentvolumes': { shortNames: ['pv'] },
  '/resourcequotas': { shortNames: ['quota'] },
  '/serviceaccounts': { shortNames: ['sa'] },
  '/componentstatuses': { shortNames: ['cs'] },
  'apps/deployments': { shortNames: ['deploy'], categories: ['all'] },
  'apps/replicasets': { shortNames: ['rs'], categories: ['all'] },
  'apps/statefulsets': { shortNames: ['sts'], categories: ['all'] },
  'apps/daemonsets': { shortNames: ['ds'], categories: ['all'] },
  'batch/jobs': { categories: ['all'] },
  'batch/cronjobs': { shortNames: ['cj'], categories: ['all'] },
  'autoscaling/horizontalpodautoscalers': { shortNames: ['hpa'], categories: ['all'] },
  'apiextensions.k8s.io/customresourcedefinitions': { shortNames: ['crd', 'crds'], categories: ['api-extensions'] },
  'apiregistration.k8s.io/apiservices': { categories: ['api-extensions'] },
  'admissionregistration.k8s.io/mutatingwebhookconfigurations': { categories: ['api-extensions'] },
  'admissionregistration.k8s.io/validatingwebhookconfigurations': { categories: ['api-extensions'] },
  'admissionregistration.k8s.io/validatingadmissionpolicies': { categories: ['api-extensions'] },
  'admissionregistration.k8s.io/validatingadmissionpolicybindings': { categories: ['api-extensions'] },
  'admissionregistration.k8s.io/mutatingadmissionpolicies': { categories: ['api-extensions'] },
  'admissionregistration.k8s.io/mutatingadmissionpolicybindings': { categories: ['api-extensions'] },
  'certificates.k8s.io/certificatesigningrequests': { shortNames: ['csr'] },
  'events.k8s.io/events': { shortNames: ['ev'] },
  'networking.k8s.io/ingresses': { shortNames: ['ing'] },
  'networking.k8s.io/networkpolicies': { shortNames: ['netpol'] },
  'policy/poddisruptionbudgets': { shortNames: ['pdb'] },
  'scheduling.k8s.io/priorityclasses': { shortNames: ['pc'] },
  'storage.k8s.io/storageclasses': { shortNames: ['sc'] },
};

/**
 * Where several versions of one resource are served (autoscaling v1 and v2),
 * the preferred version is the one discovery lists first and storage uses.
 */
const preferredVersions: Record<string, string> = { autoscaling: 'v2' };

export class KindRegistry {
  readonly resources: ResourceInfo[];
  private readonly byPath = new Map<string, ResourceInfo>();
  private readonly byKind = new Map<string, ResourceInfo>();

  constructor(facts: SchemaFacts = loadSchemaFacts()) {
    this.resources = facts.resources.map(toResourceInfo);
    // Without conversion between versions (not built yet), a resource served in two
    // versions (autoscaling v1 and v2) keeps each version's objects apart.
    const versionsOf = new Map<string, number>();
    for (const r of this.resources) versionsOf.set(r.storageResource, (versionsOf.get(r.storageResource) ?? 0) + 1);
    for (const r of this.resources) if (versionsOf.get(r.storageResource)! > 1) r.storageResource += `/${r.version}`;
    for (const r of this.resources) {
      this.byPath.set(`${r.group}/${r.version}/${r.plural}`, r);
      this.byKind.set(`${r.group}/${r.version}/${r.kind}`, r);
    }
  }

  /** The resource served at /apis/<group>/<version>/<plural> (group '' = core). */
  lookup(group: string, version: string, plural: string): ResourceInfo | undefined {
    return this.byPath.get(`${group}/${version}/${plural}`);
  }

  lookupKind(group: string, version: string, kind: string): ResourceInfo | undefined {
    return this.byKind.get(`${group}/${version}/${kind}`);
  }

  /** Groups with their versions, preferred version first, in discovery order (core first). */
  groups(): { name: string; versions: string[]; preferred: string }[] {
    const map = new Map<string, string[]>();
    for (const r of this.resources) {
      const versions = map.get(r.group) ?? [];
      if (!versions.includes(r.version)) versions.push(r.version);
      map.set(r.group, versions);
    }
    return [...map.entries()].map(([name, versions]) => {
      const preferred = preferredVersions[name] ?? versions[0];
      return { name, versions: [preferred, ...versions.filter((v) => v !== preferred)], preferred };
    });
  }

  resourcesIn(group: string, version: string): ResourceInfo[] {
    return this.resources.filter((r) => r.group === group && r.version === version);
  }
}

function toResourceInfo(facts: ResourceFacts): ResourceInfo {
  const extra = extraFacts[`${facts.group}/${facts.plural}`] ?? {};
  return {
    ...facts,
    listKind: `${facts.kind}List`,
    singular: facts.kind.toLowerCase(),
    shortNames: extra.shortNames ?? [],
    categories: extra.categories ?? [],
    apiVersion: facts.group ? `${facts.group}/${facts.version}` : facts.version,
    storageResource: `${facts.group || 'core'}/${facts.plural}`,
  };
}

let shared: KindRegistry | undefined;
/** The process-wide registry of built-in kinds. */
export function builtinKinds(): KindRegistry {
  shared ??= new KindRegistry();
  return shared;
}
