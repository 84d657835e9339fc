// Which Ingresses this controller serves, and the route table built from
// them: request host + path → the backend, with networking.k8s.io/v1's
// matching rules.
//
// Hosts: a rule's host matches the request's Host exactly (case-insensitively,
// port stripped), or `*.example.com` matches exactly one more label
// (`a.example.com`, not `example.com` nor `a.b.example.com`). A rule without
// host matches every host. Like ingress-nginx's one-server-per-host layout,
// the most specific host group answers alone: exact host, else wildcard,
// else the host-less rules — a request for a known host whose paths do not
// match does not fall through to the host-less rules.
//
// Paths: Exact compares the whole path; Prefix compares element-wise on `/`
// (`/foo` matches `/foo`, `/foo/` and `/foo/bar`, not `/foobar`; a trailing
// slash in the rule is ignored); ImplementationSpecific is treated as Prefix.
// The longest matching path wins; on equal length Exact beats Prefix; on a
// full tie the older Ingress (creationTimestamp, then namespace/name) wins.
//
// When nothing matches: the defaultBackend of an Ingress that has rules for the
// chosen host group, else the defaultBackend of any served Ingress (oldest
// first), else no route (the proxy answers 404).
import { objectKey } from '../../client/cache.ts';
import {
  CONTROLLER_NAME, DEFAULT_CLASS_ANNOTATION, DEFAULT_CLASS_NAME, LEGACY_CLASS_ANNOTATION,
  type Ingress, type IngressBackend, type IngressClass,
} from './types.ts';

export interface ClassSelection {
  /** The IngressClass name this controller answers to (default `skiff`). */
  className?: string;
  /** The `spec.controller` of IngressClasses that are ours (default `skiff.dev/ingress-controller`). */
  controller?: string;
}

/**
 * Whether an Ingress is ours: the legacy `kubernetes.io/ingress.class`
 * annotation naming one of our classes (it takes precedence when present),
 * `spec.ingressClassName` naming one, or no class at all while one of our
 * IngressClasses is marked default.
 */
export function isServedIngress(ingress: Ingress, classes: IngressClass[], selection: ClassSelection = {}): boolean {
  const className = selection.className ?? DEFAULT_CLASS_NAME;
  const controller = selection.controller ?? CONTROLLER_NAME;
  const ours = classes.filter((c) => c.spec?.controller === controller);
  const names = new Set([className, ...ours.map((c) => c.metadata.name!)]);
  const legacy = ingress.metadata.annotations?.[LEGACY_CLASS_ANNOTATION];
  if (legacy !== undefined) return names.has(legacy);
  const named = ingress.spec?.ingressClassName;
  if (named) return names.has(named);
  return ours.some((c) => c.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true');
}

/** What a request is routed to. */
export interface RouteMatch {
  /** The Ingress's namespace: its backends' Services live there. */
  namespace: string;
  backend: IngressBackend;
  /** `namespace/name` of the Ingress the route came from (logs). */
  ingress: string;
}

/** A TLS section that may serve a server name. */
export interface TlsCandidate {
  namespace: string;
  secretName: string;
  /** No hosts listed: the certificate's own names decide (tls.ts checks them). */
  anyHost: boolean;
}

interface Route {
  pathType: 'Exact' | 'Prefix';
  /** Exact: the path as written. Prefix: without its trailing slash ('' for `/`), so lengths rank matches. */
  path: string;
  segments: string[];
  order: number;
  match: RouteMatch;
}

interface HostGroup {
  routes: Route[];
  defaultBackend?: RouteMatch;
}

/** `Host` header → the host name to match: lower case, no port, no trailing dot. */
export function normalizeHost(header: string | undefined): string {
  let host = (header ?? '').trim().toLowerCase();
  if (host.startsWith('[')) host = host.slice(0, host.indexOf(']') + 1 || undefined);
  else if (host.indexOf(':') === host.lastIndexOf(':')) host = host.replace(/:\d*$/, '');
  return host.replace(/\.$/, '');
}

/** The wildcard key a host falls under: `a.example.com` → `example.com` (for `*.example.com`). */
function wildcardParent(host: string): string | undefined {
  const dot = host.indexOf('.');
  return dot > 0 ? host.slice(dot + 1) : undefined;
}

const segmentsOf = (path: string) => path.split('/').filter(Boolean);

function pathMatches(route: Route, requestPath: string, requestSegments: string[]): boolean {
  if (route.pathType === 'Exact') return requestPath === route.path;
  if (route.segments.length > requestSegments.length) return false;
  return route.segments.every((segment, i) => requestSegments[i] === segment);
}

/** Oldest first, then by key: the stable order conflicts are decided in. */
function byAge(a: Ingress, b: Ingress): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ka = objectKey(a);
  const kb = objectKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

export class RouteTable {
  private readonly exact = new Map<string, HostGroup>();
  private readonly wildcard = new Map<string, HostGroup>();
  private readonly anyHost: HostGroup = { routes: [] };
  private fallback: RouteMatch | undefined;
  private readonly tlsExact = new Map<string, TlsCandidate[]>();
  private readonly tlsWildcard = new Map<string, TlsCandidate[]>();
  private readonly tlsAnyHost: TlsCandidate[] = [];

  /** Build from the Ingresses to serve (already filtered by class). */
  constructor(ingresses: Ingress[]) {
    let order = 0;
    for (const ingress of [...ingresses].sort(byAge)) {
      const namespace = ingress.metadata.namespace ?? 'default';
      const key = objectKey(ingress);
      const spec = ingress.spec ?? {};
      const defaultBackend = spec.defaultBackend ? { namespace, backend: spec.defaultBackend, ingress: key } : undefined;
      this.fallback ??= defaultBackend;
      for (const rule of spec.rules ?? []) {
        const group = this.groupFor(rule.host);
        if (defaultBackend) group.defaultBackend ??= defaultBackend;
        for (const path of rule.http?.paths ?? []) {
          const raw = path.path || '/';
          const normalized = raw.length > 1 ? raw.replace(/\/+$/, '') : '';
          group.routes.push({
            pathType: path.pathType === 'Exact' ? 'Exact' : 'Prefix',
            path: path.pathType === 'Exact' ? raw : normalized,
            segments: segmentsOf(raw),
            order: order++,
            match: { namespace, backend: path.backend, ingress: key },
          });
        }
      }
      for (const tls of spec.tls ?? []) {
        if (!tls.secretName) continue;
        const hosts = tls.hosts ?? [];
        if (hosts.length === 0) this.tlsAnyHost.push({ namespace, secretName: tls.secretName, anyHost: true });
        for (const host of hosts) {
          const candidate = { namespace, secretName: tls.secretName, anyHost: false };
          const name = host.toLowerCase();
          const [map, hostKey] = name.startsWith('*.') ? [this.tlsWildcard, name.slice(2)] : [this.tlsExact, name];
          map.set(hostKey, [...(map.get(hostKey) ?? []), candidate]);
        }
      }
    }
    for (const group of [...this.exact.values(), ...this.wildcard.values(), this.anyHost]) {
      group.routes.sort((a, b) => b.path.length - a.path.length
        || (a.pathType === b.pathType ? 0 : a.pathType === 'Exact' ? -1 : 1)
        || a.order - b.order);
    }
  }

  private groupFor(host: string | undefined): HostGroup {
    if (!host) return this.anyHost;
    const name = host.toLowerCase();
    const [map, key] = name.startsWith('*.') ? [this.wildcard, name.slice(2)] : [this.exact, name];
    let group = map.get(key);
    if (!group) map.set(key, (group = { routes: [] }));
    return group;
  }

  /** The backend for a request, or undefined (404). `host` is the raw Host header; `path` may carry a query. */
  match(host: string | undefined, path: string): RouteMatch | undefined {
    const name = normalizeHost(host);
    const parent = wildcardParent(name);
    const group = this.exact.get(name) ?? (parent !== undefined ? this.wildcard.get(parent) : undefined) ?? this.anyHost;
    const requestPath = pathOnly(path);
    const requestSegments = segmentsOf(requestPath);
    for (const route of group.routes) if (pathMatches(route, requestPath, requestSegments)) return route.match;
    return group.defaultBackend ?? this.fallback;
  }

  /** TLS sections that may serve `serverName`, best first: exact host, wildcard, then sections without hosts. */
  tlsCandidates(serverName: string): TlsCandidate[] {
    const name = normalizeHost(serverName);
    const parent = wildcardParent(name);
    return [
      ...(this.tlsExact.get(name) ?? []),
      ...(parent !== undefined ? this.tlsWildcard.get(parent) ?? [] : []),
      ...this.tlsAnyHost,
    ];
  }
}

/** The path of a request target, without query or fragment ('/' when empty or absolute-form without path). */
export function pathOnly(target: string): string {
  let path = target;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
    const afterScheme = path.indexOf('/', path.indexOf('//') + 2);
    path = afterScheme < 0 ? '/' : path.slice(afterScheme);
  }
  const end = path.search(/[?#]/);
  if (end >= 0) path = path.slice(0, end);
  return path || '/';
}
