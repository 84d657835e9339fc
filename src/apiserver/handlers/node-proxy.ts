// Connections from the API server to a node agent's streaming endpoint
// (kubelet's port 10250) for pods/log, pods/exec and pods/attach. The API
// server authenticates with its kubelet-client certificate; like upstream
// without --kubelet-certificate-authority it does not verify the node's
// serving certificate (agents make self-signed ones).
import type { IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, isIPv6 } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { ApiError, errors } from '../errors.ts';
import type { KubeObject } from '../registry/resource-store.ts';
import type { ServerParts } from './context.ts';

/** Nodes with this label are hollow (agent/simulated): nothing listens at their address. */
const SIMULATED_NODE_LABEL = 'skiff.dev/simulated';
const DEFAULT_KUBELET_PORT = 10250;
/** Address types tried in order (k3s' choice: the node IP the agent registered first). */
const ADDRESS_PREFERENCE = ['InternalIP', 'InternalDNS', 'ExternalIP', 'ExternalDNS', 'Hostname'];
/** A node that does not answer within this is reported, not waited on. */
const DIAL_TIMEOUT_MS = 10_000;

export interface NodeProxyOptions {
  /** The API server's client certificate and key toward nodes (PEM). */
  clientCert: string;
  clientKey: string;
  dialTimeoutMs?: number;
}

export interface NodeLocation {
  nodeName: string;
  host: string;
  port: number;
  simulated: boolean;
}

export class NodeProxy {
  private readonly o: NodeProxyOptions;
  constructor(options: NodeProxyOptions) {
    this.o = options;
  }

  /** The API server's client certificate toward agents (nodes/proxy makes its own requests with it). */
  clientCredentials(): { cert: string; key: string } {
    return { cert: this.o.clientCert, key: this.o.clientKey };
  }

  /** Where the agent of `nodeName` listens, from its Node object. */
  async locate(parts: ServerParts, nodeName: string): Promise<NodeLocation> {
    const nodes = parts.registry.lookup('', 'v1', 'nodes')!;
    let node: KubeObject;
    try {
      node = await parts.store.get(nodes, undefined, nodeName);
    } catch (error) {
      if (error instanceof ApiError && error.code === 404) throw errors.internal(`nodes "${nodeName}" not found`);
      throw error;
    }
    const status = (node.status ?? {}) as { addresses?: { type: string; address: string }[]; daemonEndpoints?: { kubeletEndpoint?: { Port?: number } } };
    const addresses = status.addresses ?? [];
    const address = ADDRESS_PREFERENCE.map((type) => addresses.find((a) => a.type === type && a.address)).find(Boolean);
    if (!address) throw errors.internal(`no preferred addresses found; known addresses: [${addresses.map((a) => `{${a.type} ${a.address}}`).join(' ')}]`);
    return {
      nodeName,
      host: address.address,
      port: status.daemonEndpoints?.kubeletEndpoint?.Port || DEFAULT_KUBELET_PORT,
      simulated: node.metadata.labels?.[SIMULATED_NODE_LABEL] === 'true',
    };
  }

  /** GET `path` on the node; resolves with its response (any status). */
  get(location: NodeLocation, path: string, signal: AbortSignal): Promise<IncomingMessage> {
    refuseSimulated(location, 'Get', path);
    return new Promise((resolve, reject) => {
      const req = httpsRequest({
        host: location.host, port: location.port, path, method: 'GET',
        cert: this.o.clientCert, key: this.o.clientKey, rejectUnauthorized: false,
        signal, timeout: this.o.dialTimeoutMs ?? DIAL_TIMEOUT_MS, agent: false,
      }, (res) => {
        req.setTimeout(0); // connected: a followed log may stay quiet for hours
        resolve(res);
      });
      req.on('timeout', () => req.destroy(new Error(`dial tcp ${hostPort(location)}: i/o timeout`)));
      req.on('error', (error) => reject(errors.internal(`Get "${url(location, path)}": ${describeDialError(error, location)}`)));
      req.end();
    });
  }

  /** A TLS connection to the node, ready for a raw upgrade request. */
  dial(location: NodeLocation, path: string): Promise<TLSSocket> {
    refuseSimulated(location, 'error dialing backend', path);
    return new Promise((resolve, reject) => {
      const socket = tlsConnect({
        host: location.host, port: location.port, servername: isIP(location.host) ? undefined : location.host,
        cert: this.o.clientCert, key: this.o.clientKey, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'],
      });
      const timer = setTimeout(() => socket.destroy(new Error(`dial tcp ${hostPort(location)}: i/o timeout`)), this.o.dialTimeoutMs ?? DIAL_TIMEOUT_MS);
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        socket.removeListener('error', onError);
        resolve(socket);
      });
      const onError = (error: Error) => {
        clearTimeout(timer);
        reject(errors.internal(`error dialing backend: ${describeDialError(error, location)}`));
      };
      socket.once('error', onError);
    });
  }
}

function refuseSimulated(location: NodeLocation, verb: string, path: string): void {
  // Never dial a hollow node's made-up address: it would leave the machine and hang.
  if (location.simulated) {
    throw errors.internal(`${verb} "${url(location, path)}": node "${location.nodeName}" is simulated and runs no containers`);
  }
}

function hostPort(location: NodeLocation): string {
  return isIPv6(location.host) ? `[${location.host}]:${location.port}` : `${location.host}:${location.port}`;
}

function url(location: NodeLocation, path: string): string {
  return `https://${hostPort(location)}${path}`;
}

/** Go's wording for the common dial failures (what kubectl users know from upstream). */
function describeDialError(error: Error, location: NodeLocation): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED') return `dial tcp ${hostPort(location)}: connect: connection refused`;
  if (code === 'EHOSTUNREACH') return `dial tcp ${hostPort(location)}: connect: no route to host`;
  return error.message;
}
