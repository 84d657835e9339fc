// Service link variables (upstream's envvars.FromServices): for every
// Service of the pod's namespace with a cluster IP — and always for
// `default/kubernetes`, which in-cluster clients find this way —
// NAME_SERVICE_HOST / NAME_SERVICE_PORT(_PORTNAME) and the Docker-link style
// NAME_PORT, NAME_PORT_<port>_<PROTO>(_PROTO|_PORT|_ADDR).
import type { KubeObject } from '../../client/interface.ts';

interface ServicePort { name?: string; port: number; protocol?: string }

const envName = (name: string) => name.toUpperCase().replace(/-/g, '_');

export function serviceEnvVars(services: readonly KubeObject[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const service of services) {
    const spec = (service.spec ?? {}) as { clusterIP?: string; ports?: ServicePort[] };
    const ip = spec.clusterIP;
    if (!ip || ip === 'None') continue;
    const ports = spec.ports ?? [];
    if (ports.length === 0) continue;
    const name = envName(service.metadata.name ?? '');
    const host = ip.includes(':') ? `[${ip}]` : ip;
    out.set(`${name}_SERVICE_HOST`, ip);
    out.set(`${name}_SERVICE_PORT`, String(ports[0]!.port));
    for (const port of ports) if (port.name) out.set(`${name}_SERVICE_PORT_${envName(port.name)}`, String(port.port));
    const first = ports[0]!;
    out.set(`${name}_PORT`, `${(first.protocol ?? 'TCP').toLowerCase()}://${host}:${first.port}`);
    for (const port of ports) {
      const protocol = port.protocol ?? 'TCP';
      const prefix = `${name}_PORT_${port.port}_${protocol.toUpperCase()}`;
      out.set(prefix, `${protocol.toLowerCase()}://${host}:${port.port}`);
      out.set(`${prefix}_PROTO`, protocol.toLowerCase());
      out.set(`${prefix}_PORT`, String(port.port));
      out.set(`${prefix}_ADDR`, ip);
    }
  }
  return out;
}

/**
 * The services whose variables a pod of `namespace` gets: all of its
 * namespace's when links are enabled, plus the API server's `kubernetes`
 * Service of `default` in any case (a namespace's own Service of that name
 * wins in `default` itself).
 */
export function servicesForPod(options: { namespace: string; enableServiceLinks: boolean; all: readonly KubeObject[] }): KubeObject[] {
  const { namespace, enableServiceLinks, all } = options;
  const picked = enableServiceLinks ? all.filter((s) => s.metadata.namespace === namespace) : [];
  const master = all.find((s) => s.metadata.namespace === 'default' && s.metadata.name === 'kubernetes');
  if (master && !picked.includes(master)) picked.push(master);
  return picked;
}
