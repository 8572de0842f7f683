// A seeded, bounded fuzzer against one router process on 127.0.0.1: mutated valid conversations and
// generated frames, every AMQP and SASL performative, on plain and TLS listeners of both roles. Each input
// is one connection (written, half-closed, read until the router closes it). The router must not die,
// stall or grow: afterwards the same process answers /healthz and a normal AMQP exchange, with its peak
// RSS under 300 MB.
//   VAN_FUZZ_SEED=S (replays a run), VAN_FUZZ_INPUTS=N (default 20000), VAN_FUZZ_BUDGET_MS (default 150000),
//   VAN_FUZZ_ONLY=i,j (replays those inputs of the run alone).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type net from 'node:net';
import tls from 'node:tls';
import { AMQP_HEADER, HEARTBEAT, PERFORMATIVES, SASL_HEADER, frame, message, p, performative, v, type PerformativeName } from './amqp.js';
import { RouterProcess, type ListenerName } from './routerProcess.js';

/** Replays only these inputs of the run (comma-separated indices), one at a time. */
const ONLY = process.env.VAN_FUZZ_ONLY?.split(',').map(Number);
const SEED = process.env.VAN_FUZZ_SEED ? Number(process.env.VAN_FUZZ_SEED) >>> 0 : (Date.now() ^ (process.pid << 16)) >>> 0;
const INPUTS = Number(process.env.VAN_FUZZ_INPUTS ?? 20_000);
const BUDGET_MS = Number(process.env.VAN_FUZZ_BUDGET_MS ?? 150_000);
const CONCURRENCY = 12;
/** One input's connection: the router closes it after reading our end; longer means it stalled. */
const INPUT_TIMEOUT_MS = 10_000;
const RSS_LIMIT_MB = 300;

// ---- randomness ---------------------------------------------------------------------------------

class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  /** mulberry32 */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)];
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

/** Input i of a run depends only on (seed, i): any input can be replayed alone. */
function rngFor(seed: number, i: number): Rng {
  return new Rng(Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(i + 1, 0xc2b2ae35));
}

const INTERESTING_U8 = [0x00, 0x01, 0x02, 0x40, 0x45, 0x53, 0x7f, 0x80, 0xa0, 0xa1, 0xb0, 0xc0, 0xc1, 0xd0, 0xe0, 0xf0, 0xfe, 0xff];
const INTERESTING_U32 = [
  0, 1, 2, 7, 8, 255, 256, 0x7fff, 0xffff, 0x10000, 0x100000, 0x100001, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
];

// ---- values ----------------------------------------------------------------------------------------

const ELEMENT_CODES = [
  0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x50, 0x52, 0x53, 0x56, 0x60, 0x70, 0x71, 0x80, 0x81, 0x83, 0x98, 0xa0, 0xa1, 0xa3, 0xb0, 0xb1, 0xb3,
  0xc0, 0xd0, 0xc1, 0xe0,
];

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** The body of one element of an array of `code` (no constructor). */
function elementBody(r: Rng, code: number): Buffer {
  const enc = randomOfCode(r, code, 2);
  return enc.subarray(1);
}

function randomOfCode(r: Rng, code: number, depth: number): Buffer {
  const fixed: Record<number, number> = {
    0x40: 0,
    0x41: 0,
    0x42: 0,
    0x43: 0,
    0x44: 0,
    0x45: 0,
    0x50: 1,
    0x51: 1,
    0x52: 1,
    0x53: 1,
    0x54: 1,
    0x55: 1,
    0x56: 1,
    0x60: 2,
    0x61: 2,
    0x70: 4,
    0x71: 4,
    0x72: 4,
    0x73: 4,
    0x74: 4,
    0x80: 8,
    0x81: 8,
    0x82: 8,
    0x83: 8,
    0x84: 8,
    0x94: 16,
    0x98: 16,
  };
  if (code in fixed) return Buffer.concat([Buffer.from([code]), r.bytes(fixed[code])]);
  const text = () =>
    r.chance(0.5)
      ? Buffer.from(
          r.pick(['', 'a', 'amqp:accepted:list', 'x-opt', '$management', 'van/data', 'mc/x', 'ANONYMOUS', '__proto__', 'constructor']),
        )
      : r.bytes(r.int(40));
  switch (code) {
    case 0xa0:
    case 0xa1:
    case 0xa3: {
      const t = text().subarray(0, 255);
      return Buffer.concat([Buffer.from([code, t.length]), t]);
    }
    case 0xb0:
    case 0xb1:
    case 0xb3: {
      const t = text();
      return Buffer.concat([Buffer.from([code]), u32(t.length), t]);
    }
    case 0xc0:
    case 0xd0:
    case 0xc1:
    case 0xd1: {
      const map = code === 0xc1 || code === 0xd1;
      const n = (map ? 2 : 1) * r.int(depth > 0 ? 4 : 1);
      const items = Buffer.concat(Array.from({ length: n }, () => randomValue(r, depth - 1)));
      if (code === 0xc0 || code === 0xc1) {
        if (items.length + 1 > 255) return randomOfCode(r, code === 0xc0 ? 0xd0 : 0xd1, depth);
        return Buffer.concat([Buffer.from([code, items.length + 1, n]), items]);
      }
      return Buffer.concat([Buffer.from([code]), u32(items.length + 4), u32(n), items]);
    }
    case 0xe0:
    case 0xf0: {
      const el = r.pick(ELEMENT_CODES.filter((c) => depth > 0 || (c !== 0xc0 && c !== 0xd0 && c !== 0xc1 && c !== 0xe0)));
      const n = r.int(5);
      const data = Buffer.concat([Buffer.from([el]), ...Array.from({ length: n }, () => elementBody(r, el))]);
      if (code === 0xe0 && data.length + 1 <= 255) return Buffer.concat([Buffer.from([0xe0, data.length + 1, n]), data]);
      return Buffer.concat([Buffer.from([0xf0]), u32(data.length + 4), u32(n), data]);
    }
    default:
      return Buffer.from([0x40]);
  }
}

/** A random value: mostly well-formed, some with sizes and counts that lie. */
function randomValue(r: Rng, depth = 3): Buffer {
  const k = depth > 0 ? r.int(20) : r.int(12);
  if (k < 12)
    return randomOfCode(
      r,
      r.pick([
        0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x50, 0x52, 0x53, 0x56, 0x60, 0x70, 0x71, 0x80, 0x81, 0x83, 0x98, 0xa0, 0xa1, 0xa3, 0xb1,
      ]),
      depth,
    );
  if (k < 16) return randomOfCode(r, r.pick([0xc0, 0xd0, 0xc1, 0xd1, 0xe0, 0xf0]), depth);
  if (k < 18 && depth > 0) {
    const descriptor = r.chance(0.8)
      ? v.ulong(r.pick([0x1d, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x70, 0x77, r.int(256)]))
      : v.sym(r.pick(['amqp:accepted:list', 'apache.org:selector-filter:string', 'x']));
    return Buffer.concat([Buffer.from([0x00]), descriptor, randomValue(r, depth - 1)]);
  }
  // Liars: zero-width arrays with large counts, lists whose count exceeds their bytes, huge sizes.
  const lie = r.int(4);
  const count = r.pick(INTERESTING_U32);
  if (lie === 0)
    return Buffer.concat([Buffer.from([0xf0]), u32(5), u32(count), Buffer.from([r.pick([0x40, 0x41, 0x42, 0x43, 0x44, 0x45])])]);
  if (lie === 1) return Buffer.concat([Buffer.from([0xd0]), u32(r.pick([4, 5, 8])), u32(count), Buffer.from([0x40])]);
  if (lie === 2) return Buffer.concat([Buffer.from([r.pick([0xb0, 0xb1, 0xb3])]), u32(count), r.bytes(r.int(8))]);
  return Buffer.from([0xe0, r.int(256), r.int(256), r.pick([0x40, 0x45, 0xe0, 0xc0])]);
}

// ---- conversations -----------------------------------------------------------------------------------

interface Unit {
  /** Performative name, 'header' for a protocol header, 'heartbeat' for an empty frame. */
  name: PerformativeName | 'header' | 'heartbeat';
  bytes: Buffer;
}

const u = (name: Unit['name'], bytes: Buffer): Unit => ({ name, bytes });
const ADDRESSES = ['fuzz/a', 'fuzz/b', 'mc/fuzz', 'multicast/x', '$management', 'van/control', 'van/data', ''];

function clientConversation(r: Rng): Unit[] {
  const to = r.pick(ADDRESSES);
  const units: Unit[] = [
    u('header', AMQP_HEADER),
    u(
      'open',
      frame(
        p.open({
          container: `fuzz-${r.int(1000)}`,
          maxFrameSize: r.chance(0.2) ? r.pick(INTERESTING_U32) : undefined,
          idleTimeOut: r.chance(0.2) ? r.pick([1, 2, 100, 1000, 60000]) : undefined,
        }),
      ),
    ),
    u('begin', frame(p.begin({ nextOutgoingId: r.chance(0.8) ? 0 : r.pick(INTERESTING_U32) }))),
    u(
      'attach',
      frame(p.attach({ name: `recv-${r.int(4)}`, handle: 0, role: true, address: r.chance(0.2) ? undefined : to, dynamic: r.chance(0.2) })),
    ),
    u('flow', frame(p.flow({ handle: 0, linkCredit: r.pick([0, 1, 10, 0xffffffff]), drain: r.chance(0.2) }))),
    u(
      'attach',
      frame(
        p.attach({ name: `send-${r.int(4)}`, handle: 1, role: false, address: to, sndSettleMode: r.chance(0.3) ? r.int(3) : undefined }),
      ),
    ),
  ];
  const n = 1 + r.int(3);
  for (let i = 0; i < n; i++) {
    const msg = message({
      to: r.chance(0.5) ? to : undefined,
      body: r.chance(0.7) ? v.str(`m${i}`) : randomValue(r, 2),
      appProps: r.chance(0.3)
        ? [v.str('operation'), v.str('QUERY'), v.str('type'), v.str(r.pick(['connection', 'link', 'router', 'status', 'x']))]
        : undefined,
    });
    const settled = r.chance(0.5);
    if (r.chance(0.25)) {
      const cut = r.int(msg.length);
      units.push(
        u(
          'transfer',
          frame(p.transfer({ handle: 1, deliveryId: i, tag: Buffer.from([i]), format: 0, settled, more: true }), {
            payload: msg.subarray(0, cut),
          }),
        ),
      );
      units.push(u('transfer', frame(p.transfer({ handle: 1 }), { payload: msg.subarray(cut) })));
    } else {
      units.push(
        u('transfer', frame(p.transfer({ handle: 1, deliveryId: i, tag: Buffer.from([i]), format: 0, settled }), { payload: msg })),
      );
    }
  }
  units.push(
    u(
      'disposition',
      frame(
        p.disposition({
          role: r.chance(0.5),
          first: 0,
          last: r.chance(0.5) ? n : undefined,
          settled: true,
          state: v.described(r.pick([0x24, 0x25, 0x26, 0x27]), v.list([])),
        }),
      ),
    ),
    u('heartbeat', HEARTBEAT),
    u('detach', frame(p.detach({ handle: r.int(2), closed: true }))),
    u('end', frame(p.end())),
    u('close', frame(p.close(r.chance(0.3) ? { condition: 'amqp:internal-error', description: 'bye' } : undefined))),
  );
  return units;
}

function saslConversation(r: Rng): Unit[] {
  const units: Unit[] = [u('header', SASL_HEADER)];
  const extra: Unit[] = [
    u('sasl-mechanisms', frame(p.saslMechanisms(['ANONYMOUS', 'PLAIN']), { type: 1 })),
    u('sasl-challenge', frame(p.saslChallenge(r.bytes(r.int(20))), { type: 1 })),
    u('sasl-response', frame(p.saslResponse(r.bytes(r.int(20))), { type: 1 })),
    u('sasl-outcome', frame(p.saslOutcome(r.int(5)), { type: 1 })),
  ];
  if (r.chance(0.5)) units.push(r.pick(extra));
  units.push(
    u(
      'sasl-init',
      frame(p.saslInit(r.pick(['ANONYMOUS', 'PLAIN', 'EXTERNAL', 'X']), r.chance(0.5) ? Buffer.from('\x00user\x00pass') : undefined), {
        type: 1,
      }),
    ),
  );
  units.push(...extra.filter(() => r.chance(0.3)));
  return [...units, ...clientConversation(r)];
}

function routerConversation(r: Rng): Unit[] {
  const id = `fuzz-router-${r.int(50)}`;
  const props = v.map([
    v.sym('van-router-id'),
    v.str(id),
    v.sym('van-site-id'),
    v.str(`site-${id}`),
    v.sym('van-site-name'),
    v.str(id),
    v.sym('van-mode'),
    v.str('interior'),
    v.sym('van-cost'),
    r.chance(0.8) ? v.int(1) : randomValue(r, 1),
  ]);
  const units: Unit[] = [
    u('header', AMQP_HEADER),
    u('open', frame(p.open({ container: id, properties: props }))),
    u('begin', frame(p.begin())),
    u('attach', frame(p.attach({ name: `van-control:${id}`, handle: 0, role: false, address: 'van/control', sndSettleMode: 1 }))),
    u('begin', frame(p.begin(), { channel: 1 })),
    u('attach', frame(p.attach({ name: `van-data:${id}`, handle: 0, role: false, address: 'van/data', sndSettleMode: 1 }), { channel: 1 })),
  ];
  const n = 1 + r.int(4);
  for (let i = 0; i < n; i++) {
    const tag = Buffer.from([r.pick([1, 2, 3, 4, 5, 0x81, 0x82, r.int(256)]), 0, 0, 0, r.int(4)]);
    units.push(
      u(
        'transfer',
        frame(p.transfer({ handle: 0, deliveryId: i, tag, format: 0x56414e00, settled: true }), {
          channel: 1,
          payload: r.chance(0.3) ? Buffer.from(JSON.stringify({ a: 'fuzz/a', d: 'fuzzed', o: id, w: 65536 })) : r.bytes(r.int(64)),
        }),
      ),
    );
  }
  units.push(
    u(
      'transfer',
      frame(p.transfer({ handle: 0, deliveryId: 0, tag: Buffer.from('c'), format: 0, settled: true }), {
        payload: message({ body: randomValue(r, 2) }),
      }),
    ),
  );
  units.push(
    u('flow', frame(p.flow({ handle: 0, linkCredit: 100 }), { channel: 1 })),
    u('end', frame(p.end(), { channel: 1 })),
    u('close', frame(p.close())),
  );
  return units;
}

// ---- mutation ------------------------------------------------------------------------------------------

function mutate(r: Rng, b: Buffer): Buffer {
  let out = Buffer.from(b);
  const ops = 1 + r.int(3);
  for (let k = 0; k < ops; k++) {
    const at = (n = out.length) => r.int(Math.max(1, n));
    switch (r.int(8)) {
      case 0: // bit flips
        for (let i = 1 + r.int(4); i > 0; i--) out[at()] ^= 1 << r.int(8);
        break;
      case 1: // an interesting byte
        out[at()] = r.pick(INTERESTING_U8);
        break;
      case 2: {
        // an interesting u32, often over a size or count field (after a compound constructor)
        const marks = [...out.keys()].filter((i) =>
          [0xa0, 0xa1, 0xa3, 0xb0, 0xb1, 0xb3, 0xc0, 0xc1, 0xd0, 0xd1, 0xe0, 0xf0].includes(out[i]),
        );
        const i = marks.length && r.chance(0.7) ? r.pick(marks) + 1 : at();
        if (
          out[i - 1] === 0xc0 ||
          out[i - 1] === 0xc1 ||
          out[i - 1] === 0xe0 ||
          out[i - 1] === 0xa1 ||
          out[i - 1] === 0xa0 ||
          out[i - 1] === 0xa3
        )
          out[i] = r.pick(INTERESTING_U8);
        else if (i + 4 <= out.length) out.writeUInt32BE(r.pick(INTERESTING_U32) >>> 0, i);
        break;
      }
      case 3: // truncate
        out = out.subarray(0, 8 + r.int(Math.max(1, out.length - 8)));
        break;
      case 4: {
        // insert random bytes or a random value
        const i = 8 + r.int(Math.max(1, out.length - 8));
        const ins = r.chance(0.5) ? r.bytes(1 + r.int(16)) : randomValue(r, 2);
        out = Buffer.concat([out.subarray(0, i), ins, out.subarray(i)]);
        break;
      }
      case 5: {
        // replace a stretch of the body with a random value
        const i = 8 + r.int(Math.max(1, out.length - 8));
        const j = Math.min(out.length, i + r.int(12));
        out = Buffer.concat([out.subarray(0, i), randomValue(r, 2), out.subarray(j)]);
        break;
      }
      case 6: // frame header: doff, type, channel
        if (out.length >= 8) out[r.pick([4, 5, 6, 7])] = r.pick(INTERESTING_U8);
        break;
      default: // size field
        if (out.length >= 4) out.writeUInt32BE(r.pick([...INTERESTING_U32, out.length - 1, out.length + 1]) >>> 0, 0);
    }
  }
  // Mostly keep the size field true, so that the mutation reaches the decoder.
  if (out.length >= 8 && r.chance(0.6)) out.writeUInt32BE(out.length, 0);
  return out;
}

// Field kinds of each performative, for generated frames that are plausible enough to reach rhea.
type Kind = 'str' | 'uint' | 'ushort' | 'ubyte' | 'bool' | 'syms' | 'map' | 'terminus' | 'error' | 'state' | 'bin' | 'ulong';
const FIELDS: Record<PerformativeName, Kind[]> = {
  open: ['str', 'str', 'uint', 'ushort', 'uint', 'syms', 'syms', 'syms', 'syms', 'map'],
  begin: ['ushort', 'uint', 'uint', 'uint', 'uint', 'syms', 'syms', 'map'],
  attach: ['str', 'uint', 'bool', 'ubyte', 'ubyte', 'terminus', 'terminus', 'map', 'bool', 'uint', 'ulong', 'syms', 'syms', 'map'],
  flow: ['uint', 'uint', 'uint', 'uint', 'uint', 'uint', 'uint', 'uint', 'bool', 'bool', 'map'],
  transfer: ['uint', 'uint', 'bin', 'uint', 'bool', 'bool', 'ubyte', 'state', 'bool', 'bool', 'bool'],
  disposition: ['bool', 'uint', 'uint', 'bool', 'state', 'bool'],
  detach: ['uint', 'bool', 'error'],
  end: ['error'],
  close: ['error'],
  'sasl-mechanisms': ['syms'],
  'sasl-init': ['syms', 'bin', 'str'],
  'sasl-challenge': ['bin'],
  'sasl-response': ['bin'],
  'sasl-outcome': ['ubyte', 'bin'],
};

function plausible(r: Rng, kind: Kind): Buffer | undefined {
  if (r.chance(0.15)) return undefined;
  if (r.chance(0.15)) return randomValue(r, 2);
  switch (kind) {
    case 'str':
      return v.str(r.pick(['a', 'fuzz/a', '$management', 'van/data', '', 'x'.repeat(300)]));
    case 'uint':
      return v.uint(r.chance(0.6) ? r.int(4) : r.pick(INTERESTING_U32));
    case 'ushort':
      return v.ushort(r.chance(0.6) ? r.int(4) : r.pick([0xffff, 0x7fff, 256]));
    case 'ubyte':
      return v.ubyte(r.int(4));
    case 'bool':
      return v.bool(r.chance(0.5));
    case 'syms':
      return r.chance(0.5) ? v.sym(r.pick(['ANONYMOUS', 'x', 'en-US'])) : v.symArray(['a', 'ANONYMOUS', 'PLAIN'].slice(0, r.int(4)));
    case 'map':
      return v.map(r.chance(0.5) ? [] : [v.sym('k'), randomValue(r, 1)]);
    case 'terminus':
      return v.described(
        r.pick([0x28, 0x29]),
        v.list([v.str(r.pick(ADDRESSES)), v.uint(0), v.sym('session-end'), v.uint(0), v.bool(r.chance(0.2))]),
      );
    case 'error':
      return v.described(0x1d, v.list([v.sym(r.pick(['amqp:internal-error', 'x'])), v.str('why')]));
    case 'state':
      return v.described(r.pick([0x23, 0x24, 0x25, 0x26, 0x27]), v.list(r.chance(0.5) ? [] : [randomValue(r, 1)]));
    case 'bin':
      return v.bin(r.bytes(r.int(8)));
    case 'ulong':
      return v.ulong(r.int(1 << 20));
  }
}

function generated(r: Rng, name: PerformativeName): Buffer {
  const code = r.chance(0.05) ? r.int(256) : PERFORMATIVES[name];
  const fields = FIELDS[name].slice(0, r.int(FIELDS[name].length + 2)).map((k) => plausible(r, k ?? 'bin'));
  const payload =
    name === 'transfer' && r.chance(0.7) ? (r.chance(0.5) ? message({ body: randomValue(r, 2) }) : r.bytes(r.int(64))) : undefined;
  const type = code >= 0x40 && code <= 0x44 ? 1 : 0;
  const body = r.chance(0.9) ? performative(code, fields) : randomValue(r, 3);
  return frame(body, { type, channel: r.chance(0.8) ? 0 : r.pick([1, 2, 0xffff]), payload });
}

interface Input {
  index: number;
  listener: ListenerName;
  target: PerformativeName;
  how: 'mutated' | 'generated';
  parts: Buffer[];
}

const NAMES = Object.keys(PERFORMATIVES) as PerformativeName[];
const SASL_NAMES = new Set<PerformativeName>(['sasl-mechanisms', 'sasl-init', 'sasl-challenge', 'sasl-response', 'sasl-outcome']);

function makeInput(seed: number, index: number): Input {
  const r = rngFor(seed, index);
  const target = NAMES[index % NAMES.length];
  const listener: ListenerName = r.chance(0.05) ? r.pick(['amqps', 'inter-routers'] as const) : r.chance(0.25) ? 'inter-router' : 'amqp';
  const sasl = SASL_NAMES.has(target) || r.chance(0.1);
  const units = sasl ? saslConversation(r) : listener.startsWith('inter') && r.chance(0.7) ? routerConversation(r) : clientConversation(r);
  const candidates = units.map((x, i) => (x.name === target ? i : -1)).filter((i) => i >= 0);
  let how: Input['how'];
  let bytes: Buffer[];
  if (candidates.length && r.chance(0.7)) {
    how = 'mutated';
    const k = r.pick(candidates);
    bytes = units.slice(0, k).map((x) => x.bytes);
    bytes.push(mutate(r, units[k].bytes));
    // Sometimes the rest of the conversation follows, sometimes a repeat of the mutated frame.
    if (r.chance(0.5)) bytes.push(...units.slice(k + 1).map((x) => x.bytes));
    else if (r.chance(0.3)) bytes.push(mutate(r, units[k].bytes));
  } else {
    how = 'generated';
    // A valid prefix up to the point where the target makes sense, then generated frames.
    const prefixLen = sasl ? 1 : Math.min(units.length, 1 + r.int(6));
    bytes = units.slice(0, prefixLen).map((x) => x.bytes);
    for (let i = 1 + r.int(3); i > 0; i--) bytes.push(generated(r, target));
  }
  // Written in one piece or cut at random points (the guard must join frames across reads).
  const all = Buffer.concat(bytes);
  const parts: Buffer[] = [];
  if (r.chance(0.3)) {
    let off = 0;
    while (off < all.length) {
      const n = 1 + r.int(Math.min(64, all.length - off));
      parts.push(all.subarray(off, off + n));
      off += n;
    }
  } else {
    parts.push(all);
  }
  return { index, listener, target, how, parts };
}

// ---- the run ---------------------------------------------------------------------------------------------

let router: RouterProcess;

before(async () => {
  router = await RouterProcess.start({ maxOldSpaceMb: 512 });
  assert.ok(await router.healthz(), 'the router answers before fuzzing');
  await router.exchange();
});

after(async () => {
  await router?.stop();
});

function runOne(input: Input): Promise<'closed' | 'timeout'> {
  return new Promise((resolve) => {
    const s: net.Socket = router.connect(input.listener);
    let done = false;
    const finish = (how: 'closed' | 'timeout') => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve(how);
    };
    const timer = setTimeout(() => finish('timeout'), INPUT_TIMEOUT_MS);
    s.on('data', () => {});
    s.on('error', () => finish('closed'));
    s.on('close', () => finish('closed'));
    s.once(s instanceof tls.TLSSocket ? 'secureConnect' : 'connect', () => {
      let i = 0;
      // Pieces in separate writes, a tick apart, so the router reads them apart too.
      const write = () => {
        if (done) return;
        if (i < input.parts.length) {
          s.write(input.parts[i++]);
          if (input.parts.length > 1) setImmediate(write);
          else write();
        } else {
          s.end();
        }
      };
      write();
    });
  });
}

test(`fuzz: ${INPUTS} hostile inputs against one router process (seed ${SEED})`, { timeout: BUDGET_MS + 60_000 }, async () => {
  const t0 = performance.now();
  const routerCpu0 = router.cpuSeconds();
  const fuzzerCpu0 = (process.cpuUsage().user + process.cpuUsage().system) / 1e6;
  const deadline = t0 + BUDGET_MS;
  const inFlight = new Map<number, Input>();
  const coverage = new Map<string, number>();
  const outcomes = { closed: 0, timeout: 0 };
  let next = 0;
  let failure: string | undefined;
  let healthMaxMs = 0;

  const describeInput = (i: Input) =>
    `#${i.index} ${i.how} ${i.target} -> ${i.listener}: ${Buffer.concat(i.parts).toString('hex').slice(0, 400)}`;

  // Watchdog: the router keeps answering /healthz while it is fuzzed.
  let watching = true;
  const watchdog = (async () => {
    while (watching && !failure) {
      const h0 = performance.now();
      const ok = await router.healthz(5000);
      healthMaxMs = Math.max(healthMaxMs, performance.now() - h0);
      if (!router.alive) failure = `the router ${router.exited}`;
      else if (!ok) failure = '/healthz did not answer within 5 s (event loop stalled)';
      if (failure) failure += `; inputs in flight: ${[...inFlight.values()].map(describeInput).join(' | ')}`;
      await new Promise((r) => setTimeout(r, 250));
    }
  })();

  const indices = ONLY ?? Array.from({ length: INPUTS }, (_, i) => i);
  const worker = async () => {
    while (!failure && next < indices.length && performance.now() < deadline) {
      const input = makeInput(SEED, indices[next++]);
      coverage.set(`${input.target}/${input.how}`, (coverage.get(`${input.target}/${input.how}`) ?? 0) + 1);
      inFlight.set(input.index, input);
      const how = await runOne(input);
      inFlight.delete(input.index);
      outcomes[how]++;
      if (how === 'timeout') failure ??= `the router kept a connection open ${INPUT_TIMEOUT_MS} ms after our end: ${describeInput(input)}`;
      if (!router.alive) failure ??= `the router ${router.exited} after ${describeInput(input)}`;
    }
  };
  await Promise.all(Array.from({ length: ONLY ? 1 : CONCURRENCY }, worker));
  watching = false;
  await watchdog;
  const seconds = (performance.now() - t0) / 1000;
  const inputs = outcomes.closed + outcomes.timeout;

  assert.equal(failure, undefined, `${failure}\nrouter stderr: ${router.lastStderr.slice(-3000)}\nreplay: VAN_FUZZ_SEED=${SEED}`);
  // The same process, after the run.
  assert.ok(router.alive, `the router ${router.exited}`);
  assert.ok(await router.healthz(3000), '/healthz after the run');
  await router.exchange(10_000);
  const rssPeak = router.rssPeakMb();
  const cpu = {
    router: router.cpuSeconds() - routerCpu0,
    fuzzer: (process.cpuUsage().user + process.cpuUsage().system) / 1e6 - fuzzerCpu0,
  };

  process.stdout.write(
    `FUZZ inputs=${inputs} inputs_per_s=${(inputs / seconds).toFixed(0)} rss_peak_mb=${rssPeak.toFixed(0)} seed=${SEED}` +
      ` (seconds=${seconds.toFixed(1)} cpu_s=${JSON.stringify({ router: +cpu.router.toFixed(1), fuzzer: +cpu.fuzzer.toFixed(1) })} health_max_ms=${healthMaxMs.toFixed(0)} coverage=${JSON.stringify(Object.fromEntries([...coverage].sort()))})\n`,
  );
  assert.ok(inputs >= indices.length, `${inputs} of ${indices.length} inputs within the ${BUDGET_MS} ms budget`);
  if (ONLY) return;
  for (const name of NAMES) {
    assert.ok(
      (coverage.get(`${name}/mutated`) ?? 0) + (coverage.get(`${name}/generated`) ?? 0) >= INPUTS / NAMES.length - 1,
      `inputs targeting ${name}`,
    );
  }
  assert.ok(rssPeak < RSS_LIMIT_MB, `router RSS peak ${rssPeak.toFixed(0)} MB (limit ${RSS_LIMIT_MB})`);
});
