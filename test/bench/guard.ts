// What the frame guard costs on the data path: a stream of van/data transfers (the 38-byte head of
// peer.ts fastSend + payload) cut into socket-sized reads, fed (a) to the FrameGuard alone and (b) to a
// rhea connection's input, bare and behind guardConnection, as a router's inter-router connection gets it.
// Since the data frame reader (dataReader.ts) takes the data transfers before the guard, (c) measures it
// alone on the same stream: that is the data path now, and the guard is not on it.
// Rates are MB per CPU-second of this process.
// Usage: npx tsx test/bench/guard.ts [payloadBytes=65536] [readBytes=65536] [megabytes=512]
import { EventEmitter } from 'node:events';
import rhea from 'rhea';
import { guardConnection } from '../../src/core/router/connectionGuard.js';
import { DataFrameReader } from '../../src/core/router/dataReader.js';
import { FrameGuard } from '../../src/core/router/frameGuard.js';
import { createLogger } from '../../src/core/router/log.js';
import { AMQP_HEADER, frame, p } from '../fuzz/amqp.js';

const PAYLOAD = Number(process.argv[2] ?? 65536);
const READ = Number(process.argv[3] ?? 65536);
const MB = Number(process.argv[4] ?? 512);
const DATA_FORMAT = 0x56414e00;

/** CPU time of this process: on a shared machine, wall time measures the neighbours too. */
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function dataFrame(id: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(38);
  head.writeUInt32BE(38 + payload.length, 0);
  head[4] = 2;
  head[5] = 0;
  head.writeUInt16BE(0, 6);
  Buffer.from([0x00, 0x53, 0x14, 0xc0, 25, 6, 0x70]).copy(head, 8);
  head.writeUInt32BE(0, 15);
  head[19] = 0x70;
  head.writeUInt32BE(id >>> 0, 20);
  head[24] = 0xa0;
  head[25] = 5;
  Buffer.from([2, 0, 0, 0, 1]).copy(head, 26);
  head[31] = 0x70;
  head.writeUInt32BE(DATA_FORMAT, 32);
  head[36] = 0x41;
  head[37] = 0x42;
  return Buffer.concat([head, payload]);
}

const prelude = Buffer.concat([
  AMQP_HEADER,
  frame(p.open({ container: 'bench' })),
  frame(p.begin({ incomingWindow: 0x7fffffff, outgoingWindow: 0x7fffffff })),
  frame(p.attach({ name: 'van-data', handle: 0, role: false, address: 'van/data', sndSettleMode: 1 })),
]);
const payload = Buffer.alloc(PAYLOAD, 0x5a);
// rhea holds at most 2048 unsettled deliveries per session: a round stays below that.
const framesPerRound = Math.max(1, Math.min(1024, Math.floor((8 * 1024 * 1024) / (PAYLOAD + 38))));
/** One round of frames (at most 8 MiB), cut into reads; replayed with fresh delivery ids each round. */
function round(firstId: number): Buffer[] {
  const all = Buffer.concat(Array.from({ length: framesPerRound }, (_, i) => dataFrame(firstId + i, payload)));
  const reads: Buffer[] = [];
  for (let off = 0; off < all.length; off += READ) reads.push(all.subarray(off, off + READ));
  return reads;
}
const roundBytes = framesPerRound * (PAYLOAD + 38);
const rounds = Math.max(1, Math.round((MB * 1024 * 1024) / roundBytes));
const reads = Array.from({ length: rounds }, (_, r) => round(r * framesPerRound));

function guardAlone(): number {
  const g = new FrameGuard(1024 * 1024);
  g.push(prelude);
  const t0 = cpuSeconds();
  let n = 0;
  for (const rr of reads) for (const c of rr) n += g.push(c).length;
  const s = cpuSeconds() - t0;
  if (g.error || n === 0) throw new Error(`guard refused the stream: ${g.error?.description}`);
  return (rounds * roundBytes) / 1e6 / s;
}

function readerAlone(): number {
  let next = 0;
  let bytes = 0;
  const reader = new DataFrameReader(1024 * 1024, {
    accept: (id) => id === next++,
    frame: (_kind, _reverse, _id, payload) => (bytes += payload.length),
    pass: () => {
      throw new Error('a data frame went to the guard');
    },
    frameRemaining: () => 0,
    stopped: () => false,
  });
  reader.enable(0, 0);
  const t0 = cpuSeconds();
  for (const rr of reads) for (const c of rr) reader.push(c);
  const s = cpuSeconds() - t0;
  if (bytes !== rounds * framesPerRound * PAYLOAD) throw new Error(`the reader delivered ${bytes} bytes`);
  return (rounds * roundBytes) / 1e6 / s;
}

class FakeSocket extends EventEmitter {
  encrypted = false;
  write(): boolean {
    return true;
  }
  end(): void {}
  destroy(): void {}
  cork(): void {}
  uncork(): void {}
  setNoDelay(): void {}
}

async function throughRhea(guarded: boolean): Promise<number> {
  const container = rhea.create_container({ id: 'bench-router' });
  const socket = new FakeSocket();
  const conn = container.create_connection({
    id: `bench-${guarded}`,
    container_id: 'bench-router',
    max_frame_size: 1024 * 1024,
  } as never) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
  let delivered = 0;
  conn.on('message', (ctx: any) => {
    // eslint-disable-line @typescript-eslint/no-explicit-any
    ctx.delivery.update(true);
    delivered++;
  });
  conn.on('receiver_open', (ctx: any) => ctx.receiver.add_credit(0x7fffffff)); // eslint-disable-line @typescript-eslint/no-explicit-any
  conn.on('error', () => {});
  if (guarded) guardConnection(conn, socket as never, { log: createLogger(), onReject: (r) => console.error('refused:', r) });
  conn.accept(socket);
  socket.emit('data', prelude);
  await new Promise((r) => setImmediate(r));
  const t0 = cpuSeconds();
  for (const rr of reads) {
    for (const c of rr) socket.emit('data', c);
    // Let rhea settle and pop the round's deliveries (its buffer holds 2048).
    await new Promise((r) => setImmediate(r));
  }
  const s = cpuSeconds() - t0;
  if (delivered !== rounds * framesPerRound) throw new Error(`delivered ${delivered} of ${rounds * framesPerRound}`);
  return (rounds * roundBytes) / 1e6 / s;
}

async function main(): Promise<void> {
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const guardRuns: number[] = [];
  const bare: number[] = [];
  const guarded: number[] = [];
  const reader: number[] = [];
  const RUNS = Number(process.env.RUNS ?? 15);
  for (let i = 0; i < RUNS; i++) {
    guardRuns.push(guardAlone());
    reader.push(readerAlone());
    // Alternate which goes first, so that warm-up and GC debt fall on both alike.
    if (i % 2 === 0) {
      bare.push(await throughRhea(false));
      guarded.push(await throughRhea(true));
    } else {
      guarded.push(await throughRhea(true));
      bare.push(await throughRhea(false));
    }
  }
  // The best run is the least disturbed by other processes; the median shows the spread too.
  const best = (xs: number[]) => Math.max(...xs);
  const line = (xs: number[]) => `best ${best(xs).toFixed(0)}, median ${median(xs).toFixed(0)} MB/s`;
  const slower = (f: (xs: number[]) => number) => (((f(bare) - f(guarded)) / f(bare)) * 100).toFixed(1);
  console.log(
    `payload=${PAYLOAD} read=${READ} MB=${((rounds * roundBytes) / 1e6).toFixed(0)} runs=${RUNS} (interleaved; MB per CPU-second)`,
  );
  console.log(
    `guard alone:          ${line(guardRuns)}  (at the best rates its cost is ${((best(bare) / best(guardRuns)) * 100).toFixed(1)}% of rhea's input)`,
  );
  console.log(`rhea input, bare:     ${line(bare)}`);
  console.log(`rhea input + guard:   ${line(guarded)}  (slower by ${slower(best)}% best, ${slower(median)}% median)`);
  console.log(`data frame reader:    ${line(reader)}  (the data path now: data transfers never reach the guard or rhea)`);
}

void main();
