// The core's flow engine without sockets: three cores joined by in-memory ports (A - M - B).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FlowCore,
  FLOW_GROWTH_BUDGET,
  FLOW_WINDOW,
  FLOW_WINDOW_MAX,
  type DataPort,
  type FlowEndpoint,
  type FlowHandle,
} from '../../../src/core/router/flows.js';
import { decodeTag } from '../../../src/core/router/framing.js';
import { createLogger } from '../../../src/core/router/log.js';
import type { AddressTarget } from '../../../src/core/router/routing.js';

const log = createLogger({ test: 'flows' });

class MemPort implements DataPort {
  peer!: MemPort;
  core!: FlowCore;
  frames = 0;
  constructor(
    readonly name: string,
    readonly peerId: string,
  ) {}
  sendFrame(tag: Buffer, payload: Buffer): void {
    this.frames++;
    const t = decodeTag(tag)!;
    // Deliver asynchronously, in order, as a connection would.
    queueMicrotask(() => this.peer.core.receive(this.peer, t.kind, t.reverse, t.id, payload));
  }
}

function link(a: FlowCore, aId: string, b: FlowCore, bId: string): [MemPort, MemPort] {
  const pa = new MemPort(`${aId}->${bId}`, bId);
  const pb = new MemPort(`${bId}->${aId}`, aId);
  pa.peer = pb;
  pb.peer = pa;
  pa.core = a;
  pb.core = b;
  a.addPort(pa);
  b.addPort(pb);
  return [pa, pb];
}

class Recorder implements FlowEndpoint {
  data: Buffer[] = [];
  ended = false;
  reset?: string;
  credits = 0;
  onData(buf: Buffer) {
    this.data.push(buf);
  }
  onEnd() {
    this.ended = true;
  }
  onReset(reason: string) {
    this.reset = reason;
  }
  onCredit() {
    this.credits++;
  }
  get bytes() {
    return this.data.reduce((n, b) => n + b.length, 0);
  }
}

const tick = () => new Promise((r) => setImmediate(r));

function mesh() {
  const ports: Record<string, DataPort> = {};
  const targets = new Map<string, AddressTarget[]>();
  const mk = (id: string, nextHop: (dest: string) => string | undefined) =>
    new FlowCore({ selfId: id, portTo: (dest) => ports[`${id}->${nextHop(dest)}`], targets: (a) => targets.get(a) ?? [] }, log);
  const A = mk('A', () => 'M');
  const M = mk('M', (d) => d);
  const B = mk('B', () => 'M');
  const [am, ma] = link(A, 'A', M, 'M');
  const [mb, bm] = link(M, 'M', B, 'B');
  Object.assign(ports, { 'A->M': am, 'M->A': ma, 'M->B': mb, 'B->M': bm });
  return { A, M, B, targets, ports };
}

describe('flow core', () => {
  test('a flow crosses an intermediate core; half-close both ways cleans up everywhere', async () => {
    const { A, M, B, targets, ports } = mesh();
    targets.set('svc', [{ routerId: 'B', count: 1, cost: 2 }]);
    const server = new Recorder();
    let serverHandle: FlowHandle | undefined;
    B.addTarget({ name: 't', address: 'svc', active: 0, accept: (h) => ((serverHandle = h), server) });
    const client = new Recorder();
    const h = A.openFlow('svc', 'balanced', client)!;
    assert.ok(h);
    h.send(Buffer.from('hello'));
    h.end();
    await tick();
    assert.equal(Buffer.concat(server.data).toString(), 'hello');
    assert.equal(server.ended, true);
    assert.equal(M.stats().active, 1);
    serverHandle!.send(Buffer.from('world'));
    serverHandle!.end();
    await tick();
    assert.equal(Buffer.concat(client.data).toString(), 'world');
    assert.equal(client.ended, true);
    assert.deepEqual([A.stats().active, M.stats().active, B.stats().active], [0, 0, 0]);
    assert.equal(M.portFlowCount(ports['M->A']) + M.portFlowCount(ports['M->B']), 0);
  });

  test('credit: the sender stops at one window until the receiver consumes', async () => {
    const { A, B, targets } = mesh();
    targets.set('svc', [{ routerId: 'B', count: 1, cost: 2 }]);
    const server = new Recorder();
    let serverHandle: FlowHandle | undefined;
    B.addTarget({ name: 't', address: 'svc', active: 0, accept: (h) => ((serverHandle = h), server) });
    const client = new Recorder();
    const h = A.openFlow('svc', 'balanced', client)!;
    const chunk = Buffer.alloc(64 * 1024);
    let sent = 0;
    while (h.send(chunk)) sent += chunk.length;
    sent += chunk.length;
    assert.equal(sent, FLOW_WINDOW);
    assert.ok(h.credit <= 0);
    await tick();
    assert.equal(server.bytes, FLOW_WINDOW);
    serverHandle!.consumed(server.bytes);
    await tick();
    assert.equal(client.credits, 1);
    // The sender had used all its credit and nothing waited at the receiver: the window doubled.
    assert.equal(h.credit, 2 * FLOW_WINDOW);
  });

  /** Flows A -> B whose receiving ends (at B) are driven by hand: each consumes what the test says. */
  function receivers() {
    const m = mesh();
    m.targets.set('svc', [{ routerId: 'B', count: 1, cost: 2 }]);
    const ends: { handle: FlowHandle; got: Recorder; consumed: number }[] = [];
    m.B.addTarget({
      name: 't',
      address: 'svc',
      active: 0,
      accept: (handle) => {
        const got = new Recorder();
        ends.push({ handle, got, consumed: 0 });
        return got;
      },
    });
    /** The receiving end writes out `share` of what waits there. */
    const consume = (share = 1) => {
      for (const e of ends) {
        const n = Math.floor((e.got.bytes - e.consumed) * share);
        e.consumed += n;
        e.handle.consumed(n);
      }
    };
    const open = () => m.A.openFlow('svc', 'balanced', new Recorder())!;
    return { B: m.B, ends, consume, open };
  }

  /** Sends until the credit is used up. */
  function fill(h: FlowHandle): void {
    const chunk = Buffer.alloc(64 * 1024);
    while (h.send(chunk));
  }

  /** The receive window as the sender sees it: what it may have in flight. */
  const windowOf = (h: FlowHandle, end: { got: Recorder; consumed: number }) => h.credit + end.got.bytes - end.consumed;

  test('window: grows while the sender is held by credit and the consumer keeps up, up to FLOW_WINDOW_MAX', async () => {
    const { B, ends, consume, open } = receivers();
    const h = open();
    const windows: number[] = [];
    for (let round = 0; round < 6; round++) {
      fill(h);
      await tick();
      consume();
      await tick();
      windows.push(windowOf(h, ends[0]));
    }
    // Each grant while the sender is out of credit doubles the window, until the cap.
    const expected = [2, 4, 8, 16, 32, 64].map((k) => Math.min(k * FLOW_WINDOW, FLOW_WINDOW_MAX));
    assert.deepEqual(windows, expected);
    assert.equal(B.windowGrowth, FLOW_WINDOW_MAX - FLOW_WINDOW);
    h.reset('done');
    await tick();
    assert.equal(B.windowGrowth, 0, 'returned to the budget when the flow closed');
  });

  test('window: a consumer that falls behind never grows it', async () => {
    const { B, ends, consume, open } = receivers();
    const h = open();
    for (let round = 0; round < 4; round++) {
      fill(h);
      await tick();
      // Half of what arrived is still waiting to be written out when the grant goes.
      consume(0.5);
      await tick();
      assert.equal(windowOf(h, ends[0]), FLOW_WINDOW);
    }
    assert.equal(B.windowGrowth, 0);
  });

  test('window: growth is bounded by the router budget shared by all flows', async () => {
    const { B, ends, consume, open } = receivers();
    const perFlow = FLOW_WINDOW_MAX - FLOW_WINDOW;
    const flows = Array.from({ length: Math.floor(FLOW_GROWTH_BUDGET / perFlow) + 2 }, open);
    for (let round = 0; round < 6; round++) {
      for (const h of flows) fill(h);
      await tick();
      consume();
      await tick();
    }
    assert.equal(B.windowGrowth, FLOW_GROWTH_BUDGET);
    const windows = flows.map((h, i) => windowOf(h, ends[i]));
    assert.equal(
      windows.reduce((a, w) => a + w - FLOW_WINDOW, 0),
      FLOW_GROWTH_BUDGET,
    );
    assert.ok(windows.every((w) => w <= FLOW_WINDOW_MAX));
    for (const h of flows) h.reset('done');
    await tick();
    assert.equal(B.windowGrowth, 0);
  });

  test('a sender that ignores its credit is reset before the receiver buffers more than a window and a slack', async () => {
    const { ends, open } = receivers();
    const h = open();
    const chunk = Buffer.alloc(64 * 1024);
    // A hostile router sends on although send() said to stop (nothing is written out at the receiver).
    for (let i = 0; i < (4 * FLOW_WINDOW) / chunk.length; i++) h.send(chunk);
    await tick();
    const got = ends[0].got;
    assert.match(got.reset ?? '', /past the credit it was granted/);
    assert.ok(got.bytes <= 2 * FLOW_WINDOW, `buffered ${got.bytes} bytes`);
  });

  test('losing a port resets the flows that crossed it, on both sides', async () => {
    const { A, M, B, targets, ports } = mesh();
    targets.set('svc', [{ routerId: 'B', count: 1, cost: 2 }]);
    const server = new Recorder();
    B.addTarget({ name: 't', address: 'svc', active: 0, accept: () => server });
    const client = new Recorder();
    A.openFlow('svc', 'balanced', client)!.send(Buffer.from('x'));
    await tick();
    M.removePort(ports['M->B'], 'the link to router B went down');
    await tick();
    assert.match(client.reset ?? '', /went down/);
    assert.equal(A.stats().active, 0);
    assert.equal(M.stats().active, 0);
  });

  test('no target at the destination: the opener is reset with the reason', async () => {
    const { A, targets } = mesh();
    targets.set('ghost', [{ routerId: 'B', count: 1, cost: 2 }]); // stale advertisement
    const client = new Recorder();
    assert.ok(A.openFlow('ghost', 'balanced', client));
    await tick();
    assert.match(client.reset ?? '', /no target for address "ghost"/);
    assert.equal(A.openFlow('unknown', 'balanced', new Recorder()), undefined);
  });
});
