// A bounded pre-check of AMQP 1.0 input, between a socket and rhea. rhea trusts what a peer declares: an
// array's element count (2^31 zero-width elements exhaust the heap), a frame's size (it buffers whatever a
// frame claims), the sizes inside a list (it reads by count and ignores them). The guard follows the byte
// stream unit by unit (protocol headers, frames), refuses a frame larger than the max-frame-size we
// announced as soon as its size field arrives, and scans each performative completely, so that rhea only
// ever decodes frames whose every size and count fits the bytes that are there. The payload of a transfer
// is not walked here (the data path stays cheap); a message rhea decodes is checked by checkMessage.
// Pure: no sockets, no rhea.

export interface FrameError {
  /** An AMQP error condition for the close frame. */
  condition: string;
  description: string;
}

export const FRAMING_ERROR = 'amqp:connection:framing-error';
export const DECODE_ERROR = 'amqp:decode-error';

/** Deeper nesting is refused (rhea's decoder recurses once per level). */
const MAX_DEPTH = 32;
/** Descriptors chained on one value (rhea recurses once per descriptor). */
const MAX_CHAIN = 4;
const HEAD = 8;

// Type codes by kind (AMQP 1.0 part 1, 1.6).
const BAD = 0;
const FIXED = 1;
const VAR8 = 2;
const VAR32 = 3;
const LIST8 = 4;
const LIST32 = 5;
const MAP8 = 6;
const MAP32 = 7;
const ARRAY8 = 8;
const ARRAY32 = 9;

const KIND = new Uint8Array(256);
const WIDTH = new Uint8Array(256);
function fixed(codes: number[], width: number): void {
  for (const c of codes) {
    KIND[c] = FIXED;
    WIDTH[c] = width;
  }
}
fixed([0x40, 0x41, 0x42, 0x43, 0x44, 0x45], 0); // null, true, false, uint0, ulong0, list0
fixed([0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56], 1);
fixed([0x60, 0x61], 2);
fixed([0x70, 0x71, 0x72, 0x73, 0x74], 4);
fixed([0x80, 0x81, 0x82, 0x83, 0x84], 8);
fixed([0x94, 0x98], 16);
for (const c of [0xa0, 0xa1, 0xa3]) KIND[c] = VAR8;
for (const c of [0xb0, 0xb1, 0xb3]) KIND[c] = VAR32;
KIND[0xc0] = LIST8;
KIND[0xd0] = LIST32;
KIND[0xc1] = MAP8;
KIND[0xd1] = MAP32;
KIND[0xe0] = ARRAY8;
KIND[0xf0] = ARRAY32;

const TRANSFER = 0x14;
/** Symbolic descriptors of the performatives (numeric ones are what every client sends). */
const SYMBOLIC: Record<string, number> = {
  'amqp:open:list': 0x10,
  'amqp:begin:list': 0x11,
  'amqp:attach:list': 0x12,
  'amqp:flow:list': 0x13,
  'amqp:transfer:list': 0x14,
  'amqp:disposition:list': 0x15,
  'amqp:detach:list': 0x16,
  'amqp:end:list': 0x17,
  'amqp:close:list': 0x18,
  'amqp:sasl-mechanisms:list': 0x40,
  'amqp:sasl-init:list': 0x41,
  'amqp:sasl-challenge:list': 0x42,
  'amqp:sasl-response:list': 0x43,
  'amqp:sasl-outcome:list': 0x44,
};
const SECTIONS: Record<string, number> = {
  'amqp:header:list': 0x70,
  'amqp:delivery-annotations:map': 0x71,
  'amqp:message-annotations:map': 0x72,
  'amqp:properties:list': 0x73,
  'amqp:application-properties:map': 0x74,
  'amqp:data:binary': 0x75,
  'amqp:amqp-sequence:list': 0x76,
  'amqp:amqp-value:*': 0x77,
  'amqp:footer:map': 0x78,
};

/**
 * Scans encoded AMQP values within bounds. Every method returns the position after what it read, or -1
 * with `why` set.
 */
class Scanner {
  why = '';
  /** The numeric value of the last descriptor read (-1 when symbolic or out of range). */
  code = -1;
  /** The last symbolic descriptor read. */
  symbol = '';

  private bad(why: string): number {
    this.why = why;
    return -1;
  }

  value(b: Buffer, p: number, end: number, depth: number): number {
    if (p >= end) return this.bad('a value runs past the end of its container');
    let code = b[p++];
    for (let chain = 0; code === 0x00; chain++) {
      if (chain === MAX_CHAIN) return this.bad(`more than ${MAX_CHAIN} descriptors on one value`);
      p = this.descriptor(b, p, end);
      if (p < 0) return p;
      if (p >= end) return this.bad('a described type without a value');
      code = b[p++];
    }
    return this.body(code, b, p, end, depth);
  }

  /** A descriptor: a ulong or a symbol, as AMQP itself uses. */
  descriptor(b: Buffer, p: number, end: number): number {
    if (p >= end) return this.bad('a descriptor runs past the end');
    const c = b[p++];
    this.code = -1;
    this.symbol = '';
    switch (c) {
      case 0x53:
        if (p + 1 > end) break;
        this.code = b[p];
        return p + 1;
      case 0x80:
        if (p + 8 > end) break;
        this.code = b.readUInt32BE(p) === 0 ? b.readUInt32BE(p + 4) : -1;
        return p + 8;
      case 0x44:
        this.code = 0;
        return p;
      case 0xa3:
      case 0xb3: {
        const q = this.body(c, b, p, end, 0);
        if (q < 0) return q;
        const w = c === 0xa3 ? 1 : 4;
        this.symbol = b.toString('latin1', p + w, q);
        return q;
      }
      default:
        return this.bad(`a descriptor of type 0x${c.toString(16)} (only ulong and symbol descriptors are accepted)`);
    }
    return this.bad('a descriptor runs past the end');
  }

  /** The value of a constructor already read. */
  body(code: number, b: Buffer, p: number, end: number, depth: number): number {
    switch (KIND[code]) {
      case FIXED: {
        const q = p + WIDTH[code];
        return q <= end ? q : this.bad('a fixed-width value runs past the end of its container');
      }
      case VAR8: {
        if (p >= end) break;
        const q = p + 1 + b[p];
        return q <= end ? q : this.bad(`a value declaring ${b[p]} bytes where ${end - p - 1} remain`);
      }
      case VAR32: {
        if (p + 4 > end) break;
        const n = b.readUInt32BE(p);
        const q = p + 4 + n;
        return q <= end ? q : this.bad(`a value declaring ${n} bytes where ${end - p - 4} remain`);
      }
      case LIST8:
        return this.compound(b, p, end, depth, 1, false);
      case LIST32:
        return this.compound(b, p, end, depth, 4, false);
      case MAP8:
        return this.compound(b, p, end, depth, 1, true);
      case MAP32:
        return this.compound(b, p, end, depth, 4, true);
      case ARRAY8:
        return this.array(b, p, end, depth, 1);
      case ARRAY32:
        return this.array(b, p, end, depth, 4);
      default:
        return this.bad(`an unknown type code 0x${code.toString(16)}`);
    }
    return this.bad('a size field runs past the end of its container');
  }

  /** List or map: size and count fields of width w, then count values filling size exactly. */
  private compound(b: Buffer, p: number, end: number, depth: number, w: number, map: boolean): number {
    if (depth >= MAX_DEPTH) return this.bad(`values nested deeper than ${MAX_DEPTH}`);
    if (p + 2 * w > end) return this.bad('a list or map header runs past the end of its container');
    const size = w === 1 ? b[p] : b.readUInt32BE(p);
    const count = w === 1 ? b[p + 1] : b.readUInt32BE(p + 4);
    const stop = p + w + size;
    if (size < w || stop > end) return this.bad(`a list or map declaring ${size} bytes where ${end - p - w} remain`);
    // Every element takes at least its one-byte constructor.
    if (count > size - w) return this.bad(`a list or map declaring ${count} elements in ${size - w} bytes`);
    if (map && count % 2 !== 0) return this.bad(`a map with an odd element count (${count})`);
    p += 2 * w;
    for (let i = 0; i < count; i++) {
      p = this.value(b, p, stop, depth + 1);
      if (p < 0) return p;
    }
    return p === stop ? p : this.bad('a list or map whose elements do not fill its declared size');
  }

  /** Array: size and count of width w, one constructor, count bodies filling size exactly. */
  private array(b: Buffer, p: number, end: number, depth: number, w: number): number {
    if (depth >= MAX_DEPTH) return this.bad(`values nested deeper than ${MAX_DEPTH}`);
    if (p + 2 * w > end) return this.bad('an array header runs past the end of its container');
    const size = w === 1 ? b[p] : b.readUInt32BE(p);
    const count = w === 1 ? b[p + 1] : b.readUInt32BE(p + 4);
    const stop = p + w + size;
    if (size < w + 1 || stop > end) return this.bad(`an array declaring ${size} bytes where ${end - p - w} remain`);
    // Elements of null, true, false, uint0, ulong0 and list0 take no bytes: the count alone would let a
    // peer make the decoder build any number of them. A count never exceeds the bytes that are there.
    if (count > size) return this.bad(`an array declaring ${count} elements in ${size} bytes`);
    p += 2 * w;
    let code = b[p++];
    if (code === 0x00) {
      p = this.descriptor(b, p, stop);
      if (p < 0) return p;
      if (p >= stop) return this.bad('an array of a described type without an element constructor');
      code = b[p++];
      if (code === 0x00) return this.bad('an array element type described twice');
    }
    const kind = KIND[code];
    if (kind === BAD) return this.bad(`an array of unknown type code 0x${code.toString(16)}`);
    if (kind === FIXED) {
      return p + count * WIDTH[code] === stop ? stop : this.bad('an array whose elements do not fill its declared size');
    }
    for (let i = 0; i < count; i++) {
      p = this.body(code, b, p, stop, depth + 1);
      if (p < 0) return p;
    }
    return p === stop ? p : this.bad('an array whose elements do not fill its declared size');
  }
}

type Phase = 'header' | 'sasl' | 'amqp';

/**
 * Feed it the reads of one connection, in order; it returns the bytes that may go on to rhea: the read
 * itself (no copy), or, once a unit is refused, the part of the read before that unit. Reads are not
 * regrouped: rhea buffers a frame split across reads as it always did, but the guard has checked the
 * frame's size before rhea sees its size field complete (nothing above max-frame-size is ever waited
 * for) and its performative before rhea sees the frame's last byte (so rhea never decodes a frame the
 * guard did not scan). Only a frame's head and performative are copied, and only when they are split
 * across reads. After an error, `error` is set and nothing more passes.
 */
export class FrameGuard {
  error?: FrameError;
  /** What the peer is sending: a protocol header, SASL frames, AMQP frames. */
  phase: Phase = 'header';
  // The unit (protocol header or frame) being read.
  /** Its size; 0 until its head is known. */
  private size = 0;
  /** Bytes of it read so far (while unchecked: the bytes in `head`). */
  private seen = 0;
  private checked = false;
  private isHeader = false;
  /** Bytes from its start that must be at hand, contiguous, for the next step of its check. */
  private need = HEAD;
  /** End of its performative (from its start); 0 until known. */
  private perfEnd = 0;
  /** Its first bytes when they are split across reads. */
  private head = Buffer.alloc(64);
  private readonly scan = new Scanner();

  constructor(readonly maxFrameSize: number) {}

  /**
   * Bytes left of the AMQP frame being read: 0 at a frame boundary, -1 when that is unknown (not in AMQP
   * frames yet, a frame whose size is not read yet, or refused input). Lets a reader in front of the
   * guard take step with it.
   */
  get frameRemaining(): number {
    if (this.phase !== 'amqp' || this.error) return -1;
    if (this.size === 0) return this.seen === 0 ? 0 : -1;
    return this.size - this.seen;
  }

  push(chunk: Buffer): Buffer {
    if (this.error) return EMPTY;
    const n = chunk.length;
    let off = 0;
    let unitStart = 0; // where the current unit starts in this read (0 when it started before)
    while (off < n) {
      if (this.seen === 0 && !this.checked) unitStart = off;
      if (!this.checked) {
        if (this.seen === 0 && n - off >= this.need) {
          // The usual case: the unit's head and performative are in this read; check them in place.
          while (!this.checked && !this.error && n - off >= this.need) this.step(chunk, off, n - off);
          if (this.error) return chunk.subarray(0, unitStart);
          if (!this.checked) {
            this.keep(chunk, off, n); // the rest of the read: the unit continues in the next one
            break;
          }
        } else {
          const take = Math.min(this.need - this.seen, n - off);
          this.keep(chunk, off, off + take);
          off += take;
          if (this.seen < this.need) {
            this.earlyCheck();
            if (this.error) return chunk.subarray(0, unitStart);
            break;
          }
          while (!this.checked && !this.error && this.seen >= this.need) this.step(this.head, 0, this.seen);
          if (this.error) return chunk.subarray(0, unitStart);
          if (!this.checked) continue;
        }
      }
      // Checked: the rest of the unit passes as it is.
      const take = Math.min(this.size - this.seen, n - off);
      off += take;
      this.seen += take;
      if (this.seen === this.size) this.next();
    }
    return chunk;
  }

  private next(): void {
    this.size = 0;
    this.seen = 0;
    this.checked = false;
    this.need = HEAD;
    this.perfEnd = 0;
    if (this.head.length > 4096) this.head = Buffer.alloc(64);
  }

  /** Keeps chunk[from, to) of an unchecked unit in `head`. */
  private keep(chunk: Buffer, from: number, to: number): void {
    const len = this.seen + to - from;
    if (len > this.head.length) {
      const grown = Buffer.alloc(Math.max(len, 2 * this.head.length));
      this.head.copy(grown, 0, 0, this.seen);
      this.head = grown;
    }
    chunk.copy(this.head, this.seen, from, to);
    this.seen = len;
  }

  private fail(condition: string, description: string): -1 {
    this.error ??= { condition, description };
    this.head = EMPTY;
    return -1;
  }

  private refuse(description: string): void {
    this.fail(DECODE_ERROR, description);
  }

  /** Refuses an oversized frame from its first four bytes. */
  private earlyCheck(): void {
    if (this.phase !== 'amqp' || this.size !== 0 || this.seen < 4) return;
    const size = this.head.readUInt32BE(0);
    if (size > this.maxFrameSize) this.fail(FRAMING_ERROR, `a frame of ${size} bytes exceeds the max-frame-size of ${this.maxFrameSize}`);
  }

  /** One step of checking the unit whose first `avail` (>= need) bytes are b[base...]. */
  private step(b: Buffer, base: number, avail: number): void {
    if (this.size === 0) {
      const size = this.unitSize(b, base);
      if (size < 0) return;
      this.size = size;
      const bodyStart = b[base + 4] * 4;
      if (this.isHeader || size === bodyStart) {
        this.checked = true; // a protocol header, or an empty frame (heartbeat)
        return;
      }
      this.need = bodyStart + 1;
      return;
    }
    if (this.perfEnd === 0) {
      const want = this.performativeEnd(b, base, avail);
      if (want < 0) return;
      if (want > this.size) return this.refuse('a performative that runs past the end of its frame');
      this.need = want;
      return;
    }
    this.checkPerformative(b, base);
    this.checked = !this.error;
  }

  /** Whether the next unit is a protocol header. */
  private expectsHeader(b: Buffer, off: number): boolean {
    if (this.phase === 'header') return true;
    // After SASL the client sends the AMQP header.
    return this.phase === 'sasl' && b[off] === 0x41 && b[off + 1] === 0x4d && b[off + 2] === 0x51 && b[off + 3] === 0x50;
  }

  /** The size of the unit starting at off (8 bytes at hand), checking its head; -1 on error. */
  private unitSize(b: Buffer, off: number): number {
    this.isHeader = this.expectsHeader(b, off);
    if (this.isHeader) {
      if (b[off] !== 0x41 || b[off + 1] !== 0x4d || b[off + 2] !== 0x51 || b[off + 3] !== 0x50) {
        return this.fail(FRAMING_ERROR, 'the connection does not start with an AMQP protocol header');
      }
      const id = b[off + 4];
      if (b[off + 5] !== 1 || b[off + 6] !== 0) return this.fail(FRAMING_ERROR, `unsupported AMQP version ${b[off + 5]}.${b[off + 6]}`);
      if (id === 0) this.phase = 'amqp';
      else if (id === 3 && this.phase === 'header') this.phase = 'sasl';
      else return this.fail(FRAMING_ERROR, `protocol id ${id} not expected here`);
      return HEAD;
    }
    const size = b.readUInt32BE(off);
    if (size > this.maxFrameSize)
      return this.fail(FRAMING_ERROR, `a frame of ${size} bytes exceeds the max-frame-size of ${this.maxFrameSize}`);
    if (size < HEAD) return this.fail(FRAMING_ERROR, `a frame of ${size} bytes is shorter than a frame header`);
    const doff = b[off + 4];
    if (doff < 2 || doff * 4 > size) return this.fail(FRAMING_ERROR, `a frame with data offset ${doff} in ${size} bytes`);
    const type = b[off + 5];
    const want = this.phase === 'amqp' ? 0 : 1;
    if (type !== want) return this.fail(FRAMING_ERROR, `a frame of type ${type} where ${want === 0 ? 'AMQP' : 'SASL'} frames are expected`);
    return size;
  }

  /**
   * Where the performative ends (from the unit's start), read from its descriptor and list header; or,
   * when `avail` bytes are too few to tell, how many are needed (the result is then > avail). -1 on error.
   */
  private performativeEnd(b: Buffer, base: number, avail: number): number {
    let p = b[base + 4] * 4; // from the unit's start
    if (b[base + p] !== 0x00) return this.fail(DECODE_ERROR, 'a frame body that does not start with a described performative');
    p++;
    if (avail < p + 1) return p + 1;
    switch (b[base + p]) {
      case 0x53:
        p += 2;
        break;
      case 0x80:
        p += 9;
        break;
      case 0xa3:
        if (avail < p + 2) return p + 2;
        p += 2 + b[base + p + 1];
        break;
      case 0xb3:
        if (avail < p + 5) return p + 5;
        p += 5 + b.readUInt32BE(base + p + 1);
        break;
      default:
        return this.fail(DECODE_ERROR, `a performative descriptor of type 0x${b[base + p].toString(16)}`);
    }
    if (avail < p + 1) return p + 1;
    switch (b[base + p]) {
      case 0x45:
        this.perfEnd = p + 1;
        return this.perfEnd;
      case 0xc0:
        if (avail < p + 2) return p + 2;
        this.perfEnd = p + 2 + b[base + p + 1];
        return this.perfEnd;
      case 0xd0:
        if (avail < p + 5) return p + 5;
        this.perfEnd = p + 5 + b.readUInt32BE(base + p + 1);
        return this.perfEnd;
      default:
        return this.fail(DECODE_ERROR, `a performative whose fields are not a list (type 0x${b[base + p].toString(16)})`);
    }
  }

  /** Scans the performative (perfEnd bytes of the unit at hand) completely. */
  private checkPerformative(b: Buffer, base: number): void {
    const end = base + this.perfEnd;
    const s = this.scan;
    let p = s.descriptor(b, base + b[base + 4] * 4 + 1, end);
    if (p < 0) return this.refuse(`a malformed performative: ${s.why}`);
    const code = s.code >= 0 ? s.code : (SYMBOLIC[s.symbol] ?? -1);
    const ok = this.phase === 'amqp' ? code >= 0x10 && code <= 0x18 : code >= 0x40 && code <= 0x44;
    if (!ok)
      return this.refuse(
        `an unknown ${this.phase === 'amqp' ? 'AMQP' : 'SASL'} performative (descriptor ${code >= 0 ? `0x${code.toString(16)}` : JSON.stringify(s.symbol.slice(0, 64))})`,
      );
    const list = b[p++];
    p = s.body(list, b, p, end, 1);
    if (p < 0) return this.refuse(`a malformed performative 0x${code.toString(16)}: ${s.why}`);
    if (this.perfEnd < this.size && code !== TRANSFER)
      return this.refuse(`a payload after performative 0x${code.toString(16)}, which carries none`);
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * Checks a message (the payload of a delivery, before rhea decodes it): a sequence of described sections
 * with valid encodings. Returns why it is refused, or undefined.
 */
export function checkMessage(b: Buffer): string | undefined {
  const s = new Scanner();
  const end = b.length;
  let p = 0;
  while (p < end) {
    if (b[p] !== 0x00) return 'a message section that is not a described type';
    p = s.descriptor(b, p + 1, end);
    if (p < 0) return `a malformed message section: ${s.why}`;
    const code = s.code >= 0 ? s.code : (SECTIONS[s.symbol] ?? -1);
    if (code < 0x70 || code > 0x78) return 'an unknown message section';
    p = s.value(b, p, end, 1);
    if (p < 0) return `a malformed message section: ${s.why}`;
  }
  return undefined;
}
