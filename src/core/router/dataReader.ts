// Reads the peer's van/data transfers without rhea. A router sends every data frame with one fixed
// 38-byte transfer head (peer.ts fastSend: the data link's handle, a uint delivery-id, a 5-byte tag,
// the van message format, settled, not more); through rhea such a frame costs a Buffer.concat of its
// pieces, a decoded performative, a delivery object with five closures and a settle round, which is
// most of the receiving router's time. This reader sits in front of the frame guard and rhea: it follows
// the frame boundaries itself, recognises that exact head, and hands the payload on as it arrives (a
// DATA frame split across TLS records goes on in pieces, without being gathered first). Every other
// frame, and any frame that differs from the fixed head in a single byte, goes to the guard and rhea
// unchanged, in order.
// Bounded: it holds at most the 38 bytes of a head split across reads; nothing else is buffered.
// Pure: no sockets, no rhea (the caller keeps rhea's counters in `accept`).

/** Size of the fixed transfer head (frame header and performative) of a data frame. */
export const DATA_HEAD = 38;

/** What the reader needs from the connection it reads for. */
export interface DataFrameSink {
  /**
   * A data frame's head was read: do rhea's bookkeeping for this delivery (counters, credit) and return
   * true, or return false to have the frame go to rhea instead (e.g. an unexpected delivery-id).
   */
  accept(deliveryId: number): boolean;
  /** A frame's payload, or for DATA a piece of it (in order; pieces of one frame share its tag). */
  frame(kind: number, reverse: boolean, id: number, payload: Buffer): void;
  /** Bytes for the frame guard and rhea. */
  pass(bytes: Buffer): void;
  /**
   * Bytes left of the AMQP frame the guard is reading: 0 at a frame boundary (where this reader may
   * start), -1 when it cannot tell (not in AMQP frames yet, or a frame's size not read yet).
   */
  frameRemaining(): number;
  /** True once the connection refused input: nothing more is read. */
  stopped(): boolean;
}

/** The delivery tag's first byte: the kind (DATA is 2) and the reverse bit. */
const KIND_DATA = 2;
const KIND_MIN = 1;
const KIND_MAX = 5;
const REVERSE = 0x80;
const EMPTY = Buffer.alloc(0);

/** The head's fixed bytes (offset, value); the rest are the size, channel, handle, delivery-id and tag. */
const FIXED: readonly [number, number][] = [
  [4, 2], // doff: 2 words
  [5, 0], // AMQP frame
  [8, 0x00], // described
  [9, 0x53], // smallulong
  [10, 0x14], // transfer
  [11, 0xc0], // list8
  [12, 25], // its size
  [13, 6], // its count
  [14, 0x70], // handle: uint
  [19, 0x70], // delivery-id: uint
  [24, 0xa0], // delivery-tag: vbin8
  [25, 5], // of 5 bytes
  [31, 0x70], // message-format: uint
  [32, 0x56], // 'V'
  [33, 0x41], // 'A'
  [34, 0x4e], // 'N'
  [35, 0x00], // version 0
  [36, 0x41], // settled: true
  [37, 0x42], // more: false
];

/** The varying fields of a data frame's head; everything else in it is FIXED. */
export interface DataHead {
  /** The frame's size, head included (38 + payload bytes). */
  size: number;
  channel: number;
  handle: number;
  deliveryId: number;
  /** The 5-byte delivery tag (framing.ts encodeTag). */
  tag: Buffer;
}

/** The FIXED bytes in place: each head starts as a copy of it. */
const TEMPLATE = Buffer.alloc(DATA_HEAD);
for (const [i, v] of FIXED) TEMPLATE[i] = v;

/** The head of a data frame as a router sends it (peer.ts fastSend), the only head this reader takes. */
export function encodeDataHead(h: DataHead): Buffer {
  const b = Buffer.allocUnsafe(DATA_HEAD);
  TEMPLATE.copy(b);
  b.writeUInt32BE(h.size, 0);
  b.writeUInt16BE(h.channel, 6);
  b.writeUInt32BE(h.handle, 15);
  b.writeUInt32BE(h.deliveryId >>> 0, 20);
  h.tag.copy(b, 26);
  return b;
}

const enum Mode {
  /** Not following frames: everything goes to the guard (before the data link is up, or after a refusal). */
  Off,
  /** At a frame's start, reading (or holding) its head. */
  Head,
  /** Inside a frame for the guard: `remaining` bytes go there. */
  Pass,
  /** Inside a DATA frame of ours: `remaining` payload bytes go to the sink. */
  Data,
}

export class DataFrameReader {
  private mode = Mode.Off;
  private enabled = false;
  private channel = -1;
  private handle = -1;
  /** Bytes of the current frame still to come (Pass, Data). */
  private remaining = 0;
  /** The head of a frame split across reads. */
  private readonly head = Buffer.alloc(DATA_HEAD);
  private held = 0;
  // The tag of the DATA frame being read.
  private kind = 0;
  private reverse = false;
  private id = 0;

  constructor(
    private readonly maxFrameSize: number,
    private readonly sink: DataFrameSink,
  ) {}

  /** The data link is attached: the peer's transfers on (channel, handle) may be read here. */
  enable(channel: number, handle: number): void {
    this.channel = channel;
    this.handle = handle;
    this.enabled = true;
  }

  push(chunk: Buffer): void {
    let off = 0;
    if (this.mode === Mode.Off) {
      off = this.start(chunk);
      if (off < 0) return;
    }
    const n = chunk.length;
    while (off < n) {
      if (this.sink.stopped()) {
        this.mode = Mode.Off;
        this.enabled = false;
        return;
      }
      switch (this.mode) {
        case Mode.Head:
          off = this.readHead(chunk, off);
          break;
        case Mode.Pass: {
          const take = Math.min(this.remaining, n - off);
          this.sink.pass(off === 0 && take === n ? chunk : chunk.subarray(off, off + take));
          off += take;
          this.remaining -= take;
          if (this.remaining === 0) this.mode = Mode.Head;
          break;
        }
        case Mode.Data: {
          const take = Math.min(this.remaining, n - off);
          this.sink.frame(this.kind, this.reverse, this.id, chunk.subarray(off, off + take));
          off += take;
          this.remaining -= take;
          if (this.remaining === 0) this.mode = Mode.Head;
          break;
        }
        case Mode.Off:
          this.sink.pass(chunk.subarray(off));
          return;
      }
    }
  }

  /**
   * Not following frames yet: when enabled, take step with the guard at its next frame boundary in this
   * chunk. Returns where frames start, or -1 when the whole chunk went to the guard.
   */
  private start(chunk: Buffer): number {
    const left = this.enabled && !this.sink.stopped() ? this.sink.frameRemaining() : -1;
    if (left < 0 || left >= chunk.length) {
      this.sink.pass(chunk);
      return -1;
    }
    if (left > 0) this.sink.pass(chunk.subarray(0, left));
    this.mode = Mode.Head;
    return left;
  }

  /** Reads a frame's head from chunk[off...]; returns where reading goes on. */
  private readHead(chunk: Buffer, off: number): number {
    const avail = chunk.length - off;
    if (this.held === 0 && avail >= DATA_HEAD) {
      const next = this.take(chunk, off, chunk, off + DATA_HEAD);
      return next >= 0 ? next : this.toGuard(EMPTY, chunk.readUInt32BE(off), off);
    }
    // A head split across reads: its size first, then, for a frame that may be ours, the rest of the head
    // (never more than the frame's own bytes).
    const want = this.held < 4 ? 4 : DATA_HEAD;
    const take = Math.min(want - this.held, avail);
    chunk.copy(this.head, this.held, off, off + take);
    this.held += take;
    const end = off + take;
    if (this.held < 4) return end;
    const size = this.head.readUInt32BE(0);
    if (size >= DATA_HEAD && size <= this.maxFrameSize && this.held < DATA_HEAD) return end;
    const held = this.held;
    this.held = 0;
    if (held === DATA_HEAD) {
      const next = this.take(this.head, 0, chunk, end);
      if (next >= 0) return next;
    }
    // The guard and rhea may keep what they are given: a copy of the held bytes, not the buffer reused here.
    return this.toGuard(Buffer.from(this.head.subarray(0, held)), size, end);
  }

  /**
   * The frame is the guard's: `held` (its first bytes, already consumed here) goes there now, the rest of
   * the frame follows in Pass mode. A size below a frame header ends reading here (the guard refuses it).
   */
  private toGuard(held: Buffer, size: number, next: number): number {
    if (held.length) this.sink.pass(held);
    if (size < 8) {
      this.mode = Mode.Off;
      this.enabled = false;
      return next;
    }
    this.remaining = size - held.length;
    this.mode = Mode.Pass;
    return next;
  }

  /**
   * A data head at b[at...] (all 38 bytes there), its payload from chunk[payloadStart]. DATA is read in
   * pieces (Data mode); another kind only when its payload is whole in this chunk. Returns where reading
   * goes on, or -1: the frame is the guard's.
   */
  private take(b: Buffer, at: number, chunk: Buffer, payloadStart: number): number {
    const size = b.readUInt32BE(at);
    if (!this.isDataHead(b, at, size)) return -1;
    const kindByte = b[at + 26];
    const kind = kindByte & ~REVERSE;
    const payload = size - DATA_HEAD;
    if (kind !== KIND_DATA && chunk.length - payloadStart < payload) return -1;
    if (!this.sink.accept(b.readUInt32BE(at + 20))) return -1;
    const reverse = (kindByte & REVERSE) !== 0;
    const id = b.readUInt32BE(at + 27);
    if (kind !== KIND_DATA) {
      this.sink.frame(kind, reverse, id, chunk.subarray(payloadStart, payloadStart + payload));
      return payloadStart + payload;
    }
    if (payload > 0) {
      this.kind = kind;
      this.reverse = reverse;
      this.id = id;
      this.remaining = payload;
      this.mode = Mode.Data;
    }
    return payloadStart;
  }

  /** The fixed bytes, our channel and handle, a kind we know and a size we allow. */
  private isDataHead(b: Buffer, at: number, size: number): boolean {
    if (size < DATA_HEAD || size > this.maxFrameSize) return false;
    for (const [i, v] of FIXED) if (b[at + i] !== v) return false;
    if (b.readUInt16BE(at + 6) !== this.channel || b.readUInt32BE(at + 15) !== this.handle) return false;
    const kind = b[at + 26] & ~REVERSE;
    return kind >= KIND_MIN && kind <= KIND_MAX;
  }
}
