// A partial sync: the nft commands that turn the table applied last into the
// one just rendered, as one transaction — only the chains, sets and map
// elements that differ (upstream's partial sync does the same). With 10k
// services a full replacement costs seconds; one changed service costs the
// handful of lines it touches. ClientIP affinity of untouched services survives.
//
// Order inside the transaction matters, since nothing may be deleted while
// something still refers to it:
//   1. delete map elements that went away or whose verdict changed
//   2. flush chains that changed or went away (drops their jumps and set references)
//   3. delete chains, then sets, that went away
//   4. add new sets and new chains (empty), then the rules of new and changed chains
//   5. add map elements that are new or changed
import type { RulesetState } from './render.ts';

const sameRules = (a: string[], b: string[]) => a.length === b.length && a.every((rule, i) => rule === b[i]);

/**
 * nft input from `applied` to `next`; '' when they are equal; undefined when
 * only a full replacement will do (another table, node addresses or cluster
 * CIDR changed, or a set's declaration changed under the same name).
 */
export function renderDelta(applied: RulesetState, next: RulesetState): string | undefined {
  if (applied.table !== next.table || applied.fixed !== next.fixed) return undefined;
  for (const [name, body] of next.sets) {
    const before = applied.sets.get(name);
    if (before !== undefined && before !== body) return undefined;
  }
  const t = `ip ${next.table}`;
  const lines: string[] = [];

  for (const [map, elements] of applied.maps) {
    const now = next.maps.get(map) ?? new Map<string, string>();
    const gone = [...elements].filter(([key, verdict]) => now.get(key) !== verdict).map(([key]) => key);
    if (gone.length) lines.push(`delete element ${t} ${map} { ${gone.join(', ')} }`);
  }
  const changed: string[] = [];
  const added: string[] = [];
  for (const [name, rules] of next.chains) {
    const before = applied.chains.get(name);
    if (!before) added.push(name);
    else if (!sameRules(before, rules)) changed.push(name);
  }
  const removed = [...applied.chains.keys()].filter((name) => !next.chains.has(name));
  for (const name of [...changed, ...removed]) {
    if (next.chains.get(name)?.[0]?.startsWith('type ') || applied.chains.get(name)?.[0]?.startsWith('type ')) return undefined; // base chains are fixed
    lines.push(`flush chain ${t} ${name}`);
  }
  for (const name of removed) lines.push(`delete chain ${t} ${name}`);
  for (const name of applied.sets.keys()) if (!next.sets.has(name)) lines.push(`delete set ${t} ${name}`);
  for (const [name, body] of next.sets) if (!applied.sets.has(name)) lines.push(`add set ${t} ${name} ${body}`);
  for (const name of added) lines.push(`add chain ${t} ${name}`);
  for (const name of [...added, ...changed]) {
    for (const rule of next.chains.get(name)!) lines.push(`add rule ${t} ${name} ${rule}`);
  }
  for (const [map, elements] of next.maps) {
    const before = applied.maps.get(map) ?? new Map<string, string>();
    const fresh = [...elements].filter(([key, verdict]) => before.get(key) !== verdict);
    if (fresh.length) lines.push(`add element ${t} ${map} { ${fresh.map(([key, verdict]) => `${key} : ${verdict}`).join(', ')} }`);
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}
