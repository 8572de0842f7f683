// The data frame reader in front of the guard and rhea: it takes exactly the fixed data transfer heads
// of our data link, hands everything else on unchanged and in order, and buffers at most a head.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DATA_HEAD, DataFrameReader, encodeDataHead, type DataFrameSink } from '../../../src/core/router/dataReader.js';

const CHANNEL = 1;
const HANDLE = 0;
const MAX = 1024 * 1024;

/** A data frame as peer.ts fastSend writes it. */
function dataFrame(deliveryId: number, kindByte: number, id: number, payload: Buffer, channel = CHANNEL, handle = HANDLE): Buffer {
  const tag = Buffer.alloc(5);
  tag[0] = kindByte;
  tag.writeUInt32BE(id, 1);
  return Buffer.concat([encodeDataHead({ size: DATA_HEAD + payload.length, channel, handle, deliveryId, tag }), payload]);
}

/** Some other AMQP frame (its content does not matter to the reader). */
function otherFrame(bodyBytes: number, fill = 0x11): Buffer {
  const b = Buffer.alloc(8 + bodyBytes, fill);
  b.writeUInt32BE(8 + bodyBytes, 0);
  b[4] = 2;
  b[5] = 0;
  b.writeUInt16BE(CHANNEL, 6);
  return b;
}

interface Seen {
  frames: { kind: number; reverse: boolean; id: number; payload: Buffer }[];
  passed: Buffer[];
  accepted: number[];
}

function reader(opts: { remaining?: () => number; accept?: (id: number) => boolean; stopped?: () => boolean } = {}): {
  r: DataFrameReader;
  seen: Seen;
} {
  const seen: Seen = { frames: [], passed: [], accepted: [] };
  const sink: DataFrameSink = {
    accept: (id) => {
      const ok = opts.accept ? opts.accept(id) : true;
      if (ok) seen.accepted.push(id);
      return ok;
    },
    // Copies: the reader hands out views of the chunk.
    frame: (kind, reverse, id, payload) => seen.frames.push({ kind, reverse, id, payload: Buffer.from(payload) }),
    pass: (bytes) => seen.passed.push(Buffer.from(bytes)),
    frameRemaining: opts.remaining ?? (() => 0),
    stopped: opts.stopped ?? (() => false),
  };
  const r = new DataFrameReader(MAX, sink);
  r.enable(CHANNEL, HANDLE);
  return { r, seen };
}

/** The payloads per flow id, pieces joined. */
function byFlow(seen: Seen): Map<number, Buffer> {
  const m = new Map<number, Buffer>();
  for (const f of seen.frames) m.set(f.id, Buffer.concat([m.get(f.id) ?? Buffer.alloc(0), f.payload]));
  return m;
}

function feed(r: DataFrameReader, stream: Buffer, cut: number): void {
  for (let off = 0; off < stream.length; off += cut) r.push(stream.subarray(off, off + cut));
}

describe('DataFrameReader', () => {
  const a = Buffer.alloc(5000, 0xaa);
  const b = Buffer.alloc(70_000, 0xbb);
  const credit = Buffer.from([0, 4, 0, 0]);
  const others = [otherFrame(0), otherFrame(30, 0x22), otherFrame(300, 0x33)];
  const stream = Buffer.concat([
    others[0],
    dataFrame(0, 2, 7, a),
    others[1],
    dataFrame(1, 2, 9, b),
    dataFrame(2, 5 | 0x80, 7, credit),
    others[2],
    dataFrame(3, 2, 7, a),
  ]);

  for (const cut of [1, 3, 37, 38, 39, 1000, 16384, stream.length]) {
    test(`reads cut every ${cut} bytes: data to the sink, other frames passed whole and in order`, () => {
      const { r, seen } = reader();
      feed(r, stream, cut);
      const flows = byFlow(seen);
      assert.ok(flows.get(9)!.equals(b));
      const dataOf7 = Buffer.concat(seen.frames.filter((f) => f.id === 7 && f.kind === 2).map((f) => f.payload));
      assert.ok(dataOf7.equals(Buffer.concat([a, a])));
      const passed = Buffer.concat(seen.passed);
      const credits = seen.frames.filter((f) => f.kind === 5);
      if (credits.length === 1) {
        // The credit frame was whole in one read: taken here, reverse bit read.
        assert.ok(credits[0].payload.equals(credit));
        assert.equal(credits[0].reverse, true);
        assert.ok(passed.equals(Buffer.concat(others)));
        assert.deepEqual(seen.accepted, [0, 1, 2, 3]);
      } else {
        // Split across reads: a small frame of another kind goes to rhea, whole, in its place.
        assert.ok(passed.equals(Buffer.concat([others[0], others[1], dataFrame(2, 5 | 0x80, 7, credit), others[2]])));
        assert.deepEqual(seen.accepted, [0, 1, 3]);
      }
    });
  }

  test('not enabled, or the guard mid-frame with no size known: every byte goes to the guard', () => {
    const { r, seen } = reader({ remaining: () => -1 });
    feed(r, stream, 1000);
    assert.equal(seen.frames.length, 0);
    assert.ok(Buffer.concat(seen.passed).equals(stream));
    const off = new DataFrameReader(MAX, {
      accept: () => true,
      frame: () => assert.fail('not enabled'),
      pass: () => {},
      frameRemaining: () => 0,
      stopped: () => false,
    });
    off.push(stream);
  });

  test('takes step with the guard: the rest of the frame it is reading goes to it first', () => {
    const tail = Buffer.alloc(10, 0x44);
    let left = 10;
    const { r, seen } = reader({ remaining: () => left });
    r.push(Buffer.concat([tail, dataFrame(0, 2, 1, a)]));
    left = 0;
    assert.ok(seen.passed[0].equals(tail));
    assert.ok(byFlow(seen).get(1)!.equals(a));
  });

  test('a head that differs in one byte, or a delivery the sink refuses, goes to the guard whole', () => {
    const good = dataFrame(0, 2, 1, a);
    for (const [at, value] of [
      [36, 0x42], // not settled
      [37, 0x41], // more
      [7, CHANNEL + 1], // another channel
      [18, HANDLE + 1], // another link
      [26, 9], // an unknown kind
      [35, 1], // another message format
    ]) {
      const bad = Buffer.from(good);
      bad[at] = value;
      const { r, seen } = reader();
      feed(r, Buffer.concat([bad, good]), 4096);
      assert.ok(Buffer.concat(seen.passed).equals(bad), `byte ${at}`);
      assert.ok(byFlow(seen).get(1)!.equals(a), `byte ${at}`);
    }
    const { r, seen } = reader({ accept: (id) => id !== 0 });
    r.push(Buffer.concat([good, dataFrame(1, 2, 1, a)]));
    assert.ok(Buffer.concat(seen.passed).equals(good));
    assert.ok(byFlow(seen).get(1)!.equals(a));
  });

  test('bounded: never holds more than a head; a large frame for the guard streams through', () => {
    const big = otherFrame(200_000);
    const { r, seen } = reader();
    feed(r, big, 7);
    assert.ok(seen.passed.every((p) => p.length <= DATA_HEAD));
    assert.ok(Buffer.concat(seen.passed).equals(big));
  });

  test('a frame above max-frame-size goes to the guard from its first bytes; reading stops when the guard refuses', () => {
    let refused = false;
    const { r, seen } = reader({ stopped: () => refused });
    const huge = Buffer.alloc(64);
    huge.writeUInt32BE(MAX + 1, 0);
    r.push(huge.subarray(0, 4));
    assert.equal(seen.passed.length, 1, 'the size went to the guard at once');
    refused = true;
    r.push(Buffer.concat([huge.subarray(4), dataFrame(0, 2, 1, a)]));
    assert.equal(seen.frames.length, 0);
  });

  test('a size below a frame header ends reading: the rest goes to the guard', () => {
    const { r, seen } = reader();
    const bad = Buffer.alloc(12);
    bad.writeUInt32BE(4, 0);
    r.push(Buffer.concat([bad, dataFrame(0, 2, 1, a)]));
    assert.equal(seen.frames.length, 0);
    assert.equal(Buffer.concat(seen.passed).length, bad.length + DATA_HEAD + a.length);
  });
});
