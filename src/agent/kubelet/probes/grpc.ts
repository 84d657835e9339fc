// grpc probes: the standard health service (grpc.health.v1.Health/Check) as
// one unary call over HTTP/2 without TLS — the few bytes of protobuf and
// gRPC framing written by hand, so no gRPC library is needed. Messages are
// upstream's prober's.
import http2 from 'node:http2';
import { dialError } from './http.ts';
import { PROBE_USER_AGENT, type ProbeOutcome } from './types.ts';

const STATUS_NAMES = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];
const GRPC_UNIMPLEMENTED = 12;
const GRPC_DEADLINE_EXCEEDED = 4;

/** HealthCheckRequest { string service = 1 } in a gRPC length-prefixed frame. */
export function encodeHealthCheckRequest(service: string): Buffer {
  const name = Buffer.from(service, 'utf8');
  const message = name.length ? Buffer.concat([Buffer.from([0x0a]), varint(name.length), name]) : Buffer.alloc(0);
  const header = Buffer.alloc(5);
  header.writeUInt8(0, 0);
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

function varint(value: number): Buffer {
  const bytes: number[] = [];
  let v = value;
  while (v > 0x7f) {
    bytes.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  bytes.push(v);
  return Buffer.from(bytes);
}

/** The `status` of a HealthCheckResponse frame (0, UNKNOWN, when absent). */
export function decodeHealthCheckResponse(body: Buffer): number {
  if (body.length < 5) return 0;
  const length = body.readUInt32BE(1);
  const message = body.subarray(5, 5 + length);
  let i = 0;
  let status = 0;
  while (i < message.length) {
    const tag = message[i++]!;
    const field = tag >> 3;
    const wire = tag & 7;
    let value = 0;
    let shift = 0;
    if (wire === 0) {
      for (;;) {
        const b = message[i++]!;
        value |= (b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80) || i >= message.length) break;
      }
      if (field === 1) status = value;
    } else if (wire === 2) {
      let len = 0;
      for (;;) {
        const b = message[i++]!;
        len |= (b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80) || i >= message.length) break;
      }
      i += len;
    } else {
      break;
    }
  }
  return status;
}

export function grpcProbe(options: { host: string; port: number; service?: string; timeoutMs: number }): Promise<ProbeOutcome> {
  const { host, port, timeoutMs } = options;
  const address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const seconds = `${timeoutMs / 1000}s`;
  return new Promise((resolve) => {
    let settled = false;
    let connected = false;
    const session = http2.connect(`http://${address}`);
    const finish = (outcome: ProbeOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish(connected
      ? { result: 'failure', output: `timeout: health rpc did not complete within ${seconds}` }
      : { result: 'failure', output: `timeout: failed to connect service "${address}" within ${seconds}` }), timeoutMs);
    const connectFailure = (error: Error): ProbeOutcome => {
      const cause = ((error as { cause?: unknown }).cause ?? error) as NodeJS.ErrnoException;
      return { result: 'failure', output: `error: failed to connect service at "${address}": ${cause.code ? dialError(cause, 'tcp', address) : cause.message}` };
    };
    session.on('error', (error) => finish(connectFailure(error)));
    session.on('connect', () => { connected = true; });
    const stream = session.request({
      ':method': 'POST',
      ':path': '/grpc.health.v1.Health/Check',
      'content-type': 'application/grpc',
      te: 'trailers',
      'user-agent': PROBE_USER_AGENT,
      'grpc-timeout': `${Math.max(1, Math.floor(timeoutMs))}m`,
    });
    const chunks: Buffer[] = [];
    let grpcStatus: number | undefined;
    let grpcMessage = '';
    const readStatus = (headers: http2.IncomingHttpHeaders) => {
      if (headers['grpc-status'] !== undefined) grpcStatus = Number(headers['grpc-status']);
      if (headers['grpc-message'] !== undefined) grpcMessage = decodeURIComponent(String(headers['grpc-message']));
    };
    stream.on('response', readStatus);
    stream.on('trailers', readStatus);
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', (error) => finish(connected ? { result: 'failure', output: `error: health rpc probe failed: ${error.message}` } : connectFailure(error)));
    stream.on('end', () => {
      if (grpcStatus !== undefined && grpcStatus !== 0) {
        if (grpcStatus === GRPC_UNIMPLEMENTED) {
          finish({ result: 'failure', output: `error: this server does not implement the grpc health protocol (grpc.health.v1.Health): ${grpcMessage}` });
        } else if (grpcStatus === GRPC_DEADLINE_EXCEEDED) {
          finish({ result: 'failure', output: `timeout: health rpc did not complete within ${seconds}` });
        } else {
          finish({ result: 'failure', output: `error: health rpc probe failed: rpc error: code = ${grpcStatus} desc = ${grpcMessage}` });
        }
        return;
      }
      const status = decodeHealthCheckResponse(Buffer.concat(chunks));
      if (status === 1) finish({ result: 'success', output: 'service healthy' });
      else finish({ result: 'failure', output: `service unhealthy (responded with "${STATUS_NAMES[status] ?? String(status)}")` });
    });
    stream.end(encodeHealthCheckRequest(options.service ?? ''));
  });
}
