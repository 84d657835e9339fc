// Shapes shared by the Table printers. A printer is a list of columns, each
// with its meta.k8s.io/v1 TableColumnDefinition facts and a function that
// computes the cell; wide-only columns carry priority 1.

/** meta.k8s.io/v1 TableColumnDefinition (all five fields always present, as upstream sends). */
export interface TableColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

/** meta.k8s.io/v1 TableRowCondition (pods mark finished rows "Completed"). */
export interface TableRowCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface TableRow {
  cells: unknown[];
  conditions?: TableRowCondition[];
  /** The printed object; the server may replace it by PartialObjectMetadata (includeObject). */
  object?: unknown;
}

export interface PrintTableOptions {
  /** API group of the objects; "" for the core group. */
  group: string;
  kind: string;
  objects: object[];
  /**
   * Include priority-1 columns. Upstream's server always generates the wide
   * table and lets kubectl hide those columns, so the API server should pass true.
   */
  wide?: boolean;
  /** The time ages are measured from (tests pin it). */
  now?: Date;
}

export interface PrintedTable {
  columnDefinitions: TableColumnDefinition[];
  rows: TableRow[];
}

export interface PrintContext {
  /** Milliseconds since the epoch. */
  now: number;
  wide: boolean;
}

// Printed objects are parsed JSON of any kind: printers read defensively.
export type Obj = any;

export interface Column<V = Obj> {
  name: string;
  /** "string" unless said otherwise (upstream types: string, integer, boolean, date). */
  type?: string;
  format?: string;
  description: string;
  /** 1 for columns kubectl shows only with -o wide. */
  priority?: number;
  cell: (view: V, ctx: PrintContext) => unknown;
}

export interface KindPrinter<V = Obj> {
  columns: Column<V>[];
  /** Computes what the cells read, once per object; by default the object itself. */
  view?: (obj: Obj, ctx: PrintContext) => V;
  conditions?: (obj: Obj) => TableRowCondition[] | undefined;
}
