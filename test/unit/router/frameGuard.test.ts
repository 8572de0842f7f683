// Hostile input from one peer: the frame guard alone, the guard on a bare rhea connection, and a router
// process on loopback. The five named inputs each once crashed or stalled the router.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import rhea from 'rhea';
import { DECODE_ERROR, FRAMING_ERROR, FrameGuard, checkMessage } from '../../../src/core/router/frameGuard.js';
import { guardConnection } from '../../../src/core/router/connectionGuard.js';
import { createLogger } from '../../../src/core/router/log.js';
import { AMQP_HEADER, HEARTBEAT, SASL_HEADER, closeCondition, frame, message, p, performative, readFrames, v } from '../../fuzz/amqp.js';
import { RouterProcess, rawExchange, type ListenerName } from '../../fuzz/routerProcess.js';

const MIB = 1024 * 1024;

// ---- the five inputs ------------------------------------------------------------------------------

/** 1. An open whose first field is an array32 declaring 2^31-1 null (zero-width) elements. */
const OPEN_ARRAY32 = Buffer.from('0000001802000000005310c00b01f0000000057fffffff40', 'hex');
/** 2. The head of a frame declaring ~4 GiB; the rest is streamed after it. */
const HUGE_FRAME_HEAD = Buffer.from('fffffff002000000', 'hex');
const open = frame(p.open());
const begin = frame(p.begin());
/** 3. A transfer without a delivery-id, to an address nobody receives from. */
const TRANSFER_WITHOUT_ID = [
  frame(p.attach({ name: 'no-id', handle: 0, role: false, address: 'nobody/listens/here' })),
  frame(p.transfer({ handle: 0, tag: Buffer.from('t'), format: 0, settled: false }), { payload: message({ body: v.str('who?') }) }),
];
/** 4. A disposition for every delivery-id there is. */
const DISPOSITION_ALL = frame(
  p.disposition({ role: true, first: 0, last: 0xffffffff, settled: true, state: v.described(0x24, v.list([])) }),
);
/** 5. An open announcing an idle-time-out of 1 ms. */
const OPEN_IDLE_1MS = frame(p.open({ idleTimeOut: 1 }));

// ---- the guard alone ------------------------------------------------------------------------------

function feed(guard: FrameGuard, ...chunks: Buffer[]): Buffer {
  return Buffer.concat(chunks.map((c) => guard.push(c)));
}

describe('FrameGuard', () => {
  test('1. open with an array32 of 2^31-1 nulls: refused as a decode error, nothing of the frame passes', () => {
    const g = new FrameGuard(MIB);
    const passed = feed(g, AMQP_HEADER, OPEN_ARRAY32);
    assert.deepEqual(passed, AMQP_HEADER);
    assert.equal(g.error?.condition, DECODE_ERROR);
    assert.match(g.error!.description, /2147483647 elements in 5 bytes/);
  });

  test('1b. the same count in a list, a map, a nested array, and in any performative', () => {
    const lists = [
      Buffer.from('d0000000057fffffff40', 'hex'), // list32 size 5, count 2^31-1
      Buffer.from('d1000000050000000440', 'hex'), // map32 count 4 in 1 byte
      v.list([Buffer.from('e0037f4040', 'hex')]), // array8 of 127 nulls in 3 bytes
    ];
    for (const code of [0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18]) {
      for (const bad of lists) {
        const g = new FrameGuard(MIB);
        feed(g, AMQP_HEADER, frame(performative(code, [v.null(), bad])));
        assert.equal(g.error?.condition, DECODE_ERROR, `performative 0x${code.toString(16)} with ${bad.toString('hex')}`);
      }
    }
  });

  test('2. a frame declaring ~4 GiB: refused from its size field, before any of it is kept', () => {
    const g = new FrameGuard(MIB);
    assert.deepEqual(feed(g, AMQP_HEADER, HUGE_FRAME_HEAD.subarray(0, 4)), AMQP_HEADER);
    assert.equal(g.error?.condition, FRAMING_ERROR);
    assert.match(g.error!.description, /4294967280 bytes exceeds the max-frame-size of 1048576/);
    assert.equal(g.push(Buffer.alloc(MIB)).length, 0);
    // One byte over the limit is refused too; the limit itself passes.
    const over = new FrameGuard(1024);
    feed(over, AMQP_HEADER, frame(p.open(), { payload: Buffer.alloc(1025 - 8 - p.open().length) }));
    assert.equal(over.error?.condition, FRAMING_ERROR);
    const limit = new FrameGuard(1024);
    const t = frame(p.transfer({ handle: 0, deliveryId: 0, tag: Buffer.from('a'), format: 0 }));
    const exact = frame(p.transfer({ handle: 0, deliveryId: 0, tag: Buffer.from('a'), format: 0 }), {
      payload: Buffer.alloc(1024 - t.length),
    });
    assert.equal(feed(limit, AMQP_HEADER, exact).length, 8 + 1024);
    assert.equal(limit.error, undefined);
  });

  test('3, 4, 5. a transfer without delivery-id, a disposition of every id, idle-time-out 1 ms: well-formed, so they pass (the connection guard handles them)', () => {
    const g = new FrameGuard(MIB);
    const all = [AMQP_HEADER, open, begin, ...TRANSFER_WITHOUT_ID, DISPOSITION_ALL, OPEN_IDLE_1MS];
    assert.deepEqual(feed(g, ...all), Buffer.concat(all));
    assert.equal(g.error, undefined);
  });

  test('a valid conversation passes unchanged, cut at every byte boundary and in one piece', () => {
    const conversation = Buffer.concat([
      SASL_HEADER,
      frame(p.saslInit('ANONYMOUS'), { type: 1 }),
      AMQP_HEADER,
      open,
      begin,
      frame(p.attach({ name: 'r', handle: 0, role: true, address: 'a' })),
      frame(p.flow({ handle: 0, linkCredit: 10 })),
      frame(p.attach({ name: 's', handle: 1, role: false, address: 'a' })),
      frame(p.transfer({ handle: 1, deliveryId: 0, tag: Buffer.from('1'), format: 0, more: true }), { payload: message().subarray(0, 3) }),
      frame(p.transfer({ handle: 1 }), { payload: message().subarray(3) }),
      HEARTBEAT,
      frame(p.disposition({ role: true, first: 0, settled: true })),
      frame(p.detach({ handle: 0, closed: true })),
      frame(p.end()),
      frame(p.close()),
    ]);
    assert.deepEqual(feed(new FrameGuard(MIB), conversation), conversation);
    for (let cut = 1; cut < conversation.length; cut++) {
      const g = new FrameGuard(MIB);
      assert.deepEqual(feed(g, conversation.subarray(0, cut), conversation.subarray(cut)), conversation, `cut at ${cut}`);
      assert.equal(g.error, undefined);
    }
    const bytewise = new FrameGuard(MIB);
    assert.deepEqual(feed(bytewise, ...[...conversation].map((b) => Buffer.from([b]))), conversation);
  });

  test('reads pass through as they are (no copy, no regrouping); a refused frame never passes complete', () => {
    const g = new FrameGuard(MIB);
    const t = frame(p.transfer({ handle: 0, deliveryId: 0, tag: Buffer.from('x'), format: 0x56414e00, settled: true }), {
      payload: Buffer.alloc(300_000, 7),
    });
    const stream = Buffer.concat([AMQP_HEADER, open, begin, t, HEARTBEAT]);
    for (const cut of [5, 20, 65_536]) {
      const guard = new FrameGuard(MIB);
      for (let off = 0; off < stream.length; off += cut) {
        const read = stream.subarray(off, off + cut);
        assert.equal(guard.push(read), read);
      }
      assert.equal(guard.error, undefined);
    }
    assert.equal(g.push(stream), stream);
    // Whatever the cut, the bytes that pass stop before the end of a refused frame.
    const bad = Buffer.concat([AMQP_HEADER, open, OPEN_ARRAY32, begin]);
    const badEnd = AMQP_HEADER.length + open.length + OPEN_ARRAY32.length;
    for (let a = 1; a < bad.length; a++) {
      for (const b of [a + 1, a + 7, bad.length]) {
        const guard = new FrameGuard(MIB);
        const passed = feed(guard, bad.subarray(0, a), bad.subarray(a, b), bad.subarray(b));
        assert.equal(guard.error?.condition, DECODE_ERROR, `cuts ${a}/${b}`);
        assert.ok(
          passed.length < badEnd && passed.length >= Math.min(a, AMQP_HEADER.length + open.length),
          `cuts ${a}/${b}: ${passed.length} bytes passed`,
        );
        assert.deepEqual(passed, bad.subarray(0, passed.length));
      }
    }
  });

  test('framing: wrong header, wrong frame type, short frames, bad data offsets, SASL after AMQP', () => {
    const cases: [string, Buffer[], string][] = [
      ['not AMQP', [Buffer.from('GET / HTTP/1.1\r\n\r\n')], FRAMING_ERROR],
      ['AMQP 0-9-1', [Buffer.from('AMQP\x00\x00\x09\x01', 'latin1')], FRAMING_ERROR],
      ['TLS protocol id', [Buffer.from('AMQP\x02\x01\x00\x00', 'latin1')], FRAMING_ERROR],
      ['a SASL frame after the AMQP header', [AMQP_HEADER, frame(p.saslInit('ANONYMOUS'), { type: 1 })], FRAMING_ERROR],
      ['an AMQP frame during SASL', [SASL_HEADER, open], FRAMING_ERROR],
      ['a SASL header after SASL', [SASL_HEADER, SASL_HEADER], FRAMING_ERROR],
      ['frame size 0', [AMQP_HEADER, Buffer.from('0000000002000000', 'hex')], FRAMING_ERROR],
      ['data offset 1', [AMQP_HEADER, Buffer.from('0000000801000000', 'hex')], FRAMING_ERROR],
      ['data offset past the frame', [AMQP_HEADER, Buffer.from('0000000803000000', 'hex')], FRAMING_ERROR],
      ['an unknown performative', [AMQP_HEADER, frame(performative(0x19, []))], DECODE_ERROR],
      ['a SASL performative in an AMQP frame', [AMQP_HEADER, frame(p.saslInit('ANONYMOUS'))], DECODE_ERROR],
      ['a performative that is not a list', [AMQP_HEADER, frame(v.described(0x10, v.str('x')))], DECODE_ERROR],
      ['a body that is not described', [AMQP_HEADER, frame(v.list([]))], DECODE_ERROR],
      ['a payload after an open', [AMQP_HEADER, frame(p.open(), { payload: Buffer.from('x') })], DECODE_ERROR],
      ['a string longer than the frame', [AMQP_HEADER, frame(performative(0x10, [Buffer.from('b1ffffff00', 'hex')]))], DECODE_ERROR],
      ['a list whose elements overrun its size', [AMQP_HEADER, frame(v.described(0x10, Buffer.from('c0020171ff', 'hex')))], DECODE_ERROR],
      [
        'a list with bytes left after its elements',
        [AMQP_HEADER, frame(v.described(0x10, Buffer.from('c003014040', 'hex')))],
        DECODE_ERROR,
      ],
      ['an unknown type code', [AMQP_HEADER, frame(performative(0x10, [Buffer.from([0x99])]))], DECODE_ERROR],
      [
        'nested 100 lists deep',
        [AMQP_HEADER, frame(performative(0x10, [Array.from({ length: 100 }).reduce<Buffer>((acc) => v.list([acc]), v.null())]))],
        DECODE_ERROR,
      ],
      [
        'a chain of 100 descriptors',
        [AMQP_HEADER, frame(performative(0x10, [Buffer.concat([Buffer.from('0053ff'.repeat(100), 'hex'), v.null()])]))],
        DECODE_ERROR,
      ],
    ];
    for (const [name, input, condition] of cases) {
      const g = new FrameGuard(MIB);
      feed(g, ...input);
      assert.equal(g.error?.condition, condition, name);
    }
  });

  test('checkMessage: sections of a message, as rhea decodes them', () => {
    assert.equal(checkMessage(message({ to: 'a', appProps: [v.str('k'), v.uint(1)] })), undefined);
    assert.equal(checkMessage(rhea.message.encode({ to: 'x', subject: 's', body: { a: [1, 'b', null, true] } } as never)), undefined);
    assert.match(checkMessage(v.described(0x77, Buffer.from('f0000000057fffffff40', 'hex')))!, /2147483647 elements/);
    assert.match(checkMessage(Buffer.alloc(1000, 0x40))!, /not a described type/);
    assert.match(checkMessage(v.described(0x10, v.list([])))!, /unknown message section/);
  });
});

// ---- the connection guard on a bare rhea connection -----------------------------------------------

describe('guardConnection on a bare rhea connection', () => {
  let server: net.Server;
  let port = 0;
  const rejected: string[] = [];

  before(async () => {
    const container = rhea.create_container({ id: 'guarded' });
    server = net.createServer((socket) => {
      socket.on('error', () => {});
      const conn = container.create_connection({
        id: `guarded:${socket.remotePort}`,
        container_id: 'guarded',
        max_frame_size: MIB,
        autoaccept: false,
      } as never);
      conn.on('error', () => {});
      conn.on('protocol_error', () => socket.destroy());
      // What the router does with a message nobody receives: settles it as not delivered.
      conn.on('message', (ctx: { delivery: { release(o: unknown): void } }) => ctx.delivery.release({ undeliverable_here: true }));
      // And with a receiver that drains while nothing is queued for it: says so at once.
      conn.on('sender_draining', (ctx: { sender: { set_drained(d: boolean): void } }) => ctx.sender.set_drained(true));
      guardConnection(conn, socket, { log: createLogger({ test: 'guard' }), onReject: (r) => rejected.push(r) });
      conn.accept(socket);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
  });

  after(() => {
    server.close();
  });

  /** Writes input; collects until the peer closes, `until` holds for what came back, or waitMs. */
  function talk(input: Buffer[], waitMs: number, until?: (data: Buffer) => boolean): Promise<{ data: Buffer; closed: boolean }> {
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      const s = net.connect({ host: '127.0.0.1', port }, () => s.write(Buffer.concat(input)));
      let finished = false;
      const done = (closed: boolean) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        s.destroy();
        resolve({ data: Buffer.concat(chunks), closed });
      };
      const timer = setTimeout(() => done(false), waitMs);
      s.on('data', (d) => {
        chunks.push(d);
        if (until?.(Buffer.concat(chunks))) done(false);
      });
      s.on('close', () => done(true));
      s.on('error', () => {});
    });
  }

  test('3. a transfer without delivery-id: the connection is closed with invalid-field, nothing throws later', async () => {
    const r = await talk([AMQP_HEADER, open, begin, ...TRANSFER_WITHOUT_ID], 3000);
    assert.equal(closeCondition(r.data), 'amqp:invalid-field');
    assert.ok(r.closed);
    assert.match(rejected.at(-1)!, /without a delivery-id/);
    await new Promise((res) => setTimeout(res, 100)); // deferred processing would throw here
  });

  test('4. a disposition of first=0, last=2^32-1 takes no time', async () => {
    const t0 = performance.now();
    const r = await talk([AMQP_HEADER, open, begin, DISPOSITION_ALL, frame(p.end())], 3000, (d) =>
      readFrames(d).some((f) => f.code === 0x17),
    );
    const ends = readFrames(r.data).filter((f) => f.code === 0x17);
    assert.equal(ends.length, 1, 'the session end comes back: the disposition was processed');
    assert.ok(performance.now() - t0 < 1000, `took ${Math.round(performance.now() - t0)} ms`);
  });

  test('a drain of 2^32-1 credit is answered at once', async () => {
    const t0 = performance.now();
    const input = [
      AMQP_HEADER,
      open,
      begin,
      frame(p.attach({ name: 'r', handle: 0, role: true, address: 'a' })),
      frame(p.flow({ handle: 0, linkCredit: 0xffffffff, drain: true })),
    ];
    const r = await talk(input, 3000, (d) => readFrames(d).some((f) => f.code === 0x13 && f.performative.drain));
    const flow = readFrames(r.data).find((f) => f.code === 0x13 && f.performative.drain);
    assert.ok(flow, 'the drained flow came back');
    assert.equal(flow.performative.delivery_count, 0xffffffff);
    assert.equal(flow.performative.link_credit, 0);
    assert.ok(performance.now() - t0 < 1000, `took ${Math.round(performance.now() - t0)} ms`);
  });

  test('sessions and links per connection are capped', async () => {
    const sessions = Array.from({ length: 1025 }, (_, ch) => frame(p.begin(), { channel: ch }));
    const s = await talk([AMQP_HEADER, open, ...sessions], 5000);
    assert.equal(closeCondition(s.data), 'amqp:resource-limit-exceeded');
    assert.match(rejected.at(-1)!, /more than 1024 sessions/);
    const attaches = Array.from({ length: 8193 }, (_, h) => frame(p.attach({ name: `l${h}`, handle: h, role: false, address: 'a' })));
    const l = await talk([AMQP_HEADER, open, begin, ...attaches], 10_000);
    assert.equal(closeCondition(l.data), 'amqp:resource-limit-exceeded');
    assert.match(rejected.at(-1)!, /more than 8192 links/);
  });

  test('unfinished deliveries hold at most 64 MiB per connection', async () => {
    const piece = Buffer.alloc(MIB - 64, 1);
    const first = frame(p.transfer({ handle: 0, deliveryId: 0, tag: Buffer.from('big'), format: 0, more: true }), { payload: piece });
    const more = frame(p.transfer({ handle: 0, more: true }), { payload: piece });
    const input = [
      AMQP_HEADER,
      open,
      begin,
      frame(p.attach({ name: 'big', handle: 0, role: false, address: 'a' })),
      first,
      ...Array.from({ length: 70 }, () => more),
    ];
    const r = await talk(input, 10_000);
    assert.equal(closeCondition(r.data), 'amqp:link:message-size-exceeded');
    assert.ok(r.closed);
  });

  test('5. idle-time-out 1 ms: heartbeats at most once a second', async () => {
    const r = await talk([AMQP_HEADER, OPEN_IDLE_1MS], 1500);
    const heartbeats = readFrames(r.data).filter((f) => f.kind === 'frame' && f.code === undefined).length;
    assert.ok(heartbeats <= 2, `${heartbeats} heartbeats in 1.5 s`);
    assert.ok(
      readFrames(r.data).some((f) => f.code === 0x10),
      'the open was answered',
    );
  });
});

// ---- a router process -------------------------------------------------------------------------------

describe('a router process on loopback survives each input', () => {
  let router: RouterProcess;
  /** Routers replaced because an earlier case killed or froze one (each case then still runs on its own). */
  let replaced = 0;

  // A small heap: an unbounded allocation ends the child in a second or two, not the machine.
  const start = () => RouterProcess.start({ maxOldSpaceMb: 192 });

  before(async () => {
    router = await start();
    assert.ok(await router.healthz(), 'the router answers before any hostile input');
    await router.exchange();
  });

  beforeEach(async () => {
    if (router.alive && (await router.healthz(2000))) return;
    replaced++;
    await router.stop(true);
    router = await start();
  });

  after(async () => {
    await router.stop();
    assert.equal(replaced, 0, 'one router process lived through every case');
  });

  async function assertHealthy(): Promise<void> {
    assert.ok(router.alive, `the router ${router.exited}: ${router.lastStderr.slice(-2000)}`);
    assert.ok(await router.healthz(2000), '/healthz answers within 2 s');
    // Clients through the guard: plain, SASL ANONYMOUS, TLS.
    await router.exchange(5000);
    await router.exchange(5000, 'sasl');
    await router.exchange(5000, 'tls');
  }

  async function sendsClose(listener: ListenerName, input: Buffer[], condition: string): Promise<void> {
    const r = await rawExchange(router, listener, input, { waitMs: 3000 });
    assert.equal(
      closeCondition(r.data),
      condition,
      `close frame from the router (got ${readFrames(r.data)
        .map((f) => f.code ?? f.kind)
        .join(',')})`,
    );
    assert.ok(r.closedByPeer, 'the router ends the connection');
  }

  test('1. open with an array32 of 2^31-1 nulls (plain normal listener): closed with decode-error', async () => {
    await sendsClose('amqp', [AMQP_HEADER, OPEN_ARRAY32], DECODE_ERROR);
    await assertHealthy();
  });

  test('1. the same over TLS to an inter-router listener', async () => {
    await sendsClose('inter-routers', [AMQP_HEADER, OPEN_ARRAY32], DECODE_ERROR);
    await assertHealthy();
  });

  test('1. the same count in a message body: closed with decode-error', async () => {
    const body = v.described(0x77, Buffer.from('f0000000057fffffff40', 'hex'));
    const input = [
      AMQP_HEADER,
      open,
      begin,
      frame(p.attach({ name: 'm', handle: 0, role: false, address: 'somewhere' })),
      frame(p.transfer({ handle: 0, deliveryId: 0, tag: Buffer.from('m'), format: 0 }), { payload: body }),
    ];
    await sendsClose('amqp', input, DECODE_ERROR);
    await assertHealthy();
  });

  test('2. a frame declaring ~4 GiB, streamed: refused with framing-error before it is buffered', async () => {
    const rssBefore = router.rssMb();
    const r = await new Promise<{ data: Buffer; accepted: number; closed: boolean }>((resolve) => {
      const s = router.connect('inter-router');
      const chunks: Buffer[] = [];
      const block = Buffer.alloc(MIB, 0x41);
      let sent = 0;
      let closed = false;
      const pump = () => {
        while (!closed && sent < 64) {
          sent++;
          if (!s.write(block)) return void s.once('drain', pump);
        }
      };
      const timer = setTimeout(() => finish(), 5000);
      const finish = () => {
        if (closed) return;
        closed = true;
        clearTimeout(timer);
        const accepted = s.bytesWritten;
        s.destroy();
        resolve({ data: Buffer.concat(chunks), accepted, closed: true });
      };
      s.on('data', (d) => chunks.push(d));
      s.on('error', () => {});
      s.on('close', finish);
      s.on('end', finish);
      s.once('connect', () => {
        s.write(Buffer.concat([AMQP_HEADER, HUGE_FRAME_HEAD]));
        pump();
      });
    });
    assert.equal(closeCondition(r.data), FRAMING_ERROR);
    assert.ok(r.accepted < 16 * MIB, `the router took ${(r.accepted / MIB).toFixed(1)} MiB before closing`);
    assert.ok(router.rssMb() - rssBefore < 32, `RSS ${rssBefore.toFixed(0)} -> ${router.rssMb().toFixed(0)} MB`);
    await assertHealthy();
  });

  test('3. a transfer without delivery-id to an address with no receiver: closed with invalid-field', async () => {
    await sendsClose('amqp', [AMQP_HEADER, open, begin, ...TRANSFER_WITHOUT_ID], 'amqp:invalid-field');
    await new Promise((res) => setTimeout(res, 200));
    await assertHealthy();
  });

  test('4. a disposition of first=0, last=2^32-1: no stall', async () => {
    const t0 = performance.now();
    const r = await rawExchange(router, 'amqp', [AMQP_HEADER, open, begin, DISPOSITION_ALL], { waitMs: 3000, halfClose: true });
    const ms = performance.now() - t0;
    assert.ok(r.closedByPeer && ms < 1500, `the router handled the disposition and our end in ${Math.round(ms)} ms`);
    assert.ok(await router.healthz(1000), '/healthz answers within 1 s');
    await assertHealthy();
  });

  test('5. a peer announcing idle-time-out 1 ms: heartbeats at most once a second', async () => {
    const r = await rawExchange(router, 'amqp', [AMQP_HEADER, OPEN_IDLE_1MS], { waitMs: 1500 });
    const frames = readFrames(r.data);
    assert.ok(
      frames.some((f) => f.code === 0x10),
      'the open was answered',
    );
    const heartbeats = frames.filter((f) => f.kind === 'frame' && f.code === undefined).length;
    assert.ok(heartbeats <= 2, `${heartbeats} heartbeats in 1.5 s`);
    await assertHealthy();
  });
});
