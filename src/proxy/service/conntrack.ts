// UDP has no connection to end: after an endpoint goes away, conntrack keeps
// sending a client's datagrams to it (the entry outlives the rules). Like
// upstream, delete the entries DNATed to endpoints a UDP service lost, and
// those of a service that had no endpoint before (its traffic was refused).
// Needs the `conntrack` tool; without it this is skipped (one log line).
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import type { Endpoint, ServicePortModel } from './model.ts';

/** Runs `conntrack` with argv; resolves also when nothing matched. */
export type ConntrackRunner = (argv: string[]) => Promise<void>;

const usedEndpoints = (svc: ServicePortModel): Endpoint[] => [...svc.clusterEndpoints, ...svc.localEndpoints];

/** `conntrack` argv lists that delete the flows `current` no longer serves (UDP only). */
export function staleUdpFlows(previous: ServicePortModel[], current: ServicePortModel[]): string[][] {
  const now = new Map(current.map((svc) => [svc.id, svc]));
  const flows: string[][] = [];
  for (const before of previous) {
    if (before.protocol !== 'UDP') continue;
    const after = now.get(before.id);
    const still = new Set((after ? usedEndpoints(after) : []).map((ep) => ep.ip));
    const gone = new Set(usedEndpoints(before).map((ep) => ep.ip).filter((ip) => !still.has(ip)));
    for (const ip of gone) {
      flows.push(['-D', '-p', 'udp', '--orig-dst', before.clusterIp, '--orig-port-dst', String(before.port), '--dst-nat', ip]);
      if (before.nodePort) flows.push(['-D', '-p', 'udp', '--orig-port-dst', String(before.nodePort), '--dst-nat', ip]);
    }
  }
  const had = new Map(previous.map((svc) => [svc.id, svc]));
  for (const svc of current) {
    if (svc.protocol !== 'UDP' || svc.clusterEndpoints.length === 0) continue;
    const before = had.get(svc.id);
    if (before && before.clusterEndpoints.length === 0) {
      flows.push(['-D', '-p', 'udp', '--orig-dst', svc.clusterIp, '--orig-port-dst', String(svc.port)]);
    }
  }
  return flows;
}

function findBinary(): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').concat('/usr/sbin', '/sbin')) {
    try {
      accessSync(`${dir}/conntrack`, constants.X_OK);
      return `${dir}/conntrack`;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The installed `conntrack` as a runner, or null (logged once) when it is missing. */
export function findConntrack(log: { info(message: string): void }): ConntrackRunner | null {
  const binary = findBinary();
  if (!binary) {
    log.info('conntrack is not installed: stale UDP flows are not flushed when endpoints go away');
    return null;
  }
  return (argv) => new Promise((resolve, reject) => {
    const child = spawn(binary, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => {
      // Exit 1 with "0 flow entries have been deleted" only says nothing matched.
      if (code === 0 || / 0 flow entries/.test(stderr)) resolve();
      else reject(new Error(`exit ${code}: ${stderr.trim()}`));
    });
  });
}
