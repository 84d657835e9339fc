// Reading a kubeconfig (the standard file kubectl uses) into REST client
// options: the current context's cluster (server, CA) and user (client
// certificate, bearer token). Embedded *-data fields and file references are
// both accepted; relative file paths resolve against the kubeconfig's folder,
// as kubectl does.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';

/** The connection facts a kubeconfig provides (a subset of RestClientOptions). */
export interface KubeconfigCredentials {
  server: string;
  /** PEM; absent when the kubeconfig relies on the system trust store. */
  caCert?: string;
  token?: string;
  clientCert?: string;
  clientKey?: string;
  /** `insecure-skip-tls-verify: true` in the cluster entry. */
  insecureSkipTlsVerify?: boolean;
}

export interface LoadKubeconfigOptions {
  /** Use this context instead of `current-context`. */
  context?: string;
}

type Entry = Record<string, unknown>;

function named(list: unknown, name: string, what: string, path: string): Entry {
  const found = Array.isArray(list) ? list.find((e) => (e as Entry)?.name === name) as Entry | undefined : undefined;
  const body = found?.[what];
  if (!body || typeof body !== 'object') throw new Error(`${path}: no ${what} named "${name}"`);
  return body as Entry;
}

export function loadKubeconfig(path: string, options: LoadKubeconfigOptions = {}): KubeconfigCredentials {
  const config = parse(readFileSync(path, 'utf8')) as Entry | null;
  if (!config || typeof config !== 'object') throw new Error(`${path}: not a kubeconfig`);
  const contextName = options.context ?? config['current-context'];
  if (typeof contextName !== 'string' || contextName === '') throw new Error(`${path}: no current-context`);
  const context = named(config.contexts, contextName, 'context', path);
  const cluster = named(config.clusters, String(context.cluster), 'cluster', path);
  // A context without a user is legal (anonymous access).
  const user = context.user ? named(config.users, String(context.user), 'user', path) : {};

  const base = dirname(path);
  /** The PEM text of an embedded `<field>-data` (base64) or a referenced `<field>` file. */
  const pem = (entry: Entry, field: string): string | undefined => {
    const data = entry[`${field}-data`];
    if (typeof data === 'string' && data !== '') return Buffer.from(data, 'base64').toString('utf8');
    const file = entry[field];
    if (typeof file === 'string' && file !== '') return readFileSync(isAbsolute(file) ? file : join(base, file), 'utf8');
    return undefined;
  };

  if (typeof cluster.server !== 'string' || cluster.server === '') throw new Error(`${path}: cluster "${String(context.cluster)}" has no server`);
  let token = typeof user.token === 'string' && user.token !== '' ? user.token : undefined;
  if (!token && typeof user.tokenFile === 'string') {
    token = readFileSync(isAbsolute(user.tokenFile) ? user.tokenFile : join(base, user.tokenFile), 'utf8').trim();
  }
  const credentials: KubeconfigCredentials = {
    server: cluster.server,
    caCert: pem(cluster, 'certificate-authority'),
    token,
    clientCert: pem(user, 'client-certificate'),
    clientKey: pem(user, 'client-key'),
  };
  if (cluster['insecure-skip-tls-verify'] === true) credentials.insecureSkipTlsVerify = true;
  if ((credentials.clientCert === undefined) !== (credentials.clientKey === undefined)) {
    throw new Error(`${path}: user "${String(context.user)}" needs both a client certificate and a key`);
  }
  return credentials;
}
