// `--simulated-nodes N[:cpu,memory,pods]`: how many hollow nodes and how big
// each one is. Parsed here (not in the CLI) so `skiff server` and
// `skiff agent --simulated` accept exactly the same text.
import { isNegative, isWhole, isZero, parseQuantity } from '../../api/validation/quantity.ts';

export interface SimulatedCapacity {
  cpu: string;
  memory: string;
  pods: string;
}

export interface SimulatedNodesSpec {
  count: number;
  capacity: SimulatedCapacity;
}

/** A mid-sized cloud VM; 110 pods is the kubelet's default maxPods. */
export const DEFAULT_SIMULATED_CAPACITY: Readonly<SimulatedCapacity> = Object.freeze({ cpu: '4', memory: '16Gi', pods: '110' });

/**
 * Node addresses come from 172.31.0.0/16 (see node-object.ts), so this many
 * nodes at most; far beyond what one API server is expected to carry.
 */
export const MAX_SIMULATED_NODES = 65_534;

const USAGE = 'expected N[:cpu,memory,pods], e.g. "100" or "100:8,32Gi,110"';

/** Parses the flag value; throws an Error whose message names the flag and the problem. */
export function parseSimulatedNodesFlag(text: string): SimulatedNodesSpec {
  const fail = (problem: string): never => {
    throw new Error(`--simulated-nodes ${JSON.stringify(text)}: ${problem}; ${USAGE}`);
  };
  const trimmed = text.trim();
  const colon = trimmed.indexOf(':');
  const countText = colon < 0 ? trimmed : trimmed.slice(0, colon);
  if (!/^\d+$/.test(countText)) fail(`node count ${JSON.stringify(countText)} is not a whole number`);
  const count = Number(countText);
  if (count < 1) fail('node count must be at least 1');
  if (count > MAX_SIMULATED_NODES) fail(`node count must be at most ${MAX_SIMULATED_NODES}`);
  if (colon < 0) return { count, capacity: { ...DEFAULT_SIMULATED_CAPACITY } };

  const parts = trimmed.slice(colon + 1).split(',').map((p) => p.trim());
  if (parts.length !== 3) fail(`capacity needs exactly three values (cpu,memory,pods), got ${parts.length}`);
  // An empty field keeps its default ("100:,64Gi," changes memory only).
  const [cpu, memory, pods] = parts.map((p, i) => p || Object.values(DEFAULT_SIMULATED_CAPACITY)[i]!);
  for (const [name, value] of [['cpu', cpu], ['memory', memory], ['pods', pods]] as const) {
    const q = parseQuantity(value);
    if (!q) fail(`${name} ${JSON.stringify(value)} is not a quantity`);
    else if (isNegative(q) || isZero(q)) fail(`${name} ${JSON.stringify(value)} must be positive`);
    else if (name === 'pods' && (!isWhole(q) || !/^\d+$/.test(value))) fail(`pods ${JSON.stringify(value)} must be a whole number`);
  }
  return { count, capacity: { cpu: cpu!, memory: memory!, pods: pods! } };
}
