// Printers for rbac.authorization.k8s.io. Roles have no printer upstream and
// get the default NAME / CREATED AT table; bindings show the role and, wide,
// their subjects by kind.
import type { KindPrinter, Obj } from './types.ts';
import { ageColumn, createdAtColumns, nameColumn, str } from './helpers.ts';

/** Subject names by kind; service accounts as "namespace/name". */
function subjects(binding: Obj, kind: 'User' | 'Group' | 'ServiceAccount'): string {
  const list: Obj[] = Array.isArray(binding?.subjects) ? binding.subjects : [];
  return list
    .filter((s) => s?.kind === kind)
    .map((s) => (kind === 'ServiceAccount' ? `${str(s.namespace)}/${str(s.name)}` : str(s.name)))
    .join(', ');
}

const bindingPrinter: KindPrinter = {
  columns: [
    nameColumn,
    { name: 'Role', description: 'The role granted (Kind/name).', cell: (o) => `${str(o?.roleRef?.kind)}/${str(o?.roleRef?.name)}` },
    ageColumn,
    { name: 'Users', priority: 1, description: 'Users bound.', cell: (o) => subjects(o, 'User') },
    { name: 'Groups', priority: 1, description: 'Groups bound.', cell: (o) => subjects(o, 'Group') },
    { name: 'ServiceAccounts', priority: 1, description: 'Service accounts bound (namespace/name).', cell: (o) => subjects(o, 'ServiceAccount') },
  ],
};

export const rbacPrinters: Record<string, KindPrinter> = {
  Role: { columns: createdAtColumns },
  ClusterRole: { columns: createdAtColumns },
  RoleBinding: bindingPrinter,
  ClusterRoleBinding: bindingPrinter,
};
