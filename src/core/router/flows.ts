// The core's data plane for streams (TCP flows): flow records, hop-by-hop forwarding by label (each hop
// has its own flow id on its connection), end-to-end credit, and the choice of target. It knows ports
// (an abstract way to send a frame to a neighbour) and adaptor endpoints, never sockets.
import { chooseTarget, type AddressTarget } from './routing.js';
import { Kind, decodeCredit, decodeOpen, encodeCredit, encodeOpen, encodeReset, encodeTag, END_PAYLOAD, type OpenInfo } from './framing.js';
import type { Logger } from './log.js';
import type { Distribution } from './config.js';
import { TrafficRecorder, type FlowSide, type FlowTraffic, type TrafficSnapshot } from './traffic.js';

/**
 * Bytes a flow end may receive before it grants more: bounds memory per flow and direction. 1 MiB keeps
 * two hops busy when the credit round trip is a few ms (256 KiB halved 2-hop throughput here).
 */
export const FLOW_WINDOW = Number(process.env.VAN_FLOW_WINDOW ?? 1024 * 1024);

/**
 * The most a flow's window grows to. A receiver grows (doubles) its window when, at a grant, its sender
 * has used nearly all its credit while the receiver's consumer keeps up: the credit round trip, not the
 * consumer, holds the flow. On one hop here a fixed 1 MiB window left a core idle a third of the time;
 * 4 MiB took one stream from 341 to 463 MB/s down and 403 to 606 MB/s up (`npm run bench`, medians of 3).
 */
export const FLOW_WINDOW_MAX = Math.max(FLOW_WINDOW, Number(process.env.VAN_FLOW_WINDOW_MAX ?? 4 * 1024 * 1024));

/**
 * Window beyond FLOW_WINDOW that all the flows ending in one router may hold together: what a router may
 * buffer for fast flows on top of one window per flow. Returned when a flow closes.
 */
export const FLOW_GROWTH_BUDGET = Number(process.env.VAN_FLOW_GROWTH_BUDGET ?? 32 * 1024 * 1024);

/**
 * How far a sender may go past the credit it was granted (its credit may go negative by one read or one
 * frame) before the receiver resets the flow: a peer that ignores credit cannot make a router buffer
 * without bound toward a slow consumer.
 */
const OVERRUN_SLACK = 1024 * 1024;

/** A neighbour as the core sees it: something that carries frames in order. */
export interface DataPort {
  readonly name: string;
  readonly peerId: string;
  sendFrame(tag: Buffer, payload: Buffer): void;
}

/** What an adaptor implements to receive a flow's events. */
export interface FlowEndpoint {
  onData(buf: Buffer): void;
  /** The other end will send no more data (half-close). */
  onEnd(): void;
  /** The flow is gone (refused, reset, route lost): close at once. */
  onReset(reason: string): void;
  /** More send credit arrived. */
  onCredit(): void;
}

/** What the core gives an adaptor to drive its end of a flow. */
export interface FlowHandle {
  readonly id: number;
  readonly address: string;
  /** Bytes that may still be sent before the far end grants more (may go negative by one read). */
  readonly credit: number;
  /** Returns false when credit is used up: pause the source until onCredit. */
  send(buf: Buffer): boolean;
  end(): void;
  reset(reason: string): void;
  /** The adaptor has written `bytes` received bytes out: lets the far end send that much more. */
  consumed(bytes: number): void;
}

export interface LocalTarget {
  readonly name: string;
  readonly address: string;
  /** Called for each incoming flow; returns the adaptor's endpoint for it. */
  accept(handle: FlowHandle): FlowEndpoint;
  active: number;
}

export interface FlowResolver {
  readonly selfId: string;
  /** The port to the next hop toward a router. */
  portTo(routerId: string): DataPort | undefined;
  /** Routers that serve an address (self included, cost 0). */
  targets(address: string): readonly AddressTarget[];
  /** The site name of a router (traffic is counted per site pair); the router id when unknown. */
  siteOf?(routerId: string): string;
}

interface PortLeg {
  kind: 'port';
  port: DataPort;
  id: number;
  mine: boolean;
}

interface LocalLeg {
  kind: 'local';
  end: LocalEnd;
}

type Leg = PortLeg | LocalLeg;

interface FlowRecord {
  seq: number;
  address: string;
  origin: string;
  dest: string;
  legs: [Leg | undefined, Leg | undefined];
  ended: [boolean, boolean];
  closed: boolean;
  started: number;
  target?: LocalTarget;
  traffic?: FlowTraffic;
}

interface PortTable {
  mine: Map<number, { rec: FlowRecord; leg: 0 | 1 }>;
  theirs: Map<number, { rec: FlowRecord; leg: 0 | 1 }>;
  nextId: number;
}

class LocalEnd implements FlowHandle {
  credit = FLOW_WINDOW;
  private pendingGrant = 0;
  /** The receive window: FLOW_WINDOW, grown up to FLOW_WINDOW_MAX (see there). */
  window = FLOW_WINDOW;
  /** Credit given to the sender so far, the first window included. */
  private granted = FLOW_WINDOW;
  /** Received bytes the adaptor has written out. */
  private consumedTotal = 0;
  /** The sender used (nearly) all the credit it had, since the window last grew. */
  private starved = false;
  bytesIn = 0;
  bytesOut = 0;
  /** performance.now() at open and at the first byte each way (0: none yet): time to first byte. */
  readonly openedAt = performance.now();
  firstInAt = 0;
  firstOutAt = 0;
  endpoint!: FlowEndpoint;

  constructor(
    private readonly core: FlowCore,
    readonly rec: FlowRecord,
    readonly leg: 0 | 1,
  ) {}

  get id(): number {
    return this.rec.seq;
  }
  get address(): string {
    return this.rec.address;
  }

  send(buf: Buffer): boolean {
    if (this.rec.closed || buf.length === 0) return this.credit > 0;
    this.credit -= buf.length;
    if (this.bytesOut === 0) this.firstOutAt = performance.now();
    this.bytesOut += buf.length;
    this.core.bytesOut += buf.length;
    this.core.forward(this.rec, this.leg, Kind.Data, buf);
    return this.credit > 0;
  }

  end(): void {
    if (this.rec.closed || this.rec.ended[this.leg]) return;
    this.core.forward(this.rec, this.leg, Kind.End, END_PAYLOAD);
  }

  reset(reason: string): void {
    if (this.rec.closed) return;
    this.core.forward(this.rec, this.leg, Kind.Reset, encodeReset(reason));
  }

  consumed(bytes: number): void {
    if (this.rec.closed) return;
    this.pendingGrant += bytes;
    this.consumedTotal += bytes;
    if (this.pendingGrant >= this.window / 4) {
      const n = this.pendingGrant + this.growth();
      this.pendingGrant = 0;
      this.granted += n;
      this.core.forward(this.rec, this.leg, Kind.Credit, encodeCredit(n));
    }
  }

  /**
   * Window added at this grant: the window doubles (within FLOW_WINDOW_MAX and the router's budget) when
   * the sender used up its credit since the window last grew and less than a quarter window still waits
   * here to be written out: the credit round trip, not the consumer, held the flow. A consumer that falls
   * behind leaves data waiting at every grant, so it never grows a window.
   */
  private growth(): number {
    if (!this.starved || this.window >= FLOW_WINDOW_MAX) return 0;
    if (this.bytesIn - this.consumedTotal >= this.window / 4) return 0;
    this.starved = false;
    const extra = this.core.reserveWindow(Math.min(this.window, FLOW_WINDOW_MAX - this.window));
    this.window += extra;
    return extra;
  }

  /** A frame for this end, coming from the other leg. */
  deliver(kind: Kind, payload: Buffer): void {
    switch (kind) {
      case Kind.Data:
        if (this.bytesIn + payload.length > this.granted + OVERRUN_SLACK) {
          const reason = `the sender went ${this.bytesIn + payload.length - this.granted} bytes past the credit it was granted`;
          this.core.forward(this.rec, this.leg, Kind.Reset, encodeReset(reason));
          this.endpoint.onReset(reason);
          break;
        }
        if (this.bytesIn === 0) this.firstInAt = performance.now();
        this.bytesIn += payload.length;
        this.core.bytesIn += payload.length;
        if (this.bytesIn >= this.granted - this.window / 8) this.starved = true;
        this.endpoint.onData(payload);
        break;
      case Kind.Credit: {
        const was = this.credit;
        this.credit += decodeCredit(payload);
        if (was <= 0 || this.credit > 0) this.endpoint.onCredit();
        break;
      }
      case Kind.End:
        this.endpoint.onEnd();
        break;
      case Kind.Reset:
        this.endpoint.onReset(payload.toString('utf8'));
        break;
    }
  }
}

export interface FlowStats {
  active: number;
  total: number;
  bytesIn: number;
  bytesOut: number;
}

export class FlowCore {
  private readonly ports = new Map<DataPort, PortTable>();
  private readonly targets = new Map<string, LocalTarget[]>();
  private readonly records = new Set<FlowRecord>();
  /** Flows that started here, by destination router: input of balanced distribution. */
  private readonly outstanding = new Map<string, number>();
  private readonly perAddress = new Map<string, { active: number; total: number }>();
  private turn = 0;
  private seq = 0;
  /** What is left of FLOW_GROWTH_BUDGET (see there). */
  private growthLeft = FLOW_GROWTH_BUDGET;
  total = 0;
  bytesIn = 0;
  bytesOut = 0;
  /** Per site pair and address: bytes, flows, time to first byte, errors; and the last flows. */
  readonly traffic = new TrafficRecorder();
  /** Called when the set of local target addresses changes (to re-advertise). */
  onTargetsChanged: () => void = () => {};

  constructor(
    private readonly resolver: FlowResolver,
    private readonly log: Logger,
  ) {}

  // ---- ports ------------------------------------------------------------------------------------

  addPort(port: DataPort): void {
    this.ports.set(port, { mine: new Map(), theirs: new Map(), nextId: 1 });
  }

  /** A neighbour connection went away: every flow through it is reset on its other side. */
  removePort(port: DataPort, reason: string): void {
    const table = this.ports.get(port);
    if (!table) return;
    this.ports.delete(port);
    const hops = [...table.mine.values(), ...table.theirs.values()];
    for (const { rec, leg } of hops) {
      if (rec.closed) continue;
      rec.legs[leg] = undefined; // nothing can be sent back that way
      this.deliverTo(rec, (1 - leg) as 0 | 1, Kind.Reset, encodeReset(reason));
      this.close(rec, reason);
    }
  }

  private allocate(port: DataPort, rec: FlowRecord, leg: 0 | 1): PortLeg | undefined {
    const table = this.ports.get(port);
    if (!table) return undefined;
    let id = table.nextId;
    while (table.mine.has(id)) id = (id + 1) >>> 0 || 1;
    table.nextId = (id + 1) >>> 0 || 1;
    table.mine.set(id, { rec, leg });
    return { kind: 'port', port, id, mine: true };
  }

  /** A frame arrived from a neighbour. */
  receive(port: DataPort, kind: Kind, reverse: boolean, id: number, payload: Buffer): void {
    const table = this.ports.get(port);
    if (!table) return;
    if (kind === Kind.Open) {
      if (reverse) return;
      this.receiveOpen(port, table, id, payload);
      return;
    }
    const hop = (reverse ? table.mine : table.theirs).get(id);
    if (!hop) {
      if (kind === Kind.Data || kind === Kind.End) {
        // The flow is gone here: tell the sender so its end closes too.
        port.sendFrame(encodeTag(Kind.Reset, !reverse, id), encodeReset('the flow is closed'));
      }
      return;
    }
    this.forward(hop.rec, hop.leg, kind, payload);
  }

  private receiveOpen(port: DataPort, table: PortTable, id: number, payload: Buffer): void {
    const info = decodeOpen(payload);
    const refuse = (reason: string) => port.sendFrame(encodeTag(Kind.Reset, true, id), encodeReset(reason));
    if (!info) return refuse('malformed flow open');
    if (table.theirs.has(id)) return refuse('duplicate flow id');
    const rec = this.newRecord(info.address, info.origin, info.dest);
    rec.legs[0] = { kind: 'port', port, id, mine: false };
    table.theirs.set(id, { rec, leg: 0 });
    if (info.dest === this.resolver.selfId) {
      if (!this.attachTarget(rec)) {
        const reason = `no target for address "${info.address}" at router ${info.dest}`;
        this.traffic.refused(info.address, this.siteOf(info.origin), this.siteOf(info.dest), 'connector', reason);
        this.deliverTo(rec, 0, Kind.Reset, encodeReset(reason));
        this.close(rec);
      }
      return;
    }
    const next = this.resolver.portTo(info.dest);
    const leg = next && this.allocate(next, rec, 1);
    if (!leg) {
      this.deliverTo(rec, 0, Kind.Reset, encodeReset(`no route to router ${info.dest}`));
      this.close(rec);
      return;
    }
    rec.legs[1] = leg;
    next!.sendFrame(encodeTag(Kind.Open, false, leg.id), payload);
  }

  // ---- local targets (tcp connectors) ------------------------------------------------------------

  addTarget(target: LocalTarget): () => void {
    let list = this.targets.get(target.address);
    if (!list) this.targets.set(target.address, (list = []));
    list.push(target);
    this.onTargetsChanged();
    return () => {
      const l = this.targets.get(target.address);
      if (!l) return;
      const i = l.indexOf(target);
      if (i >= 0) l.splice(i, 1);
      if (l.length === 0) this.targets.delete(target.address);
      this.onTargetsChanged();
    };
  }

  /** Local target addresses with their counts (advertised in our link state). */
  localAddresses(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [a, l] of this.targets) out[a] = l.length;
    return out;
  }

  private attachTarget(rec: FlowRecord): boolean {
    const list = this.targets.get(rec.address);
    if (!list || list.length === 0) return false;
    let best = list[0];
    const start = this.turn++ % list.length;
    for (let k = 0; k < list.length; k++) {
      const t = list[(start + k) % list.length];
      if (t.active < best.active || (t.active === best.active && k === 0)) best = t;
    }
    const end = new LocalEnd(this, rec, 1);
    rec.legs[1] = { kind: 'local', end };
    rec.target = best;
    best.active++;
    try {
      end.endpoint = best.accept(end);
    } catch (e) {
      best.active--;
      rec.target = undefined;
      this.log.warn('target failed to accept a flow', { address: rec.address, error: e });
      return false;
    }
    if (rec.legs[0]?.kind !== 'local') rec.traffic = this.openTraffic(rec, 'connector');
    return true;
  }

  // ---- flows from adaptors (tcp listeners) ------------------------------------------------------

  /**
   * Opens a flow to a target of `address`. Returns undefined when no router serves the address (or no
   * route leads there): the adaptor closes its client.
   */
  openFlow(address: string, distribution: Distribution, endpoint: FlowEndpoint): FlowHandle | undefined {
    const self = this.resolver.selfId;
    const candidates = this.resolver.targets(address);
    const choice = chooseTarget(candidates, distribution, (r) => this.outstanding.get(r) ?? 0, this.turn++);
    if (!choice) {
      this.traffic.refused(address, this.siteOf(self), '', 'listener', `no reachable target for address "${address}"`);
      return undefined;
    }
    const rec = this.newRecord(address, self, choice.routerId);
    const end = new LocalEnd(this, rec, 0);
    end.endpoint = endpoint;
    rec.legs[0] = { kind: 'local', end };
    if (choice.routerId === self) {
      if (!this.attachTarget(rec)) {
        this.records.delete(rec);
        this.countAddress(rec, -1);
        this.traffic.refused(address, this.siteOf(self), this.siteOf(self), 'both', `no local target accepted a flow to "${address}"`);
        return undefined;
      }
    } else {
      const port = this.resolver.portTo(choice.routerId);
      const leg = port && this.allocate(port, rec, 1);
      if (!leg) {
        this.records.delete(rec);
        this.countAddress(rec, -1);
        this.traffic.refused(address, this.siteOf(self), this.siteOf(choice.routerId), 'listener', `no route to router ${choice.routerId}`);
        return undefined;
      }
      rec.legs[1] = leg;
      const info: OpenInfo = { address, dest: choice.routerId, origin: self, window: FLOW_WINDOW };
      port!.sendFrame(encodeTag(Kind.Open, false, leg.id), encodeOpen(info));
    }
    this.outstanding.set(rec.dest, (this.outstanding.get(rec.dest) ?? 0) + 1);
    rec.traffic = this.openTraffic(rec, choice.routerId === self ? 'both' : 'listener');
    return end;
  }

  // ---- forwarding -------------------------------------------------------------------------------

  private newRecord(address: string, origin: string, dest: string): FlowRecord {
    const rec: FlowRecord = {
      seq: ++this.seq,
      address,
      origin,
      dest,
      legs: [undefined, undefined],
      ended: [false, false],
      closed: false,
      started: Date.now(),
    };
    this.records.add(rec);
    this.total++;
    this.countAddress(rec, 1);
    return rec;
  }

  private countAddress(rec: FlowRecord, delta: 1 | -1): void {
    let s = this.perAddress.get(rec.address);
    if (!s) this.perAddress.set(rec.address, (s = { active: 0, total: 0 }));
    s.active += delta;
    if (delta > 0) s.total++;
  }

  /** A frame that came from leg `from` of a flow: pass it to the other leg. */
  forward(rec: FlowRecord, from: 0 | 1, kind: Kind, payload: Buffer): void {
    if (rec.closed) return;
    const to = (1 - from) as 0 | 1;
    if (kind === Kind.End) {
      rec.ended[from] = true;
      this.deliverTo(rec, to, kind, payload);
      if (rec.ended[to]) this.close(rec);
      return;
    }
    if (kind === Kind.Reset) {
      this.deliverTo(rec, to, kind, payload);
      this.close(rec, rec.traffic ? payload.toString('utf8') : undefined);
      return;
    }
    this.deliverTo(rec, to, kind, payload);
  }

  private deliverTo(rec: FlowRecord, to: 0 | 1, kind: Kind, payload: Buffer): void {
    const leg = rec.legs[to];
    if (!leg) return;
    if (leg.kind === 'local') leg.end.deliver(kind, payload);
    else leg.port.sendFrame(encodeTag(kind, !leg.mine, leg.id), payload);
  }

  /** Takes up to `bytes` of window growth from the router's budget; returns what it took. */
  reserveWindow(bytes: number): number {
    const n = Math.max(0, Math.min(bytes, this.growthLeft));
    this.growthLeft -= n;
    return n;
  }

  /** Window growth held by open flows (for tests and status). */
  get windowGrowth(): number {
    return FLOW_GROWTH_BUDGET - this.growthLeft;
  }

  /** `reason`: why it was reset; undefined when both sides ended. */
  private close(rec: FlowRecord, reason?: string): void {
    if (rec.closed) return;
    rec.closed = true;
    for (const leg of rec.legs) if (leg?.kind === 'local') this.growthLeft += leg.end.window - FLOW_WINDOW;
    if (rec.traffic) {
      const [out, back, ttfb] = this.trafficOf(rec);
      this.traffic.closed(rec.traffic, out, back, ttfb, reason);
    }
    this.records.delete(rec);
    this.countAddress(rec, -1);
    for (const leg of rec.legs) {
      if (leg?.kind === 'port') {
        const table = this.ports.get(leg.port);
        if (table) (leg.mine ? table.mine : table.theirs).delete(leg.id);
      }
    }
    if (rec.legs[0]?.kind === 'local') {
      const n = (this.outstanding.get(rec.dest) ?? 1) - 1;
      if (n <= 0) this.outstanding.delete(rec.dest);
      else this.outstanding.set(rec.dest, n);
    }
    if (rec.target) rec.target.active--;
  }

  // ---- traffic ----------------------------------------------------------------------------------

  private siteOf(routerId: string): string {
    return this.resolver.siteOf?.(routerId) || routerId;
  }

  private openTraffic(rec: FlowRecord, side: FlowSide): FlowTraffic {
    return this.traffic.opened(rec.address, this.siteOf(rec.origin), this.siteOf(rec.dest), side);
  }

  /** Client → service bytes, service → client bytes, and the time to first byte (ms) seen at this end. */
  private trafficOf(rec: FlowRecord): [number, number, number | undefined] {
    const client = rec.legs[0]?.kind === 'local' ? rec.legs[0].end : undefined;
    const server = rec.legs[1]?.kind === 'local' ? rec.legs[1].end : undefined;
    if (server) {
      // The connector side: from the flow's arrival to the target's first byte.
      const ttfb = server.firstOutAt ? server.firstOutAt - server.openedAt : undefined;
      return [client ? client.bytesOut : server.bytesIn, server.bytesOut, ttfb];
    }
    if (client) return [client.bytesOut, client.bytesIn, client.firstInAt ? client.firstInAt - client.openedAt : undefined];
    return [0, 0, undefined];
  }

  /** The traffic counters, with the bytes of the flows still open. */
  trafficSnapshot(): TrafficSnapshot {
    return this.traffic.snapshot((visit) => {
      for (const rec of this.records) {
        if (!rec.traffic) continue;
        const [out, back, ttfb] = this.trafficOf(rec);
        visit(rec.traffic, out, back, ttfb);
      }
    });
  }

  // ---- status -----------------------------------------------------------------------------------

  stats(): FlowStats {
    return { active: this.records.size, total: this.total, bytesIn: this.bytesIn, bytesOut: this.bytesOut };
  }

  addressStats(address: string): { active: number; total: number } {
    return this.perAddress.get(address) ?? { active: 0, total: 0 };
  }

  list(limit = 1000): {
    id: number;
    address: string;
    origin: string;
    dest: string;
    since: string;
    bytesIn: number;
    bytesOut: number;
  }[] {
    const out = [];
    for (const rec of this.records) {
      if (out.length >= limit) break;
      let bytesIn = 0;
      let bytesOut = 0;
      for (const leg of rec.legs) {
        if (leg?.kind === 'local') {
          bytesIn += leg.end.bytesIn;
          bytesOut += leg.end.bytesOut;
        }
      }
      out.push({
        id: rec.seq,
        address: rec.address,
        origin: rec.origin,
        dest: rec.dest,
        since: new Date(rec.started).toISOString(),
        bytesIn,
        bytesOut,
      });
    }
    return out;
  }

  portFlowCount(port: DataPort): number {
    const t = this.ports.get(port);
    return t ? t.mine.size + t.theirs.size : 0;
  }
}
