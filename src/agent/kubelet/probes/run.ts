// One attempt of a probe or lifecycle handler against a container: exec in
// the container through the runtime, httpGet/tcpSocket/grpc from the agent
// to the pod's IP (the node's network namespace reaches it).
import type { ContainerRuntime } from '../../runtime/types.ts';
import type { ContainerSpec, Probe } from '../pod-types.ts';
import { grpcProbe } from './grpc.ts';
import { httpProbe } from './http.ts';
import { tcpProbe } from './tcp.ts';
import type { ProbeOutcome } from './types.ts';

/** A port given by number or by the name of one of the container's ports. */
export function resolvePort(port: number | string | undefined, container: ContainerSpec): number | undefined {
  if (typeof port === 'number') return port;
  if (port === undefined) return undefined;
  if (/^\d+$/.test(port)) return Number(port);
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

export interface ProbeTarget {
  runtime: ContainerRuntime;
  containerId: string;
  container: ContainerSpec;
  podIp: string;
}

export async function runProbe(probe: Probe, target: ProbeTarget): Promise<ProbeOutcome> {
  const timeoutSeconds = probe.timeoutSeconds ?? 1;
  const timeoutMs = timeoutSeconds * 1000;
  const { container } = target;
  if (probe.exec) {
    const argv = probe.exec.command ?? [];
    try {
      const res = await target.runtime.execSync(target.containerId, { argv, timeoutSeconds });
      const output = Buffer.concat([res.stdout, res.stderr]).toString('utf8');
      return res.exitCode === 0 ? { result: 'success', output } : { result: 'failure', output };
    } catch (error) {
      const message = (error as Error).message ?? String(error);
      if (/timed out|timeout/i.test(message)) return { result: 'failure', output: `command "${argv.join(' ')}" timed out` };
      return { result: 'unknown', output: message };
    }
  }
  if (probe.httpGet) {
    const port = resolvePort(probe.httpGet.port, container);
    if (port === undefined) return { result: 'unknown', output: `unable to find port "${probe.httpGet.port}" in container ${container.name}` };
    const scheme = (probe.httpGet.scheme ?? 'HTTP').toUpperCase() === 'HTTPS' ? 'HTTPS' : 'HTTP';
    return httpProbe({ scheme, host: probe.httpGet.host || target.podIp, port, path: probe.httpGet.path ?? '/', headers: probe.httpGet.httpHeaders, timeoutMs });
  }
  if (probe.tcpSocket) {
    const port = resolvePort(probe.tcpSocket.port, container);
    if (port === undefined) return { result: 'unknown', output: `unable to find port "${probe.tcpSocket.port}" in container ${container.name}` };
    return tcpProbe({ host: probe.tcpSocket.host || target.podIp, port, timeoutMs });
  }
  if (probe.grpc) return grpcProbe({ host: target.podIp, port: probe.grpc.port, service: probe.grpc.service, timeoutMs });
  return { result: 'unknown', output: 'missing probe handler' };
}
