// The per-pod /etc/hosts and /etc/resolv.conf, with the kubelet's content:
// pure functions that compute them from the pod and the node's settings, and
// one writer that puts both files in the pod's directory (the runtime
// bind-mounts them into every container of the pod).
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface HostAlias {
  ip: string;
  hostnames?: string[];
}

export interface PodDnsConfigOption {
  name: string;
  value?: string;
}

export interface PodDnsConfig {
  nameservers?: string[];
  searches?: string[];
  options?: PodDnsConfigOption[];
}

/** The parts of a Pod these files depend on. */
export interface DnsPod {
  metadata: { name: string; namespace?: string; uid?: string };
  spec: {
    hostname?: string;
    subdomain?: string;
    hostNetwork?: boolean;
    dnsPolicy?: string;
    dnsConfig?: PodDnsConfig;
    hostAliases?: HostAlias[];
  };
}

/** A resolv.conf as three lists (what CRI calls DNSConfig). */
export interface ResolvConfig {
  nameservers: string[];
  searches: string[];
  options: string[];
}

/** A warning the kubelet turns into a pod event. */
export interface DnsWarning {
  reason: 'DNSConfigForming' | 'MissingClusterDNS';
  message: string;
}

// Upstream validation limits (ExpandedDNSConfig is GA).
const MAX_NAMESERVERS = 3;
const MAX_SEARCH_PATHS = 32;
const MAX_SEARCH_LIST_CHARS = 2048;
const MAX_SEARCH_PATH_LENGTH = 253;
const HOSTNAME_MAX_LENGTH = 63;

/** The pod's hostname (spec.hostname or its name, at most 63 characters) and domain (from spec.subdomain). */
export function podHostnameAndDomain(options: { pod: DnsPod; clusterDomain: string }): { hostname: string; domain: string } {
  const { pod, clusterDomain } = options;
  let hostname = pod.spec.hostname || pod.metadata.name;
  if (hostname.length > HOSTNAME_MAX_LENGTH) hostname = hostname.slice(0, HOSTNAME_MAX_LENGTH).replace(/[-.]+$/, '');
  const namespace = pod.metadata.namespace ?? 'default';
  const domain = pod.spec.subdomain ? `${pod.spec.subdomain}.${namespace}.svc.${clusterDomain}` : '';
  return { hostname, domain };
}

function hostAliasLines(hostAliases: HostAlias[] | undefined): string {
  if (!hostAliases?.length) return '';
  return '\n# Entries added by HostAliases.\n' + hostAliases.map((a) => `${a.ip}\t${(a.hostnames ?? []).join('\t')}\n`).join('');
}

/** /etc/hosts of a pod with its own network namespace. */
export function managedHostsContent(options: { podIps: string[]; hostname: string; domain: string; hostAliases?: HostAlias[] }): string {
  const { podIps, hostname, domain } = options;
  let text = '# Kubernetes-managed hosts file.\n'
    + '127.0.0.1\tlocalhost\n'
    + '::1\tlocalhost ip6-localhost ip6-loopback\n'
    + 'fe00::0\tip6-localnet\n'
    + 'fe00::0\tip6-mcastprefix\n'
    + 'fe00::1\tip6-allnodes\n'
    + 'fe00::2\tip6-allrouters\n';
  for (const ip of podIps) text += domain ? `${ip}\t${hostname}.${domain}\t${hostname}\n` : `${ip}\t${hostname}\n`;
  return text + hostAliasLines(options.hostAliases);
}

/** /etc/hosts of a hostNetwork pod: the node's own file plus the pod's host aliases. */
export function hostNetworkHostsContent(options: { nodeHosts: string; hostAliases?: HostAlias[] }): string {
  return '# Kubernetes-managed hosts file (host network).\n' + options.nodeHosts + hostAliasLines(options.hostAliases);
}

/** Parses resolv.conf: nameservers accumulate; the last `search` and `options` lines win. */
export function parseResolvConf(text: string): ResolvConfig {
  const config: ResolvConfig = { nameservers: [], searches: [], options: [] };
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed.startsWith('#')) continue;
    const [keyword, ...fields] = trimmed.split(/\s+/);
    if (keyword === 'nameserver' && fields[0]) config.nameservers.push(fields[0]);
    // The same domain with and without a trailing dot counts once.
    if (keyword === 'search') config.searches = fields.map((s) => s.replace(/\.$/, ''));
    if (keyword === 'options') config.options = fields;
  }
  return config;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

/** dnsConfig options override same-named ones; order of first appearance is kept. */
function mergeOptions(existing: string[], extra: PodDnsConfigOption[]): string[] {
  const byName = new Map<string, string>();
  for (const option of existing) {
    const colon = option.indexOf(':');
    if (colon === -1) byName.set(option, '');
    else byName.set(option.slice(0, colon), option.slice(colon + 1));
  }
  for (const option of extra) byName.set(option.name, option.value ?? '');
  return [...byName].map(([name, value]) => (value ? `${name}:${value}` : name));
}

function fitSearches(searches: string[], warnings: DnsWarning[]): string[] {
  let exceeded = searches.length > MAX_SEARCH_PATHS || searches.some((s) => s.length > MAX_SEARCH_PATH_LENGTH);
  let fitted = searches.slice(0, MAX_SEARCH_PATHS).filter((s) => s.length <= MAX_SEARCH_PATH_LENGTH);
  while (fitted.join(' ').length > MAX_SEARCH_LIST_CHARS) {
    fitted = fitted.slice(0, -1);
    exceeded = true;
  }
  if (exceeded) warnings.push({ reason: 'DNSConfigForming', message: `Search Line limits were exceeded, some search paths have been omitted, the applied search line is: ${fitted.join(' ')}` });
  return fitted;
}

function fitNameservers(nameservers: string[], warnings: DnsWarning[]): string[] {
  if (nameservers.length <= MAX_NAMESERVERS) return nameservers;
  const fitted = nameservers.slice(0, MAX_NAMESERVERS);
  warnings.push({ reason: 'DNSConfigForming', message: `Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: ${fitted.join(' ')}` });
  return fitted;
}

export interface PodDnsOptions {
  pod: DnsPod;
  /** The cluster DNS Service's address(es); empty: ClusterFirst falls back to Default, as upstream. */
  clusterDns: string[];
  clusterDomain: string;
  /** The node's resolv.conf (kubelet --resolv-conf), parsed; undefined when there is none ("" upstream). */
  hostResolvConf: ResolvConfig | undefined;
  /** The node's addresses, for the no-resolv.conf fallback (127.0.0.1 or ::1 per family). */
  nodeIps?: string[];
}

/** The pod's resolver configuration for its dnsPolicy and dnsConfig, and warnings for events. */
export function podDnsConfig(options: PodDnsOptions): { config: ResolvConfig; warnings: DnsWarning[] } {
  const { pod, clusterDns, clusterDomain, hostResolvConf } = options;
  const warnings: DnsWarning[] = [];
  const policy = pod.spec.dnsPolicy ?? 'ClusterFirst';
  let kind: 'cluster' | 'host' | 'none' = 'cluster';
  if (policy === 'None') kind = 'none';
  else if (policy === 'Default' || (policy === 'ClusterFirst' && pod.spec.hostNetwork)) kind = 'host';

  const host: ResolvConfig = {
    nameservers: [...(hostResolvConf?.nameservers ?? [])],
    searches: [...(hostResolvConf?.searches ?? [])],
    options: [...(hostResolvConf?.options ?? [])],
  };
  let config: ResolvConfig = host;
  if (kind === 'none') config = { nameservers: [], searches: [], options: [] };
  if (kind === 'cluster' && clusterDns.length > 0) {
    const namespace = pod.metadata.namespace ?? 'default';
    const clusterSearch = clusterDomain ? [`${namespace}.svc.${clusterDomain}`, `svc.${clusterDomain}`, clusterDomain] : [];
    config = { nameservers: [...clusterDns], searches: unique([...clusterSearch, ...host.searches]), options: ['ndots:5'] };
  } else if (kind === 'cluster') {
    const message = `kubelet does not have ClusterDNS IP configured and cannot create Pod using "ClusterFirst" policy. Falling back to "Default" policy.`;
    warnings.push({ reason: 'MissingClusterDNS', message: `pod: "${pod.metadata.name}_${pod.metadata.namespace ?? 'default'}(${pod.metadata.uid ?? ''})". ${message}` });
  }
  if (kind !== 'none' && !(kind === 'cluster' && clusterDns.length > 0) && hostResolvConf === undefined) {
    // No node resolv.conf: point at the node itself and disable search (upstream's "" --resolv-conf).
    const loopbacks = (options.nodeIps ?? []).map((ip) => (ip.includes(':') ? '::1' : '127.0.0.1'));
    config.nameservers = loopbacks.length ? loopbacks : ['127.0.0.1'];
    config.searches = ['.'];
  }

  const extra = pod.spec.dnsConfig;
  if (extra) {
    config = {
      nameservers: unique([...config.nameservers, ...(extra.nameservers ?? [])]),
      searches: unique([...config.searches, ...(extra.searches ?? [])]),
      options: mergeOptions(config.options, extra.options ?? []),
    };
  }
  config.nameservers = fitNameservers(config.nameservers, warnings);
  config.searches = fitSearches(config.searches, warnings);
  return { config, warnings };
}

/** resolv.conf text, in the order container runtimes write it: search, nameservers, options. */
export function resolvConfContent(config: ResolvConfig): string {
  let text = '';
  if (config.searches.length) text += `search ${config.searches.join(' ')}\n`;
  for (const server of config.nameservers) text += `nameserver ${server}\n`;
  if (config.options.length) text += `options ${config.options.join(' ')}\n`;
  return text;
}

export interface WritePodDnsFilesOptions {
  /** The pod's own directory under the agent's data dir. */
  podDir: string;
  pod: DnsPod;
  /** The pod's addresses (for its hostname line); the node's for hostNetwork pods. */
  podIps: string[];
  clusterDns: string[];
  clusterDomain?: string;
  /** The node's resolv.conf (default /etc/resolv.conf); null: none, as `--resolv-conf=""`. */
  hostResolvConfPath?: string | null;
  /** The node's hosts file for hostNetwork pods (default /etc/hosts). */
  hostHostsPath?: string;
  nodeIps?: string[];
}

export interface PodDnsFiles {
  hostsPath: string;
  resolvConfPath: string;
  warnings: DnsWarning[];
}

/**
 * Writes `<podDir>/etc-hosts` and `<podDir>/resolv.conf` (mode 0644). Written
 * in place, as the kubelet does, not by rename: containers that already
 * bind-mount the files keep seeing the same inode.
 */
export async function writePodDnsFiles(options: WritePodDnsFilesOptions): Promise<PodDnsFiles> {
  const { podDir, pod } = options;
  const clusterDomain = options.clusterDomain ?? 'cluster.local';
  const resolvPath = options.hostResolvConfPath === undefined ? '/etc/resolv.conf' : options.hostResolvConfPath;
  const hostResolvConf = resolvPath === null ? undefined : parseResolvConf(await readFile(resolvPath, 'utf8'));
  const { config, warnings } = podDnsConfig({ pod, clusterDns: options.clusterDns, clusterDomain, hostResolvConf, nodeIps: options.nodeIps });

  let hosts: string;
  if (pod.spec.hostNetwork) {
    hosts = hostNetworkHostsContent({ nodeHosts: await readFile(options.hostHostsPath ?? '/etc/hosts', 'utf8'), hostAliases: pod.spec.hostAliases });
  } else {
    const { hostname, domain } = podHostnameAndDomain({ pod, clusterDomain });
    hosts = managedHostsContent({ podIps: options.podIps, hostname, domain, hostAliases: pod.spec.hostAliases });
  }
  await mkdir(podDir, { recursive: true });
  const hostsPath = join(podDir, 'etc-hosts');
  const resolvConfPath = join(podDir, 'resolv.conf');
  await writeInPlace(hostsPath, hosts);
  await writeInPlace(resolvConfPath, resolvConfContent(config));
  return { hostsPath, resolvConfPath, warnings };
}

async function writeInPlace(path: string, content: string): Promise<void> {
  await writeFile(path, content, { mode: 0o644 });
  await chmod(path, 0o644);
}
