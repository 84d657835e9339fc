// The WebSocket "channel" protocols of Kubernetes remote commands (exec,
// attach). Each binary message is one channel byte then the payload:
//   0 stdin (client → server), 1 stdout, 2 stderr,
//   3 error: at the end, the outcome (v4+: a Status JSON; v1–v3: plain text),
//   4 resize (v3+; client → server): {"Width":…,"Height":…}.
// v5 adds a close signal: the message [255, channel] half-closes a channel
// (kubectl sends [255, 0] when its stdin ends). The base64.* variants carry the
// channel as an ASCII digit and the payload base64-encoded in text messages.

export const CHANNEL = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4 } as const;
export const CLOSE_SIGNAL = 255;

export interface ChannelProtocol {
  /** The negotiated Sec-WebSocket-Protocol value. */
  name: string;
  version: 1 | 2 | 3 | 4 | 5;
  base64: boolean;
}

/** Server preference: newest first, binary before base64 (kubelet's order). */
const SUPPORTED: readonly ChannelProtocol[] = [
  { name: 'v5.channel.k8s.io', version: 5, base64: false },
  { name: 'v4.channel.k8s.io', version: 4, base64: false },
  { name: 'v4.base64.channel.k8s.io', version: 4, base64: true },
  { name: 'v3.channel.k8s.io', version: 3, base64: false },
  { name: 'v2.channel.k8s.io', version: 2, base64: false },
  { name: 'channel.k8s.io', version: 1, base64: false },
  { name: 'base64.channel.k8s.io', version: 1, base64: true },
];

/** The protocol to speak, from what the client offered; undefined when none is known. */
export function negotiateProtocol(offered: Iterable<string>): ChannelProtocol | undefined {
  const names = new Set([...offered].map((p) => p.trim()));
  return SUPPORTED.find((p) => names.has(p.name));
}

export const SUPPORTED_PROTOCOL_NAMES: readonly string[] = SUPPORTED.map((p) => p.name);

/** One message carrying `payload` on `channel`. */
export function encodeFrame(protocol: ChannelProtocol, channel: number, payload: Buffer): { data: Buffer | string; binary: boolean } {
  if (protocol.base64) return { data: String.fromCharCode(0x30 + channel) + payload.toString('base64'), binary: false };
  const frame = Buffer.allocUnsafe(payload.length + 1);
  frame[0] = channel;
  payload.copy(frame, 1);
  return { data: frame, binary: true };
}

export type DecodedFrame =
  | { kind: 'data'; channel: number; payload: Buffer }
  | { kind: 'close'; channel: number };

/** A received message; undefined for an empty one (which carries nothing). */
export function decodeFrame(protocol: ChannelProtocol, message: Buffer, isBinary: boolean): DecodedFrame | undefined {
  if (message.length === 0) return undefined;
  if (protocol.base64 && !isBinary) {
    const text = message.toString('latin1');
    return { kind: 'data', channel: text.charCodeAt(0) - 0x30, payload: Buffer.from(text.slice(1), 'base64') };
  }
  if (protocol.version >= 5 && message[0] === CLOSE_SIGNAL) {
    return message.length >= 2 ? { kind: 'close', channel: message[1] } : undefined;
  }
  return { kind: 'data', channel: message[0], payload: message.subarray(1) };
}

export interface TerminalSize {
  width: number;
  height: number;
}

/**
 * Terminal sizes from a resize message. Clients write each size as one JSON
 * document (Go's json.Encoder adds a newline); several may share a message.
 */
export function parseResize(payload: Buffer): TerminalSize[] {
  const sizes: TerminalSize[] = [];
  for (const part of payload.toString('utf8').split('\n')) {
    if (part.trim() === '') continue;
    try {
      const value = JSON.parse(part) as { Width?: unknown; Height?: unknown };
      const width = Number(value.Width);
      const height = Number(value.Height);
      if (Number.isInteger(width) && Number.isInteger(height) && width >= 0 && height >= 0 && width <= 0xffff && height <= 0xffff) {
        sizes.push({ width, height });
      }
    } catch {
      // A malformed size is ignored, as kubelet does.
    }
  }
  return sizes;
}

/**
 * What goes on the error channel when the command ends: v4+ a Status (success,
 * or NonZeroExitCode with the code as an ExitCode cause, which kubectl turns
 * into its own exit status); v1–v3 only a message on failure.
 */
export function exitPayload(protocol: Pick<ChannelProtocol, 'version'>, outcome: { exitCode: number } | { error: string }): Buffer | undefined {
  if ('error' in outcome) {
    if (protocol.version < 4) return Buffer.from(outcome.error);
    return Buffer.from(JSON.stringify({ metadata: {}, status: 'Failure', message: outcome.error, reason: 'InternalError', code: 500 }));
  }
  const { exitCode } = outcome;
  if (protocol.version < 4) {
    return exitCode === 0 ? undefined : Buffer.from(`command terminated with non-zero exit code: exit status ${exitCode}`);
  }
  if (exitCode === 0) return Buffer.from(JSON.stringify({ metadata: {}, status: 'Success' }));
  return Buffer.from(JSON.stringify({
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: exit status ${exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  }));
}
