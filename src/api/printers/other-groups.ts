// Printers for the smaller API groups: coordination (leases), scheduling
// (priority classes), policy (disruption budgets), certificates (signing
// requests), node (runtime classes), admission webhooks, apiextensions (CRDs,
// which upstream prints with its default table) and apiregistration.
import type { KindPrinter, Obj } from './types.ts';
import { ageColumn, createdAtColumns, int, nameColumn, str } from './helpers.ts';
import { humanDuration } from './time.ts';

const list = (v: unknown): Obj[] => (Array.isArray(v) ? v : []);

/** Denied/Approved/Pending, then ",Failed" and ",Issued" when they apply. */
export function csrCondition(csr: Obj): string {
  const types = new Set(list(csr?.status?.conditions).map((c) => c?.type));
  let status = types.has('Denied') ? 'Denied' : types.has('Approved') ? 'Approved' : 'Pending';
  if (types.has('Failed')) status += ',Failed';
  if (str(csr?.status?.certificate).length > 0) status += ',Issued';
  return status;
}

/** "Local" for APIs served by the API server itself, else the backing service. */
function apiServiceBackend(o: Obj): string {
  const svc = o?.spec?.service;
  return svc ? `${str(svc.namespace)}/${str(svc.name)}` : 'Local';
}

/** "True", "False (Reason)" or "Unknown" from the Available condition. */
function apiServiceAvailable(o: Obj): string {
  const c = list(o?.status?.conditions).find((x) => x?.type === 'Available');
  if (!c) return 'Unknown';
  if (c.status === 'True' || !c.reason) return str(c.status);
  return `${str(c.status)} (${str(c.reason)})`;
}

const intOrString = (v: unknown): string => (v == null ? 'N/A' : String(v));

const webhookPrinter: KindPrinter = {
  columns: [
    nameColumn,
    { name: 'Webhooks', type: 'integer', description: 'Number of webhooks in the configuration.', cell: (o) => list(o?.webhooks).length },
    ageColumn,
  ],
};

/** Printers keyed by "group/Kind". */
export const otherGroupPrinters: Record<string, KindPrinter> = {
  'coordination.k8s.io/Lease': {
    columns: [
      nameColumn,
      { name: 'Holder', description: 'Identity of the current holder.', cell: (o) => str(o?.spec?.holderIdentity) },
      ageColumn,
    ],
  },
  'scheduling.k8s.io/PriorityClass': {
    columns: [
      nameColumn,
      { name: 'Value', type: 'integer', description: 'Priority given to pods of this class.', cell: (o) => int(o?.value) },
      { name: 'Global-Default', type: 'boolean', description: 'Whether pods without a class get this one.', cell: (o) => o?.globalDefault === true },
      ageColumn,
      { name: 'PreemptionPolicy', description: 'Whether pods of this class preempt others.', cell: (o) => str(o?.preemptionPolicy) },
    ],
  },
  'policy/PodDisruptionBudget': {
    columns: [
      nameColumn,
      { name: 'Min Available', description: 'Pods that must stay available.', cell: (o) => intOrString(o?.spec?.minAvailable) },
      { name: 'Max Unavailable', description: 'Pods that may be unavailable.', cell: (o) => intOrString(o?.spec?.maxUnavailable) },
      { name: 'Allowed Disruptions', type: 'integer', description: 'Pods that may be evicted now.', cell: (o) => int(o?.status?.disruptionsAllowed) },
      ageColumn,
    ],
  },
  'certificates.k8s.io/CertificateSigningRequest': {
    columns: [
      nameColumn,
      ageColumn,
      { name: 'SignerName', description: 'Signer asked to sign.', cell: (o) => str(o?.spec?.signerName) || '<none>' },
      { name: 'Requestor', description: 'User who made the request.', cell: (o) => str(o?.spec?.username) },
      {
        name: 'RequestedDuration',
        description: 'Validity asked for.',
        cell: (o) => (o?.spec?.expirationSeconds == null ? '<none>' : humanDuration(int(o.spec.expirationSeconds) * 1000)),
      },
      { name: 'Condition', description: 'Approval state and whether a certificate was issued.', cell: csrCondition },
    ],
  },
  'node.k8s.io/RuntimeClass': {
    columns: [
      nameColumn,
      { name: 'Handler', description: 'Runtime handler the node agent uses.', cell: (o) => str(o?.handler) },
      ageColumn,
    ],
  },
  'admissionregistration.k8s.io/MutatingWebhookConfiguration': webhookPrinter,
  'admissionregistration.k8s.io/ValidatingWebhookConfiguration': webhookPrinter,
  'apiextensions.k8s.io/CustomResourceDefinition': { columns: createdAtColumns },
  'apiregistration.k8s.io/APIService': {
    columns: [
      nameColumn,
      { name: 'Service', description: 'Service that serves the API, or Local.', cell: apiServiceBackend },
      { name: 'Available', description: 'Whether the API is reachable.', cell: apiServiceAvailable },
      ageColumn,
    ],
  },
};
