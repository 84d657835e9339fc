// LimitRange validation: one item per type, resource names, and quantities
// that agree with each other (min ≤ defaultRequest ≤ default ≤ max, a
// ratio of at least 1 that max/min allows), with upstream's messages.
import { amountOf, formatAmount, milliValue, type Amount } from '../quota/quantity.ts';
import { type FieldError, child, duplicate, forbidden, goLiteral, index, invalid, key, required } from './errors.ts';
import { isQualifiedName } from './names.ts';

type List = Record<string, unknown>;

interface Item {
  type?: string;
  min?: List;
  max?: List;
  default?: List;
  defaultRequest?: List;
  maxLimitRequestRatio?: List;
}

const isHugePages = (name: string) => name.startsWith('hugepages-');
const isNative = (name: string) => !name.includes('/') || name.includes('kubernetes.io/');
/** Extended resources and hugepages cannot be overcommitted: their request must equal their limit. */
const overcommitAllowed = (name: string) => isNative(name) && !isHugePages(name);

function resourceNameErrors(name: string, path: string): FieldError[] {
  return isQualifiedName(name).map((m) => invalid(path, name, m));
}

function quantities(item: Item, field: keyof Omit<Item, 'type'>, path: string, errs: FieldError[]): Map<string, Amount> {
  const out = new Map<string, Amount>();
  for (const [name, value] of Object.entries(item[field] ?? {})) {
    const p = key(child(path, field), name);
    errs.push(...resourceNameErrors(name, p));
    const amount = amountOf(value);
    if (amount) out.set(name, amount);
  }
  return out;
}

const cmp = (a: Amount, b: Amount) => (a.nanos < b.nanos ? -1 : a.nanos > b.nanos ? 1 : 0);
const show = (a: Amount) => formatAmount(a);
const bad = (a: Amount) => goLiteral(show(a));

export function validateLimitRange(lr: any): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  const items: Item[] = Array.isArray(lr?.spec?.limits) ? lr.spec.limits : [];
  items.forEach((item, i) => {
    const path = index('spec.limits', i);
    const type = String(item.type ?? '');
    errs.push(...isQualifiedName(type).map((m) => invalid(child(path, 'type'), type, m)));
    if (seen.has(type)) errs.push(duplicate(child(path, 'type'), type));
    seen.add(type);
    const max = quantities(item, 'max', path, errs);
    const min = quantities(item, 'min', path, errs);
    let defaults = new Map<string, Amount>();
    let defaultRequests = new Map<string, Amount>();
    if (type === 'Pod') {
      if (Object.keys(item.default ?? {}).length) errs.push(forbidden(child(path, 'default'), "may not be specified when `type` is 'Pod'"));
      if (Object.keys(item.defaultRequest ?? {}).length) errs.push(forbidden(child(path, 'defaultRequest'), "may not be specified when `type` is 'Pod'"));
    } else {
      defaults = quantities(item, 'default', path, errs);
      defaultRequests = quantities(item, 'defaultRequest', path, errs);
    }
    if (type === 'PersistentVolumeClaim' && !min.has('storage') && !max.has('storage')) {
      errs.push(required(child(path, 'limits'), 'either minimum or maximum storage value is required, but neither was provided'));
    }
    const ratios = quantities(item, 'maxLimitRequestRatio', path, errs);
    const names = new Set([...max.keys(), ...min.keys(), ...defaults.keys(), ...defaultRequests.keys(), ...ratios.keys()]);
    for (const name of [...names].sort()) {
      const lo = min.get(name);
      const hi = max.get(name);
      const def = defaults.get(name);
      const defReq = defaultRequests.get(name);
      const ratio = ratios.get(name);
      const at = (field: string) => key(child(path, field), name);
      if (lo && hi && cmp(lo, hi) > 0) errs.push(invalid(at('min'), bad(lo), `min value ${show(lo)} is greater than max value ${show(hi)}`));
      if (defReq && lo && cmp(lo, defReq) > 0) errs.push(invalid(at('defaultRequest'), bad(defReq), `min value ${show(lo)} is greater than default request value ${show(defReq)}`));
      if (defReq && hi && cmp(defReq, hi) > 0) errs.push(invalid(at('defaultRequest'), bad(defReq), `default request value ${show(defReq)} is greater than max value ${show(hi)}`));
      if (defReq && def && cmp(defReq, def) > 0) errs.push(invalid(at('defaultRequest'), bad(defReq), `default request value ${show(defReq)} is greater than default limit value ${show(def)}`));
      if (def && lo && cmp(lo, def) > 0) errs.push(invalid(at('default'), bad(lo), `min value ${show(lo)} is greater than default value ${show(def)}`));
      if (def && hi && cmp(def, hi) > 0) errs.push(invalid(at('default'), bad(hi), `default value ${show(def)} is greater than max value ${show(hi)}`));
      if (ratio && ratio.nanos < 1_000_000_000n) errs.push(invalid(at('maxLimitRequestRatio'), bad(ratio), `ratio ${show(ratio)} is less than 1`));
      if (ratio && lo && hi && lo.nanos > 0n) {
        const allowed = Number(milliValue(hi)) / Number(milliValue(lo));
        if (Number(milliValue(ratio)) / 1000 > allowed) {
          errs.push(invalid(at('maxLimitRequestRatio'), bad(ratio), `ratio ${show(ratio)} is greater than max/min = ${allowed.toFixed(6)}`));
        }
      }
      if (!overcommitAllowed(name) && def && defReq && cmp(def, defReq) !== 0) {
        errs.push(invalid(at('defaultRequest'), bad(defReq), `default value ${show(def)} must equal to defaultRequest value ${show(defReq)} in ${name}`));
      }
    }
  });
  return errs;
}
