// Structural checks of a request body against the schema facts: JSON types
// (with int32/int64/byte/date-time formats, IntOrString and Quantity rules)
// and fields the schema does not declare. Runs on every write, so each
// definition is compiled once into a small walker node and reused; a request
// costs one pass over the object and allocates only for problems found.
import { kindSchema, loadSchemaFacts, type SchemaFacts, type SchemaNode } from '../schema/facts.ts';
import { type FieldError, invalid, typeInvalid } from './errors.ts';
import { QUANTITY_FORMAT_ERROR } from './quantity.ts';

type Shape = 'any' | 'object' | 'map' | 'array' | 'string' | 'integer' | 'number' | 'boolean' | 'intOrString' | 'quantity';

interface Compiled {
  shape: Shape;
  format?: string;
  props?: Map<string, Compiled>;
  values?: Compiled;
  items?: Compiled;
}

export interface SchemaResult {
  errors: FieldError[];
  /** Undeclared fields as paths with list indexes: `spec.template.spec.containers[0].imagee`. */
  unknownFields: string[];
}

const ANY: Compiled = { shape: 'any' };

// Definitions whose Go types decode any JSON (raw extensions, managed-field sets, JSON values).
const freeForm = new Set([
  'io.k8s.apimachinery.pkg.runtime.RawExtension',
  'io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1',
  'io.k8s.apimachinery.pkg.apis.meta.v1.Patch',
  'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON',
  'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrArray',
  'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrBool',
  'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrStringArray',
]);
const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';

class Compiler {
  private readonly byDefinition = new Map<string, Compiled>();
  private readonly byNode = new WeakMap<SchemaNode, Compiled>();
  private readonly facts: SchemaFacts;

  constructor(facts: SchemaFacts) {
    this.facts = facts;
  }

  compile(node: SchemaNode | undefined): Compiled {
    if (!node) return ANY;
    if (node.$ref) return this.definition(node.$ref.replace('#/definitions/', ''));
    const cached = this.byNode.get(node);
    if (cached) return cached;
    const out: Compiled = { shape: 'any' };
    // Registered before recursing: definitions refer to themselves (JSONSchemaProps).
    this.byNode.set(node, out);
    this.fill(out, node);
    return out;
  }

  private definition(name: string): Compiled {
    const cached = this.byDefinition.get(name);
    if (cached) return cached;
    const out: Compiled = { shape: 'any' };
    this.byDefinition.set(name, out);
    const def = this.facts.definitions[name];
    if (name === QUANTITY) out.shape = 'quantity';
    else if (def && !freeForm.has(name)) this.fill(out, def);
    return out;
  }

  private fill(out: Compiled, node: SchemaNode): void {
    if (node['x-kubernetes-preserve-unknown-fields'] === true) return;
    if (node.format === 'int-or-string' || node['x-kubernetes-int-or-string'] === true) {
      out.shape = 'intOrString';
      return;
    }
    switch (node.type) {
      case 'object':
        if (node.properties) {
          out.shape = 'object';
          out.props = new Map();
          for (const [k, v] of Object.entries(node.properties)) out.props.set(k, this.compile(v));
        } else if (typeof node.additionalProperties === 'object') {
          out.shape = 'map';
          out.values = this.compile(node.additionalProperties);
        }
        return;
      case 'array':
        out.shape = 'array';
        out.items = this.compile(node.items);
        return;
      case 'string':
      case 'integer':
      case 'number':
      case 'boolean':
        out.shape = node.type;
        if (node.format) out.format = node.format;
        return;
      default:
        if (node.properties) this.fill(out, { ...node, type: 'object' });
    }
  }
}

const compilers = new WeakMap<SchemaFacts, Compiler>();
const rootCache = new WeakMap<SchemaFacts, Map<string, Compiled | null>>();

function rootFor(options: { group: string; version: string; kind: string }, facts: SchemaFacts): Compiled | null {
  let roots = rootCache.get(facts);
  if (!roots) rootCache.set(facts, (roots = new Map()));
  const id = `${options.group}/${options.version}/${options.kind}`;
  let root = roots.get(id);
  if (root === undefined) {
    let compiler = compilers.get(facts);
    if (!compiler) compilers.set(facts, (compiler = new Compiler(facts)));
    const schema = kindSchema(options, facts);
    root = schema ? compiler.compile(schema) : null;
    roots.set(id, root);
  }
  return root;
}

type Segment = string | number;

const pathText = (segments: readonly Segment[]): string => {
  let s = '';
  for (const seg of segments) {
    if (typeof seg === 'number') s += `[${seg}]`;
    else s += s ? `.${seg}` : seg;
  }
  return s;
};

/** JSON type names as kube-openapi reports them. */
function jsonType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

const INT32 = { min: -2147483648, max: 2147483647 };
const base64Re = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const rfc3339Re = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const quantityRe = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+|[numkMGTPE]|[KMGTPE]i)?$/;

class Walker {
  readonly errors: FieldError[] = [];
  readonly unknownFields: string[] = [];
  private readonly path: Segment[] = [];

  walk(value: unknown, c: Compiled): void {
    if (value === null || value === undefined) return; // null decodes to the zero value everywhere
    switch (c.shape) {
      case 'any':
        return;
      case 'object': {
        if (!isPlainObject(value)) return this.typeError(value, 'object');
        const props = c.props!;
        for (const k of Object.keys(value)) {
          const p = props.get(k);
          this.path.push(k);
          if (p) this.walk(value[k], p);
          else this.unknownFields.push(pathText(this.path));
          this.path.pop();
        }
        return;
      }
      case 'map': {
        if (!isPlainObject(value)) return this.typeError(value, 'object');
        for (const k of Object.keys(value)) {
          this.path.push(k);
          this.walk(value[k], c.values!);
          this.path.pop();
        }
        return;
      }
      case 'array': {
        if (!Array.isArray(value)) return this.typeError(value, 'array');
        for (let i = 0; i < value.length; i++) {
          this.path.push(i);
          this.walk(value[i], c.items!);
          this.path.pop();
        }
        return;
      }
      case 'string':
        if (typeof value !== 'string') return this.typeError(value, 'string');
        if (c.format === 'byte' && !base64Re.test(value.replace(/[\r\n]/g, ''))) return this.formatError(value, 'byte');
        if (c.format === 'date-time' && !rfc3339Re.test(value)) return this.formatError(value, 'date-time');
        return;
      case 'integer':
        if (typeof value !== 'number' || !Number.isInteger(value)) return this.typeError(value, 'integer');
        if (c.format === 'int32' && (value < INT32.min || value > INT32.max)) return this.formatError(value, 'int32');
        return;
      case 'number':
        if (typeof value !== 'number') return this.typeError(value, 'number');
        return;
      case 'boolean':
        if (typeof value !== 'boolean') return this.typeError(value, 'boolean');
        return;
      case 'intOrString':
        if (typeof value === 'string') return;
        if (typeof value !== 'number' || !Number.isInteger(value)) return this.typeError(value, 'integer,string');
        return;
      case 'quantity':
        if (typeof value === 'number') return;
        if (typeof value !== 'string') return this.typeError(value, 'string');
        if (!quantityRe.test(value.trim())) this.errors.push(invalid(pathText(this.path), value, QUANTITY_FORMAT_ERROR));
        return;
    }
  }

  /** kube-openapi's wording: `spec.replicas in body must be of type integer: "string"`. */
  private typeError(value: unknown, expected: string): void {
    const path = pathText(this.path);
    const actual = jsonType(value);
    this.errors.push(typeInvalid(path, actual, `${path} in body must be of type ${expected}: ${JSON.stringify(actual)}`));
  }

  private formatError(value: string | number, format: string): void {
    const path = pathText(this.path);
    this.errors.push(typeInvalid(path, value, `${path} in body must be of type ${format}: ${JSON.stringify(String(value))}`));
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Type errors and undeclared fields of `object` under the schema of the kind.
 * Kinds the facts do not know (custom resources) yield no findings.
 */
export function validateAgainstSchema(options: {
  group: string;
  version: string;
  kind: string;
  object: any;
  facts?: SchemaFacts;
}): SchemaResult {
  const root = rootFor(options, options.facts ?? loadSchemaFacts());
  if (!root) return { errors: [], unknownFields: [] };
  const walker = new Walker();
  walker.walk(options.object, root);
  return { errors: walker.errors, unknownFields: walker.unknownFields };
}

/** The Strict field-validation message upstream returns (400 BadRequest) for undeclared fields. */
export function strictDecodingMessage(unknownFields: readonly string[]): string {
  return `strict decoding error: ${unknownFields.map((f) => `unknown field ${JSON.stringify(f)}`).join(', ')}`;
}

/** The Warn field-validation warning for one undeclared field (one Warning header each). */
export function unknownFieldWarning(field: string): string {
  return `unknown field ${JSON.stringify(field)}`;
}
