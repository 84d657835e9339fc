// Table printing: the columns and cells upstream's server puts into a
// meta.k8s.io/v1 Table for `kubectl get`, per kind. Kinds without a printer
// get NAME and AGE.
import type { Column, KindPrinter, PrintContext, PrintedTable, PrintTableOptions, TableColumnDefinition, TableRow } from './types.ts';
import { ageColumn, nameColumn } from './helpers.ts';
import { corePrinters } from './core.ts';
import { eventsV1Printer } from './core-events.ts';
import { appsPrinters } from './apps.ts';
import { batchPrinters } from './batch.ts';
import { discoveryPrinters, networkingPrinters } from './networking.ts';
import { rbacPrinters } from './rbac.ts';
import { storagePrinters } from './storage.ts';
import { autoscalingPrinters } from './autoscaling.ts';
import { otherGroupPrinters } from './other-groups.ts';

export type { PrintTableOptions, PrintedTable, TableColumnDefinition, TableRow, TableRowCondition } from './types.ts';
export { humanDuration, translateTimestampSince } from './time.ts';
export { summarizePod, formatRestarts, type PodSummary } from './core-pods.ts';
export { formatLabels, formatLabelSelector } from './helpers.ts';

function byGroup(group: string, printers: Record<string, KindPrinter>): Array<[string, KindPrinter]> {
  return Object.entries(printers).map(([kind, p]) => [`${group}/${kind}`, p]);
}

/** Every printer, keyed by "group/Kind" ("" is the core group). */
const printers = new Map<string, KindPrinter>([
  ...byGroup('', corePrinters),
  ...byGroup('events.k8s.io', { Event: eventsV1Printer }),
  ...byGroup('apps', appsPrinters),
  ...byGroup('batch', batchPrinters),
  ...byGroup('networking.k8s.io', networkingPrinters),
  ...byGroup('discovery.k8s.io', discoveryPrinters),
  ...byGroup('rbac.authorization.k8s.io', rbacPrinters),
  ...byGroup('storage.k8s.io', storagePrinters),
  ...byGroup('autoscaling', autoscalingPrinters),
  ...Object.entries(otherGroupPrinters),
]);

const defaultPrinter: KindPrinter = { columns: [nameColumn, ageColumn] };

/** Whether the kind has its own columns (otherwise printTable uses NAME and AGE). */
export function hasPrinter(group: string, kind: string): boolean {
  return printers.has(`${normalizeGroup(group)}/${kind}`);
}

const normalizeGroup = (group: string): string => (group === 'core' ? '' : group);

function definition(column: Column): TableColumnDefinition {
  return {
    name: column.name,
    type: column.type ?? 'string',
    format: column.format ?? '',
    description: column.description,
    priority: column.priority ?? 0,
  };
}

/**
 * The Table for `objects` of one kind: column definitions and one row per
 * object (with the object attached, for the server to trim per includeObject).
 * Without `wide`, priority-1 columns are left out of both.
 */
export function printTable(options: PrintTableOptions): PrintedTable {
  const printer = printers.get(`${normalizeGroup(options.group)}/${options.kind}`) ?? defaultPrinter;
  const ctx: PrintContext = { now: (options.now ?? new Date()).getTime(), wide: options.wide === true };
  const columns = printer.columns.filter((c) => ctx.wide || (c.priority ?? 0) === 0);
  const rows = options.objects.map((obj): TableRow => {
    const view = printer.view ? printer.view(obj, ctx) : obj;
    const row: TableRow = { cells: columns.map((c) => c.cell(view, ctx)) };
    const conditions = printer.conditions?.(obj);
    if (conditions) row.conditions = conditions;
    row.object = obj;
    return row;
  });
  return { columnDefinitions: columns.map(definition), rows };
}
