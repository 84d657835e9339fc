// Parses a request path into what it addresses, in the manner of upstream's
// RequestInfo: API prefix, group, version, namespace, resource, name,
// subresource and verb. Non-resource paths (/version, /healthz …) have
// isResourceRequest = false.

export interface RequestInfo {
  isResourceRequest: boolean;
  path: string;
  /** get list watch create update patch delete deletecollection (resource requests). */
  verb: string;
  group: string;
  version: string;
  namespace?: string;
  /** Plural resource name. */
  resource?: string;
  name?: string;
  subresource?: string;
  /** Path segments after /api or /apis (for discovery requests). */
  parts: string[];
}

/** Namespace subresources addressed as /api/v1/namespaces/NAME/<sub>. */
const namespaceSubresources = new Set(['status', 'finalize']);

export function parseRequestInfo(method: string, pathname: string, query: URLSearchParams): RequestInfo {
  const segments = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const info: RequestInfo = { isResourceRequest: false, path: pathname, verb: method.toLowerCase(), group: '', version: '', parts: segments };
  let rest: string[];
  if (segments[0] === 'api') {
    if (segments.length < 2) return info;
    info.version = segments[1];
    rest = segments.slice(2);
  } else if (segments[0] === 'apis') {
    if (segments.length < 3) return info;
    info.group = segments[1];
    info.version = segments[2];
    rest = segments.slice(3);
  } else {
    return info;
  }
  if (rest.length === 0) return info;

  let watchPath = false;
  if (rest[0] === 'watch') {
    watchPath = true;
    rest = rest.slice(1);
    if (rest.length === 0) return info;
  }
  if (rest[0] === 'namespaces' && rest.length > 1) {
    info.namespace = rest[1];
    if (rest.length > 2 && !namespaceSubresources.has(rest[2])) rest = rest.slice(2);
    else rest = ['namespaces', rest[1], ...rest.slice(2)];
  }
  info.isResourceRequest = true;
  info.resource = rest[0];
  if (rest.length > 1) info.name = rest[1];
  if (rest.length > 2) info.subresource = rest[2];
  // proxy/{path}: the path belongs to the proxied request (and must not become a metrics label).
  if (rest.length > 3) info.subresource = rest[2] === 'proxy' ? 'proxy' : rest.slice(2).join('/');
  if (info.resource === 'namespaces') delete info.namespace;

  const method_ = method.toUpperCase();
  const isWatch = watchPath || parseBool(query.get('watch'));
  if (method_ === 'GET' || method_ === 'HEAD') info.verb = isWatch ? 'watch' : info.name ? 'get' : 'list';
  else if (method_ === 'POST') info.verb = 'create';
  else if (method_ === 'PUT') info.verb = 'update';
  else if (method_ === 'PATCH') info.verb = 'patch';
  else if (method_ === 'DELETE') info.verb = info.name ? 'delete' : 'deletecollection';
  // Watching a single object by name is a list+watch with a name field selector upstream.
  return info;
}

/** Boolean query parameters as Go's strconv.ParseBool reads them (clients send "true", "True", "1"). */
export function parseBool(value: string | null): boolean {
  return value !== null && ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value);
}
