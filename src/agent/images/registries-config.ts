// `--registries-config FILE` in k3s's registries.yaml shape:
//
//   mirrors:
//     docker.io:
//       endpoint: ["http://127.0.0.1:5000", "https://mirror.example.com"]
//     "*": { endpoint: [...] }              # every registry without its own entry
//   configs:
//     mirror.example.com:                   # keyed by endpoint host (or registry name)
//       auth: { username, password, auth, identitytoken }
//       tls: { ca_file, cert_file, key_file, insecure_skip_verify }
//
// Endpoints are tried in order, then the registry's own default endpoint.
// An `http://` endpoint is plain HTTP; registries on loopback addresses use
// plain HTTP without any configuration, as Docker allows.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { credentialsFromEntry, type RegistryCredentials } from './credentials.ts';
import { DEFAULT_DOMAIN, DEFAULT_REGISTRY_ENDPOINT, isLoopbackHost } from './reference.ts';

export interface RegistryTlsConfig {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  insecureSkipVerify?: boolean;
}

export interface RegistryHostConfig {
  auth?: RegistryCredentials;
  tls?: RegistryTlsConfig;
}

export interface RegistriesConfig {
  mirrors: Record<string, { endpoints: string[] }>;
  configs: Record<string, RegistryHostConfig>;
}

/** One place to ask for a repository's content. */
export interface RegistryEndpoint {
  /** Base URL of the API, ending in `/v2`: `https://registry-1.docker.io/v2`. */
  apiBase: string;
  /** `host[:port]` of the endpoint, for messages and token caching. */
  host: string;
  tls?: RegistryTlsConfig;
  /** Credentials from registries.yaml for this endpoint (pull secrets come first). */
  auth?: RegistryCredentials;
  /** The registry's own endpoint rather than a mirror. */
  isDefault: boolean;
}

export const EMPTY_REGISTRIES_CONFIG: RegistriesConfig = { mirrors: {}, configs: {} };

function asObject(value: unknown, where: string): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`registries config: ${where} must be a mapping`);
  return value as Record<string, unknown>;
}

/** Parses registries.yaml text; unknown keys (k3s's `rewrite`, …) are ignored. */
export function parseRegistriesConfig(text: string): RegistriesConfig {
  const root = asObject(parseYaml(text), 'the document');
  const mirrors: RegistriesConfig['mirrors'] = {};
  for (const [host, raw] of Object.entries(asObject(root.mirrors, 'mirrors'))) {
    const endpoint = asObject(raw, `mirrors.${host}`).endpoint ?? [];
    if (!Array.isArray(endpoint) || !endpoint.every((e) => typeof e === 'string')) throw new Error(`registries config: mirrors.${host}.endpoint must be a list of URLs`);
    mirrors[host] = { endpoints: endpoint as string[] };
  }
  const configs: RegistriesConfig['configs'] = {};
  for (const [host, raw] of Object.entries(asObject(root.configs, 'configs'))) {
    const entry = asObject(raw, `configs.${host}`);
    const auth = asObject(entry.auth, `configs.${host}.auth`);
    const tls = asObject(entry.tls, `configs.${host}.tls`);
    const config: RegistryHostConfig = {};
    if (Object.keys(auth).length > 0) {
      config.auth = credentialsFromEntry({
        username: auth.username as string | undefined,
        password: auth.password as string | undefined,
        auth: auth.auth as string | undefined,
        identitytoken: (auth.identitytoken ?? auth.identity_token) as string | undefined,
      });
      if (typeof auth.token === 'string') config.auth.registryToken = auth.token;
    }
    if (Object.keys(tls).length > 0) {
      config.tls = {
        caFile: tls.ca_file as string | undefined,
        certFile: tls.cert_file as string | undefined,
        keyFile: tls.key_file as string | undefined,
        insecureSkipVerify: tls.insecure_skip_verify === true,
      };
    }
    configs[host] = config;
  }
  return { mirrors, configs };
}

export function loadRegistriesConfig(file: string | undefined): RegistriesConfig {
  if (!file) return EMPTY_REGISTRIES_CONFIG;
  return parseRegistriesConfig(readFileSync(file, 'utf8'));
}

/** `http://h:5000/prefix` → `{ apiBase: 'http://h:5000/prefix/v2', host: 'h:5000' }` (scheme defaults to https). */
function endpointUrl(raw: string): { apiBase: string; host: string } {
  const url = new URL(/^[a-z]+:\/\//i.test(raw) ? raw : `https://${raw}`);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`registries config: endpoint ${raw} is neither http nor https`);
  let path = url.pathname.replace(/\/+$/, '');
  if (!path.endsWith('/v2')) path += '/v2';
  return { apiBase: `${url.protocol}//${url.host}${path}`, host: url.host };
}

/** The registry's own endpoint: Docker Hub's is registry-1.docker.io; loopback hosts speak plain HTTP. */
export function defaultEndpointUrl(registry: string): string {
  if (registry === DEFAULT_DOMAIN) return DEFAULT_REGISTRY_ENDPOINT;
  return `${isLoopbackHost(registry) ? 'http' : 'https'}://${registry}`;
}

/** Endpoints to try, in order, for images of `registry` (a reference's domain). */
export function endpointsFor(options: { config?: RegistriesConfig; registry: string }): RegistryEndpoint[] {
  const config = options.config ?? EMPTY_REGISTRIES_CONFIG;
  const { registry } = options;
  const mirror = config.mirrors[registry] ?? config.mirrors['*'];
  const hostConfig = (host: string, isDefault: boolean) =>
    config.configs[host] ?? (isDefault ? config.configs[registry] : undefined) ?? config.configs['*'];
  const endpoints: RegistryEndpoint[] = [];
  const add = (raw: string, isDefault: boolean) => {
    const { apiBase, host } = endpointUrl(raw);
    if (endpoints.some((e) => e.apiBase === apiBase)) return;
    const hc = hostConfig(host, isDefault);
    endpoints.push({ apiBase, host, tls: hc?.tls, auth: hc?.auth, isDefault });
  };
  for (const raw of mirror?.endpoints ?? []) add(raw, false);
  add(defaultEndpointUrl(registry), true);
  return endpoints;
}
