// Printers for networking.k8s.io (ingresses, ingress classes, network
// policies) and discovery.k8s.io (endpoint slices).
import type { KindPrinter, Obj } from './types.ts';
import { ageColumn, formatLabelSelector, listWithMore, loadBalancerStatus, nameColumn, str } from './helpers.ts';

const list = (v: unknown): Obj[] => (Array.isArray(v) ? v : []);

/**
 * Up to three rule hosts, "*" when no rule names one. The "+ N more" count is
 * of rules (hostless ones included), as upstream counts it.
 */
function ingressHosts(ingress: Obj): string {
  const rules = list(ingress?.spec?.rules);
  const hosts: string[] = [];
  let more = false;
  for (const rule of rules) {
    if (hosts.length === 3) more = true;
    if (!more && rule?.host) hosts.push(str(rule.host));
  }
  if (hosts.length === 0) return '*';
  return more ? `${hosts.join(',')} + ${rules.length - 3} more...` : hosts.join(',');
}

const ingressPrinter: KindPrinter = {
  columns: [
    nameColumn,
    { name: 'Class', description: 'The ingress class handling this ingress.', cell: (o) => str(o?.spec?.ingressClassName ?? '<none>') },
    { name: 'Hosts', description: 'Hosts the rules match.', cell: ingressHosts },
    {
      name: 'Address',
      description: 'Where the load balancer for the ingress listens.',
      cell: (o, ctx) => loadBalancerStatus(o?.status?.loadBalancer?.ingress, ctx.wide),
    },
    { name: 'Ports', description: 'Ports served (443 when TLS is configured).', cell: (o) => (list(o?.spec?.tls).length ? '80, 443' : '80') },
    ageColumn,
  ],
};

/** "Kind.group/name" of the parameters object, "<none>" without one. */
function ingressClassParameters(o: Obj): string {
  const p = o?.spec?.parameters;
  if (!p) return '<none>';
  return `${str(p.kind)}${p.apiGroup != null ? `.${str(p.apiGroup)}` : ''}/${str(p.name)}`;
}

/** Port numbers (or names, or "*") of a slice; "<unset>" when it has none. */
function slicePorts(slice: Obj): string {
  const ports = list(slice?.ports).map((p) => (p?.port != null ? String(p.port) : p?.name != null ? str(p.name) : '*'));
  return listWithMore(ports, 3, '<unset>');
}

function sliceEndpoints(slice: Obj): string {
  const addresses = list(slice?.endpoints).flatMap((e) => list(e?.addresses).map(str));
  return listWithMore(addresses, 3, '<unset>');
}

export const networkingPrinters: Record<string, KindPrinter> = {
  Ingress: ingressPrinter,
  IngressClass: {
    columns: [
      nameColumn,
      { name: 'Controller', description: 'The controller that implements the class.', cell: (o) => str(o?.spec?.controller) },
      { name: 'Parameters', description: 'Object with extra configuration for the controller.', cell: ingressClassParameters },
      ageColumn,
    ],
  },
  NetworkPolicy: {
    columns: [
      nameColumn,
      { name: 'Pod-Selector', description: 'Pods the policy applies to.', cell: (o) => formatLabelSelector(o?.spec?.podSelector) },
      ageColumn,
    ],
  },
};

export const discoveryPrinters: Record<string, KindPrinter> = {
  EndpointSlice: {
    columns: [
      nameColumn,
      { name: 'AddressType', description: 'IPv4, IPv6 or FQDN.', cell: (o) => str(o?.addressType) },
      { name: 'Ports', description: 'Ports of the endpoints.', cell: slicePorts },
      { name: 'Endpoints', description: 'Addresses of the endpoints.', cell: sliceEndpoints },
      ageColumn,
    ],
  },
};
