// Traffic counters: the bounded recorder alone, then as the flow core feeds it at both ends of real flows.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowCore, type DataPort, type FlowEndpoint, type FlowHandle } from '../../../src/core/router/flows.js';
import { decodeTag } from '../../../src/core/router/framing.js';
import { createLogger } from '../../../src/core/router/log.js';
import type { AddressTarget } from '../../../src/core/router/routing.js';
import { OTHER_ADDRESS, TTFB_BOUNDS_MS, TrafficRecorder, mergeCounts, ttfbBucket, ttfbQuantile } from '../../../src/core/router/traffic.js';

describe('traffic recorder', () => {
  test('aggregates per address x site pair x side; active, closed, bytes, ttfb, errors by reason', () => {
    let now = 1_000;
    const r = new TrafficRecorder({ now: () => now });
    const a = r.opened('echo', 'east', 'west', 'listener');
    const b = r.opened('echo', 'east', 'west', 'listener');
    const c = r.opened('echo', 'north', 'west', 'listener');
    now += 50;
    r.closed(a, 10, 20, 1.5);
    r.closed(b, 3, 0, undefined, 'the connection was reset');
    const snap = r.snapshot();
    const ew = snap.aggregates.find((x) => x.sourceSite === 'east')!;
    assert.deepEqual([ew.flowsOpened, ew.flowsClosed, ew.flowsActive, ew.bytesOut, ew.bytesIn, ew.lastActivity], [2, 2, 0, 13, 20, 1_050]);
    assert.deepEqual(ew.errors, [{ reason: 'the connection was reset', count: 1 }]);
    assert.equal(
      ew.ttfb.counts.reduce((s, n) => s + n, 0),
      1,
    );
    assert.equal(ew.ttfb.counts[ttfbBucket(1.5)], 1);
    const nw = snap.aggregates.find((x) => x.sourceSite === 'north')!;
    assert.equal(nw.flowsActive, 1);
    // Newest first; the reset one says why.
    assert.deepEqual(
      snap.recent.map((f) => [f.id, f.end, f.reason ?? '', f.durationMs]),
      [
        [b.id, 'reset', 'the connection was reset', 50],
        [a.id, 'closed', '', 50],
      ],
    );
    r.closed(c, 1, 1, undefined);
  });

  test('a snapshot adds the live bytes of open flows and lists them first', () => {
    const r = new TrafficRecorder();
    const a = r.opened('db', 'x', 'y', 'connector');
    r.closed(r.opened('db', 'x', 'y', 'connector'), 100, 200, 2);
    const snap = r.snapshot((visit) => visit(a, 7, 9, 0.4));
    assert.deepEqual([snap.aggregates[0].bytesOut, snap.aggregates[0].bytesIn, snap.aggregates[0].flowsActive], [107, 209, 1]);
    assert.deepEqual(
      snap.recent.map((f) => f.end),
      ['open', 'closed'],
    );
    assert.equal(snap.recent[0].bytesOut, 7);
  });

  test('refusals count as errors without a flow', () => {
    const r = new TrafficRecorder();
    r.refused('ghost', 'a', 'b', 'connector', 'no target for address "ghost"');
    r.refused('ghost', 'a', 'b', 'connector', 'no target for address "ghost"');
    const [agg] = r.snapshot().aggregates;
    assert.deepEqual([agg.flowsOpened, agg.errors], [0, [{ reason: 'no target for address "ghost"', count: 2 }]]);
    assert.equal(r.snapshot().recent[0].end, 'refused');
  });

  test('bounded: aggregates fold into (other) keeping the totals; the ring keeps the last N; reasons are capped', () => {
    let now = 0;
    const r = new TrafficRecorder({ maxAggregates: 8, recent: 5, now: () => ++now });
    let bytes = 0;
    for (let i = 0; i < 100; i++) {
      const f = r.opened(`svc-${i}`, 'a', 'b', 'listener');
      r.closed(f, i, 1, undefined, i % 2 ? `reason ${i}` : undefined);
      bytes += i;
    }
    const open = r.opened('still-open', 'a', 'b', 'listener');
    const snap = r.snapshot();
    assert.ok(snap.aggregates.length <= 9, `${snap.aggregates.length} aggregates`);
    assert.equal(
      snap.aggregates.reduce((s, x) => s + x.bytesOut, 0),
      bytes,
    );
    assert.equal(
      snap.aggregates.reduce((s, x) => s + x.flowsOpened, 0),
      101,
    );
    const other = snap.aggregates.find((x) => x.address === OTHER_ADDRESS)!;
    assert.ok(other.errors.length <= 6);
    assert.ok(other.errors.some((e) => e.reason === 'other reasons'));
    assert.equal(
      snap.aggregates.reduce((s, x) => s + x.errors.reduce((n, e) => n + e.count, 0), 0),
      50,
    );
    assert.deepEqual(
      snap.recent.map((f) => f.address),
      ['svc-99', 'svc-98', 'svc-97', 'svc-96', 'svc-95'],
    );
    // An aggregate with an open flow is never folded away.
    for (let i = 0; i < 20; i++) r.closed(r.opened(`later-${i}`, 'a', 'b', 'listener'), 1, 1, undefined);
    assert.ok(r.snapshot().aggregates.some((x) => x.address === 'still-open' && x.flowsActive === 1));
    r.closed(open, 0, 0, undefined);
  });

  test('time-to-first-byte sketch: buckets, quantiles, merge', () => {
    assert.equal(ttfbBucket(0.1), 0);
    assert.equal(ttfbBucket(0.25), 0);
    assert.equal(ttfbBucket(0.3), 1);
    assert.equal(ttfbBucket(1e9), TTFB_BOUNDS_MS.length);
    assert.equal(ttfbQuantile([], 0.5), undefined);
    const counts: number[] = [];
    // 100 values at 3 ms (bucket (2,4]) and 100 at 100 ms (bucket (64,128]).
    counts[ttfbBucket(3)] = 100;
    counts[ttfbBucket(100)] = 100;
    const p50 = ttfbQuantile(counts, 0.5)!;
    assert.ok(p50 > 2 && p50 <= 4, `p50 ${p50}`);
    const p99 = ttfbQuantile(counts, 0.99)!;
    assert.ok(p99 > 64 && p99 <= 128, `p99 ${p99}`);
    const merged = mergeCounts([1, 2], [0, 1, 5]);
    assert.deepEqual(merged, [1, 3, 5]);
  });
});

// ---- the flow core feeds it -------------------------------------------------------------------

const log = createLogger({ test: 'traffic' });
const tick = () => new Promise((r) => setImmediate(r));

class MemPort implements DataPort {
  peer!: MemPort;
  core!: FlowCore;
  constructor(
    readonly name: string,
    readonly peerId: string,
  ) {}
  sendFrame(tag: Buffer, payload: Buffer): void {
    const t = decodeTag(tag)!;
    queueMicrotask(() => this.peer.core.receive(this.peer, t.kind, t.reverse, t.id, payload));
  }
}

class Sink implements FlowEndpoint {
  bytes = 0;
  reset?: string;
  onData(buf: Buffer) {
    this.bytes += buf.length;
  }
  onEnd() {}
  onReset(reason: string) {
    this.reset = reason;
  }
  onCredit() {}
}

function pair() {
  const sites: Record<string, string> = { A: 'site-a', B: 'site-b' };
  const targets = new Map<string, AddressTarget[]>();
  const ports: Record<string, MemPort> = {};
  const mk = (id: string, other: string) =>
    new FlowCore(
      { selfId: id, portTo: () => ports[`${id}->${other}`], targets: (a) => targets.get(a) ?? [], siteOf: (r) => sites[r] },
      log,
    );
  const A = mk('A', 'B');
  const B = mk('B', 'A');
  const ab = new MemPort('A->B', 'B');
  const ba = new MemPort('B->A', 'A');
  ab.peer = ba;
  ba.peer = ab;
  ab.core = A;
  ba.core = B;
  A.addPort(ab);
  B.addPort(ba);
  Object.assign(ports, { 'A->B': ab, 'B->A': ba });
  return { A, B, targets, ports };
}

describe('flow core traffic', () => {
  test('both ends count the same flow: listener side at the origin, connector side (with ttfb) at the target', async () => {
    const { A, B, targets } = pair();
    targets.set('echo', [{ routerId: 'B', count: 1, cost: 1 }]);
    let server: FlowHandle | undefined;
    B.addTarget({ name: 't', address: 'echo', active: 0, accept: (h) => ((server = h), new Sink()) });
    for (let i = 0; i < 3; i++) {
      const h = A.openFlow('echo', 'balanced', new Sink())!;
      h.send(Buffer.alloc(11));
      h.send(Buffer.alloc(4));
      await tick();
      server!.send(Buffer.alloc(7));
      h.end();
      server!.end();
      await tick();
    }
    const live = A.openFlow('echo', 'balanced', new Sink())!;
    live.send(Buffer.alloc(5));
    await tick();
    const a = A.trafficSnapshot().aggregates;
    const b = B.trafficSnapshot().aggregates;
    assert.equal(a.length, 1);
    assert.deepEqual(
      [a[0].side, a[0].sourceSite, a[0].destSite, a[0].flowsClosed, a[0].flowsActive, a[0].bytesOut, a[0].bytesIn],
      ['listener', 'site-a', 'site-b', 3, 1, 3 * 15 + 5, 3 * 7],
    );
    assert.deepEqual(
      [b[0].side, b[0].sourceSite, b[0].destSite, b[0].flowsClosed, b[0].flowsActive, b[0].bytesOut, b[0].bytesIn],
      ['connector', 'site-a', 'site-b', 3, 1, 3 * 15 + 5, 3 * 7],
    );
    assert.equal(
      b[0].ttfb.counts.reduce((s, n) => s + n, 0),
      3,
    );
    assert.deepEqual(
      A.trafficSnapshot().recent.map((f) => f.end),
      ['open', 'closed', 'closed', 'closed'],
    );
    live.reset('gave up');
    await tick();
    assert.deepEqual(B.trafficSnapshot().aggregates[0].errors, [{ reason: 'gave up', count: 1 }]);
    assert.deepEqual(A.trafficSnapshot().aggregates[0].errors, [{ reason: 'gave up', count: 1 }]);
  });

  test('a lost link and a missing target are errors with their reasons', async () => {
    const { A, B, targets, ports } = pair();
    targets.set('echo', [{ routerId: 'B', count: 1, cost: 1 }]);
    B.addTarget({ name: 't', address: 'echo', active: 0, accept: () => new Sink() });
    A.openFlow('echo', 'balanced', new Sink())!.send(Buffer.alloc(1));
    await tick();
    A.removePort(ports['A->B'], 'the link to router B went down');
    const [agg] = A.trafficSnapshot().aggregates;
    assert.deepEqual(agg.errors, [{ reason: 'the link to router B went down', count: 1 }]);
    assert.equal(A.openFlow('nowhere', 'balanced', new Sink()), undefined);
    const refused = A.trafficSnapshot().aggregates.find((x) => x.address === 'nowhere')!;
    assert.match(refused.errors[0].reason, /no reachable target/);
  });
});
