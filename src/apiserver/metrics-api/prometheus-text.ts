// A reader for the Prometheus text exposition (0.0.4) the agents serve at
// /metrics/resource: sample lines `name{label="v",…} value [timestamp_ms]`;
// comments and blank lines skipped. Only what metrics-server reads from it.

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
  /** Milliseconds since the epoch, when the line carried one. */
  timestampMs?: number;
}

export function parsePrometheusText(text: string): PromSample[] {
  const out: PromSample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const sample = parseLine(line);
    if (sample) out.push(sample);
  }
  return out;
}

function parseLine(line: string): PromSample | undefined {
  const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
  if (!name) return undefined;
  let rest = line.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    let i = 1;
    for (;;) {
      while (rest[i] === ' ' || rest[i] === ',') i++;
      if (rest[i] === '}') {
        i++;
        break;
      }
      const key = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(rest.slice(i))?.[0];
      if (!key || rest[i + key.length] !== '=' || rest[i + key.length + 1] !== '"') return undefined;
      i += key.length + 2;
      let value = '';
      while (i < rest.length && rest[i] !== '"') {
        if (rest[i] === '\\') {
          i++;
          value += rest[i] === 'n' ? '\n' : rest[i];
        } else {
          value += rest[i];
        }
        i++;
      }
      if (rest[i] !== '"') return undefined;
      i++;
      labels[key] = value;
    }
    rest = rest.slice(i);
  }
  const [valueText, timestampText] = rest.trim().split(/\s+/);
  if (valueText === undefined) return undefined;
  const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : Number(valueText);
  if (Number.isNaN(value) && valueText !== 'NaN') return undefined;
  const timestampMs = timestampText !== undefined ? Number(timestampText) : undefined;
  return { name, labels, value, ...(timestampMs !== undefined && Number.isFinite(timestampMs) ? { timestampMs } : {}) };
}
