// Durations as Kubernetes components take them on the command line (Go's
// time.ParseDuration: "40s", "1m30s", "500ms", "1.5h"), so flags copied from
// a kube-controller-manager manifest work unchanged.
const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds; throws with the flag's name on anything Go would refuse. */
export function parseGoDuration(text: string, flag: string): number {
  const trimmed = text.trim();
  if (trimmed === '0') return 0;
  const pattern = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = pattern.exec(trimmed); m; m = pattern.exec(trimmed)) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    matched = pattern.lastIndex;
  }
  if (!trimmed || matched !== trimmed.length) throw new Error(`${flag} ${JSON.stringify(text)}: not a duration (e.g. "40s", "1m30s", "500ms")`);
  return total;
}

/** A non-negative number flag ("0.1"). */
export function parseRate(text: string, flag: string): number {
  const value = Number(text);
  if (!text.trim() || !Number.isFinite(value) || value < 0) throw new Error(`${flag} ${JSON.stringify(text)}: not a non-negative number`);
  return value;
}
