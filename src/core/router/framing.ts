// Framing of the TCP data path over AMQP. Many flows share one pair of links per inter-router
// connection; every delivery is pre-settled, carries a vendor message format (so rhea neither encodes
// nor decodes it) and names its flow in the delivery tag (5 bytes: kind, hop-local flow id). The
// payload of a DATA delivery is the TCP read itself, untouched. Delivery tags may repeat because
// pre-settled deliveries are never unsettled at either end (AMQP 1.0, 2.6.12).

/** AMQP message-format for van data frames: vendor 0x56414e ("VAN"), version 0. */
export const DATA_FORMAT = 0x56414e00;

export const enum Kind {
  Open = 1,
  Data = 2,
  End = 3,
  Reset = 4,
  Credit = 5,
}

/** Set when the receiver of the frame allocated the flow id (the frame travels back toward the opener). */
export const REVERSE = 0x80;

export interface Tag {
  kind: Kind;
  reverse: boolean;
  id: number;
}

export function encodeTag(kind: Kind, reverse: boolean, id: number): Buffer {
  const b = Buffer.allocUnsafe(5);
  b[0] = kind | (reverse ? REVERSE : 0);
  b.writeUInt32BE(id >>> 0, 1);
  return b;
}

export function decodeTag(tag: Buffer): Tag | undefined {
  if (!Buffer.isBuffer(tag) || tag.length !== 5) return undefined;
  const kind = tag[0] & 0x7f;
  if (kind < Kind.Open || kind > Kind.Credit) return undefined;
  return { kind, reverse: (tag[0] & REVERSE) !== 0, id: tag.readUInt32BE(1) };
}

export interface OpenInfo {
  /** Address of the service. */
  address: string;
  /** Router that owns the chosen target. */
  dest: string;
  /** Router where the flow came in (the tcp listener). */
  origin: string;
  /** Bytes the opener may receive before it grants more. */
  window: number;
}

export function encodeOpen(info: OpenInfo): Buffer {
  return Buffer.from(JSON.stringify({ a: info.address, d: info.dest, o: info.origin, w: info.window }), 'utf8');
}

export function decodeOpen(payload: Buffer): OpenInfo | undefined {
  try {
    const j = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
    if (typeof j.a !== 'string' || typeof j.d !== 'string' || typeof j.o !== 'string' || typeof j.w !== 'number') return undefined;
    return { address: j.a, dest: j.d, origin: j.o, window: j.w };
  } catch {
    return undefined;
  }
}

export function encodeCredit(bytes: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(Math.min(bytes, 0xffffffff) >>> 0, 0);
  return b;
}

export function decodeCredit(payload: Buffer): number {
  return payload.length >= 4 ? payload.readUInt32BE(0) : 0;
}

export const END_PAYLOAD = Buffer.from([0]);

export function encodeReset(reason: string): Buffer {
  return Buffer.from(reason || 'reset', 'utf8');
}
