// Test helpers: nft run in throwaway network namespaces (`unshare --net`: new, empty, gone with the
// command — never the machine's own ruleset) and its JSON listing normalized for comparison.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Applies each input with `nft -f` in one fresh namespace and returns the table, normalized. */
export function applyInFreshNetns(...inputs: string[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-nft-'));
  try {
    const files = inputs.map((input, i) => {
      writeFileSync(join(dir, `${i}.nft`), input);
      return join(dir, `${i}.nft`);
    });
    const script = `${files.map((f) => `nft -f ${f}`).join(' && ')} && nft -j list table ip skiff`;
    const result = spawnSync('unshare', ['--net', 'sh', '-c', script], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`nft failed: ${result.stderr}`);
    return normalizeNftJson(result.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `nft -j list table` without handles, rule order kept per chain, everything else sorted. */
export function normalizeNftJson(json: string): string[] {
  const items = (JSON.parse(json).nftables as Record<string, any>[]).filter((item) => !item.metainfo);
  const strip = (value: any): any => {
    if (Array.isArray(value)) return value.map(strip);
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).filter(([k]) => k !== 'handle').map(([k, v]) => [k, k === 'elem' && Array.isArray(v) ? strip(v).map((e: unknown) => JSON.stringify(e)).sort() : strip(v)]));
    }
    return value;
  };
  const perChain = new Map<string, number>();
  return items.map((item) => {
    const clean = strip(item);
    if (clean.rule) {
      const n = perChain.get(clean.rule.chain) ?? 0;
      perChain.set(clean.rule.chain, n + 1);
      return `rule ${clean.rule.chain} #${n} ${JSON.stringify(clean.rule.expr)}`;
    }
    return JSON.stringify(clean);
  }).sort();
}
