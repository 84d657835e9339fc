// Registry credentials, and how imagePullSecrets turn into them. A secret of
// type kubernetes.io/dockerconfigjson holds `{"auths": {KEY: {auth|username,
// password, identitytoken}}}`; kubelet matches KEY against the image's
// repository (host globs like `*.example.com`, path prefixes, most specific
// first) and falls back to Docker Hub's `index.docker.io` entries for Hub
// images. We do the same, so a secret that works upstream works here.

export interface RegistryCredentials {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token (docker login with an identity provider). */
  identityToken?: string;
  /** A bearer token sent as is, without a token-server round trip. */
  registryToken?: string;
}

interface DockerConfigEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
}

/** Turns one docker config entry (`auth` wins over username/password, as in kubelet) into credentials. */
export function credentialsFromEntry(entry: DockerConfigEntry): RegistryCredentials {
  const creds: RegistryCredentials = {};
  if (entry.username) creds.username = entry.username;
  if (entry.password) creds.password = entry.password;
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new Error('docker config auth is not base64 "username:password"');
    creds.username = decoded.slice(0, colon);
    creds.password = decoded.slice(colon + 1);
  }
  if (entry.identitytoken) creds.identityToken = entry.identitytoken;
  if (entry.registrytoken) creds.registryToken = entry.registrytoken;
  return creds;
}

const DEFAULT_REGISTRY_KEY_HOST = 'index.docker.io';

/** A config key as kubelet stores it: scheme dropped, `/v1/` and `/v2/` meaning the bare host. */
function keyOf(location: string): { host: string; path: string } {
  const url = new URL(/^https?:\/\//.test(location) ? location : `https://${location}`);
  let path = url.pathname;
  if (path.startsWith('/v1/') || path.startsWith('/v2/')) path = path.slice(3);
  if (path === '/') path = '';
  return { host: url.host, path };
}

function globMatch(pattern: string, value: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^.]*')}$`);
  return re.test(value);
}

/** kubelet's URLsMatch: same number of host labels each matching its glob, same port, path prefix. */
function keyMatches(key: { host: string; path: string }, repository: string): boolean {
  const slash = repository.indexOf('/');
  const repoHost = slash < 0 ? repository : repository.slice(0, slash);
  const repoPath = slash < 0 ? '' : repository.slice(slash);
  const [keyName, keyPort = ''] = splitPort(key.host);
  const [repoName, repoPort = ''] = splitPort(repoHost);
  if (keyPort !== repoPort) return false;
  const keyLabels = keyName.split('.');
  const repoLabels = repoName.split('.');
  if (keyLabels.length !== repoLabels.length) return false;
  if (!keyLabels.every((label, i) => globMatch(label, repoLabels[i]))) return false;
  return repoPath.startsWith(key.path);
}

function splitPort(host: string): [string, string?] {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(host);
  return m ? [m[1], m[2]] : [host];
}

function isDockerHub(repository: string): boolean {
  const first = repository.split('/')[0];
  return first === 'docker.io' || first === DEFAULT_REGISTRY_KEY_HOST;
}

/**
 * The credentials a `.dockerconfigjson` (or legacy `.dockercfg`) payload
 * offers for `repository` (`host/path`, e.g. `docker.io/library/busybox`),
 * most specific key first; empty when none applies.
 */
export function credentialsFromDockerConfigJson(options: { payload: string | Uint8Array; repository: string }): RegistryCredentials[] {
  const text = typeof options.payload === 'string' ? options.payload : Buffer.from(options.payload).toString('utf8');
  const parsed = JSON.parse(text) as { auths?: Record<string, DockerConfigEntry> } & Record<string, DockerConfigEntry>;
  const entries: Record<string, DockerConfigEntry> = parsed.auths && typeof parsed.auths === 'object' ? parsed.auths : parsed;
  const byKey = new Map<string, RegistryCredentials[]>();
  for (const [location, entry] of Object.entries(entries)) {
    if (!entry || typeof entry !== 'object') continue;
    const key = keyOf(location);
    const name = key.host + key.path;
    byKey.set(name, [...(byKey.get(name) ?? []), credentialsFromEntry(entry)]);
  }
  // Reverse lexical order puts longer (more specific) paths of one host first, as kubelet does.
  const keys = [...byKey.keys()].sort().reverse();
  const matched = keys.filter((k) => keyMatches(keyOf(k), options.repository)).flatMap((k) => byKey.get(k)!);
  if (matched.length > 0) return matched;
  if (isDockerHub(options.repository)) return byKey.get(DEFAULT_REGISTRY_KEY_HOST) ?? [];
  return [];
}
