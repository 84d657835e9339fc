// Building reply messages: header flags, EDNS, and fitting a UDP reply into
// the size the client can take (dropping records and setting TC, so the
// client asks again over TCP).
import dnsPacket, { type Answer, type DecodedPacket, type Packet } from 'dns-packet';

export const RCODES = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export type RcodeName = keyof typeof RCODES;

/** Without EDNS a UDP reply may not pass 512 bytes (RFC 1035); with it, what the client offers, capped. */
const CLASSIC_UDP_SIZE = 512;
const MAX_UDP_SIZE = 4096;
const OUR_EDNS_SIZE = 1232;

export interface ReplyOptions {
  request: DecodedPacket;
  rcode: RcodeName;
  authoritative: boolean;
  answers?: Answer[];
  authorities?: Answer[];
  additionals?: Answer[];
}

export function opcodeOf(request: DecodedPacket): number {
  return ((request.flags ?? 0) >> 11) & 0xf;
}

function requestOpt(request: DecodedPacket): Extract<Answer, { type: 'OPT' }> | undefined {
  return request.additionals?.find((a): a is Extract<Answer, { type: 'OPT' }> => a.type === 'OPT');
}

/** The largest UDP reply this client accepts. */
export function udpLimit(request: DecodedPacket): number {
  const opt = requestOpt(request);
  if (!opt) return CLASSIC_UDP_SIZE;
  return Math.min(MAX_UDP_SIZE, Math.max(CLASSIC_UDP_SIZE, opt.udpPayloadSize ?? CLASSIC_UDP_SIZE));
}

export function buildReply(options: ReplyOptions): Packet {
  const { request } = options;
  const flags =
    (options.authoritative ? dnsPacket.AUTHORITATIVE_ANSWER : 0) |
    ((request.flags ?? 0) & dnsPacket.RECURSION_DESIRED) |
    dnsPacket.RECURSION_AVAILABLE |
    (opcodeOf(request) << 11) |
    RCODES[options.rcode];
  const additionals = [...(options.additionals ?? [])];
  // A client that speaks EDNS hears EDNS back (RFC 6891).
  if (requestOpt(request)) additionals.push({ name: '.', type: 'OPT', udpPayloadSize: OUR_EDNS_SIZE, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] } as unknown as Answer);
  return {
    id: request.id,
    type: 'response',
    flags,
    questions: request.questions,
    answers: options.answers ?? [],
    authorities: options.authorities ?? [],
    additionals,
  };
}

/**
 * Encode, fitting `limit` bytes: first the additional records go (no TC: they
 * are optional), then answers and authorities from the end, with TC set.
 */
export function encodeWithin(packet: Packet, limit: number): Buffer {
  let encoded = dnsPacket.encode(packet);
  if (encoded.length <= limit) return encoded;
  const opt = (packet.additionals ?? []).filter((a) => a.type === 'OPT');
  const trimmed: Packet = { ...packet, additionals: opt };
  encoded = dnsPacket.encode(trimmed);
  if (encoded.length <= limit) return encoded;
  const answers = [...(packet.answers ?? [])];
  const authorities = [...(packet.authorities ?? [])];
  const truncated: Packet = { ...trimmed, flags: (packet.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE, answers, authorities };
  while (answers.length + authorities.length > 0) {
    if (authorities.length) authorities.pop();
    else answers.pop();
    encoded = dnsPacket.encode(truncated);
    if (encoded.length <= limit) return encoded;
  }
  return dnsPacket.encode(truncated);
}

/** A bare error reply for a message we could not read (id kept when there is one). */
export function errorReplyFor(raw: Buffer, rcode: RcodeName): Buffer | undefined {
  if (raw.length < 12) return undefined;
  const reply = Buffer.alloc(12);
  raw.copy(reply, 0, 0, 4);
  // QR set, opcode and RD kept, AA/TC/RA cleared, our rcode.
  const requestFlags = raw.readUInt16BE(2);
  reply.writeUInt16BE(0x8000 | (requestFlags & 0x7900) | RCODES[rcode], 2);
  return reply;
}
