// tcpSocket probes: success when a TCP connection opens within the timeout.
import net from 'node:net';
import { dialError } from './http.ts';
import type { ProbeOutcome } from './types.ts';

export function tcpProbe(options: { host: string; port: number; timeoutMs: number }): Promise<ProbeOutcome> {
  const { host, port, timeoutMs } = options;
  const address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ result: 'failure', output: `dial tcp ${address}: i/o timeout` });
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ result: 'success', output: '' });
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      resolve({ result: 'failure', output: dialError(error, 'tcp', address) });
    });
  });
}
