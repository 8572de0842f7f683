// A small AMQP 1.0 encoder for writing frames by hand (valid, malformed and hostile ones), and a reader
// of what the router answers (through rhea's own frame decoder).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const rheaFrames: any = require('rhea/lib/frames.js');

export const AMQP_HEADER = Buffer.from('AMQP\x00\x01\x00\x00', 'latin1');
export const SASL_HEADER = Buffer.from('AMQP\x03\x01\x00\x00', 'latin1');

export const PERFORMATIVES = {
  open: 0x10,
  begin: 0x11,
  attach: 0x12,
  flow: 0x13,
  transfer: 0x14,
  disposition: 0x15,
  detach: 0x16,
  end: 0x17,
  close: 0x18,
  'sasl-mechanisms': 0x40,
  'sasl-init': 0x41,
  'sasl-challenge': 0x42,
  'sasl-response': 0x43,
  'sasl-outcome': 0x44,
} as const;
export type PerformativeName = keyof typeof PERFORMATIVES;

const u8 = (...b: number[]) => Buffer.from(b);
function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** Encoders: each returns one encoded value (constructor included). */
export const v = {
  null: () => u8(0x40),
  bool: (x: boolean) => u8(x ? 0x41 : 0x42),
  ubyte: (n: number) => u8(0x50, n & 0xff),
  ushort: (n: number) => u8(0x60, (n >> 8) & 0xff, n & 0xff),
  uint: (n: number) => (n === 0 ? u8(0x43) : n < 256 ? u8(0x52, n) : Buffer.concat([u8(0x70), u32(n)])),
  uint32: (n: number) => Buffer.concat([u8(0x70), u32(n)]),
  ulong: (n: number) =>
    n === 0 ? u8(0x44) : n < 256 ? u8(0x53, n) : Buffer.concat([u8(0x80), u32(Math.floor(n / 2 ** 32)), u32(n % 2 ** 32)]),
  int: (n: number) => Buffer.concat([u8(0x71), u32(n | 0)]),
  str: (s: string) => sized(0xa1, 0xb1, Buffer.from(s, 'utf8')),
  sym: (s: string) => sized(0xa3, 0xb3, Buffer.from(s, 'latin1')),
  bin: (b: Buffer) => sized(0xa0, 0xb0, b),
  list: (items: Buffer[]) => compound(0xc0, 0xd0, items, true),
  list32: (items: Buffer[]) => compound(0xc0, 0xd0, items, false),
  map: (pairs: Buffer[]) => compound(0xc1, 0xd1, pairs, true),
  /** Array of one element type; elements are bodies without their constructor. */
  array: (code: number, bodies: Buffer[]) => {
    const data = Buffer.concat([u8(code), ...bodies]);
    if (data.length + 1 < 256 && bodies.length < 256) return Buffer.concat([u8(0xe0, data.length + 1, bodies.length), data]);
    return Buffer.concat([u8(0xf0), u32(data.length + 4), u32(bodies.length), data]);
  },
  symArray: (syms: string[]) =>
    v.array(
      0xa3,
      syms.map((s) => Buffer.concat([u8(s.length), Buffer.from(s, 'latin1')])),
    ),
  described: (descriptor: number, value: Buffer) => Buffer.concat([u8(0x00), v.ulong(descriptor), value]),
};

function sized(small: number, large: number, data: Buffer): Buffer {
  return data.length < 256 ? Buffer.concat([u8(small, data.length), data]) : Buffer.concat([u8(large), u32(data.length), data]);
}

function compound(small: number, large: number, items: Buffer[], allowSmall: boolean): Buffer {
  if (items.length === 0 && small === 0xc0 && allowSmall) return u8(0x45);
  const data = Buffer.concat(items);
  if (allowSmall && data.length + 1 < 256 && items.length < 256) return Buffer.concat([u8(small, data.length + 1, items.length), data]);
  return Buffer.concat([u8(large), u32(data.length + 4), u32(items.length), data]);
}

/** A performative: described list; missing trailing fields are left out, holes are null. */
export function performative(code: number, fields: (Buffer | undefined)[]): Buffer {
  let n = fields.length;
  while (n > 0 && fields[n - 1] === undefined) n--;
  return v.described(code, v.list(fields.slice(0, n).map((f) => f ?? v.null())));
}

export function frame(body: Buffer, opts: { type?: number; channel?: number; payload?: Buffer } = {}): Buffer {
  const head = Buffer.alloc(8);
  const payload = opts.payload ?? Buffer.alloc(0);
  head.writeUInt32BE(8 + body.length + payload.length, 0);
  head[4] = 2;
  head[5] = opts.type ?? 0;
  head.writeUInt16BE(opts.channel ?? 0, 6);
  return Buffer.concat([head, body, payload]);
}

export const HEARTBEAT = frame(Buffer.alloc(0));

// Performatives with their fields in order (AMQP 1.0 part 2, 2.7).
export const p = {
  open: (o: { container?: string; maxFrameSize?: number; idleTimeOut?: number; properties?: Buffer } = {}) =>
    performative(0x10, [
      v.str(o.container ?? 'fuzz-client'),
      undefined,
      o.maxFrameSize !== undefined ? v.uint32(o.maxFrameSize) : undefined,
      undefined,
      o.idleTimeOut !== undefined ? v.uint32(o.idleTimeOut) : undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      o.properties,
    ]),
  begin: (o: { remoteChannel?: number; nextOutgoingId?: number; incomingWindow?: number; outgoingWindow?: number } = {}) =>
    performative(0x11, [
      o.remoteChannel !== undefined ? v.ushort(o.remoteChannel) : undefined,
      v.uint(o.nextOutgoingId ?? 0),
      v.uint(o.incomingWindow ?? 2048),
      v.uint(o.outgoingWindow ?? 2048),
    ]),
  /** role false: we send (the router receives), true: we receive. */
  attach: (o: { name: string; handle: number; role: boolean; address?: string; dynamic?: boolean; sndSettleMode?: number }) => {
    const terminus = v.described(
      0x28,
      v.list(
        [o.address !== undefined ? v.str(o.address) : v.null(), undefined, undefined, undefined, o.dynamic ? v.bool(true) : undefined].map(
          (f) => f ?? v.null(),
        ),
      ),
    );
    const source = o.role ? terminus : v.described(0x28, v.list([]));
    const target = o.role
      ? v.described(0x29, v.list([]))
      : v.described(0x29, v.list([o.address !== undefined ? v.str(o.address) : v.null()]));
    return performative(0x12, [
      v.str(o.name),
      v.uint(o.handle),
      v.bool(o.role),
      o.sndSettleMode !== undefined ? v.ubyte(o.sndSettleMode) : undefined,
      undefined,
      source,
      target,
      undefined,
      undefined,
      o.role ? undefined : v.uint(0),
    ]);
  },
  flow: (
    o: {
      nextIncomingId?: number;
      incomingWindow?: number;
      nextOutgoingId?: number;
      outgoingWindow?: number;
      handle?: number;
      deliveryCount?: number;
      linkCredit?: number;
      drain?: boolean;
    } = {},
  ) =>
    performative(0x13, [
      v.uint(o.nextIncomingId ?? 0),
      v.uint(o.incomingWindow ?? 2048),
      v.uint(o.nextOutgoingId ?? 0),
      v.uint(o.outgoingWindow ?? 2048),
      o.handle !== undefined ? v.uint(o.handle) : undefined,
      o.handle !== undefined ? v.uint(o.deliveryCount ?? 0) : undefined,
      o.linkCredit !== undefined ? v.uint(o.linkCredit) : undefined,
      undefined,
      o.drain ? v.bool(true) : undefined,
    ]),
  transfer: (o: { handle: number; deliveryId?: number; tag?: Buffer; format?: number; settled?: boolean; more?: boolean }) =>
    performative(0x14, [
      v.uint(o.handle),
      o.deliveryId !== undefined ? v.uint(o.deliveryId) : undefined,
      o.tag ? v.bin(o.tag) : undefined,
      o.format !== undefined ? v.uint32(o.format) : undefined,
      o.settled !== undefined ? v.bool(o.settled) : undefined,
      o.more ? v.bool(true) : undefined,
    ]),
  disposition: (o: { role: boolean; first: number; last?: number; settled?: boolean; state?: Buffer }) =>
    performative(0x15, [
      v.bool(o.role),
      v.uint32(o.first),
      o.last !== undefined ? v.uint32(o.last) : undefined,
      o.settled !== undefined ? v.bool(o.settled) : undefined,
      o.state,
    ]),
  detach: (o: { handle: number; closed?: boolean }) => performative(0x16, [v.uint(o.handle), o.closed ? v.bool(true) : undefined]),
  end: () => performative(0x17, []),
  close: (error?: { condition: string; description?: string }) =>
    performative(0x18, [
      error
        ? v.described(0x1d, v.list([v.sym(error.condition), error.description !== undefined ? v.str(error.description) : v.null()]))
        : undefined,
    ]),
  saslMechanisms: (mechs: string[]) => performative(0x40, [v.symArray(mechs)]),
  saslInit: (mechanism: string, response?: Buffer) => performative(0x41, [v.sym(mechanism), response ? v.bin(response) : undefined]),
  saslChallenge: (b: Buffer) => performative(0x42, [v.bin(b)]),
  saslResponse: (b: Buffer) => performative(0x43, [v.bin(b)]),
  saslOutcome: (code: number) => performative(0x44, [v.ubyte(code)]),
};

/** A message: properties (to), application-properties, amqp-value body. */
export function message(o: { to?: string; body?: Buffer; appProps?: Buffer[] } = {}): Buffer {
  const parts: Buffer[] = [];
  if (o.to !== undefined) parts.push(v.described(0x73, v.list([v.null(), v.null(), v.str(o.to)])));
  if (o.appProps) parts.push(v.described(0x74, v.map(o.appProps)));
  parts.push(v.described(0x77, o.body ?? v.str('hello')));
  return Buffer.concat(parts);
}

export interface ReadFrame {
  kind: 'header' | 'frame';
  /** Performative descriptor code; undefined for an empty frame (heartbeat). */
  code?: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  performative?: any;
}

/** Splits what a peer sent into protocol headers and frames (decoded by rhea; the router's output is valid). */
export function readFrames(data: Buffer): ReadFrame[] {
  const out: ReadFrame[] = [];
  let off = 0;
  while (off + 8 <= data.length) {
    if (data.toString('latin1', off, off + 4) === 'AMQP') {
      out.push({ kind: 'header' });
      off += 8;
      continue;
    }
    const size = data.readUInt32BE(off);
    if (size < 8 || off + size > data.length) break;
    const f = rheaFrames.read_frame(data.subarray(off, off + size));
    const d = f.performative?.constructor?.descriptor?.numeric ?? f.performative?.descriptor?.value;
    out.push({ kind: 'frame', code: f.performative ? Number(d) : undefined, performative: f.performative });
    off += size;
  }
  return out;
}

/** The error condition of the close frame in what the router sent, if any. */
export function closeCondition(data: Buffer): string | undefined {
  const close = readFrames(data).find((f) => f.code === 0x18);
  if (!close) return undefined;
  return close.performative.error?.condition ?? '(no error)';
}
