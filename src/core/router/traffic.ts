// Traffic counters of a router, per flow end: aggregates per address x (source site, destination site)
// x side, plus a ring of the last flows. Bounded: at most `maxAggregates` aggregates (the least recently
// active idle ones are folded into one "(other)" aggregate, so totals stay right) and `recent` flows.
// Time to first byte goes into a fixed log-scale histogram (a bounded sketch that merges by addition).
// Pure: the flow core calls opened / closed / refused once per flow, never per chunk.

/** Upper bounds (ms) of the time-to-first-byte buckets; one more bucket holds what is above the last. */
export const TTFB_BOUNDS_MS: readonly number[] = [0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384];

/** Where the flow end is: the listener (client) side, the connector (server) side, or both in one router. */
export type FlowSide = 'listener' | 'connector' | 'both';

export type FlowEndReason = 'open' | 'closed' | 'reset' | 'refused';

export const OTHER_ADDRESS = '(other)';
/** Reasons kept per aggregate; more distinct reasons count under "other reasons". */
const MAX_REASONS = 6;
const REASON_CHARS = 160;

export interface TtfbSketch {
  /** Counts per bucket of TTFB_BOUNDS_MS, plus one overflow bucket; trailing zeros may be left out. */
  counts: number[];
  sumMs: number;
}

export interface TrafficAggregate {
  address: string;
  sourceSite: string;
  destSite: string;
  side: FlowSide;
  flowsOpened: number;
  flowsClosed: number;
  flowsActive: number;
  /** Client → service bytes. */
  bytesOut: number;
  /** Service → client bytes. */
  bytesIn: number;
  ttfb: TtfbSketch;
  /** Resets and refusals, by reason. */
  errors: { reason: string; count: number }[];
  /** ms since the epoch. */
  lastActivity: number;
}

export interface FlowSummary {
  id: number;
  address: string;
  sourceSite: string;
  destSite: string;
  side: FlowSide;
  /** ms since the epoch. */
  start: number;
  durationMs?: number;
  bytesOut: number;
  bytesIn: number;
  ttfbMs?: number;
  end: FlowEndReason;
  reason?: string;
}

export interface TrafficSnapshot {
  /** ms since the epoch. */
  at: number;
  aggregates: TrafficAggregate[];
  /** Newest first; open flows first of all. */
  recent: FlowSummary[];
}

interface Aggregate {
  address: string;
  sourceSite: string;
  destSite: string;
  side: FlowSide;
  flowsOpened: number;
  flowsClosed: number;
  flowsActive: number;
  bytesOut: number;
  bytesIn: number;
  ttfb: number[];
  ttfbSumMs: number;
  errors: Map<string, number>;
  lastActivity: number;
}

/** A flow end being counted: what the flow core keeps on its flow record. */
export interface FlowTraffic {
  readonly id: number;
  readonly agg: Aggregate;
  readonly start: number;
  readonly startMono: number;
}

/** Live bytes of an open flow, for a snapshot that includes flows not closed yet. */
export type LiveFlows = (visit: (t: FlowTraffic, bytesOut: number, bytesIn: number, ttfbMs: number | undefined) => void) => void;

export function ttfbBucket(ms: number): number {
  let lo = 0;
  let hi = TTFB_BOUNDS_MS.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ms <= TTFB_BOUNDS_MS[mid]) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The q-quantile (0..1) of a sketch, interpolated within its bucket; undefined when empty. */
export function ttfbQuantile(counts: readonly number[], q: number): number | undefined {
  let total = 0;
  for (const c of counts) total += c ?? 0;
  if (total === 0) return undefined;
  const rank = Math.max(1, Math.ceil(q * total));
  let cum = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i] ?? 0;
    if (cum + c >= rank) {
      if (i >= TTFB_BOUNDS_MS.length) return TTFB_BOUNDS_MS[TTFB_BOUNDS_MS.length - 1];
      const lower = i === 0 ? 0 : TTFB_BOUNDS_MS[i - 1];
      const upper = TTFB_BOUNDS_MS[i];
      return lower + ((upper - lower) * (rank - cum)) / c;
    }
    cum += c;
  }
  return TTFB_BOUNDS_MS[TTFB_BOUNDS_MS.length - 1];
}

/** Adds sketch `b` into counts `a` (a grows as needed). */
export function mergeCounts(a: number[], b: readonly number[]): number[] {
  for (let i = 0; i < b.length; i++) a[i] = (a[i] ?? 0) + (b[i] ?? 0);
  return a;
}

function trimZeros(counts: number[]): number[] {
  let n = counts.length;
  while (n > 0 && counts[n - 1] === 0) n--;
  return counts.slice(0, n);
}

export function cleanReason(reason: string): string {
  // eslint-disable-next-line no-control-regex
  return (
    reason
      .replace(/[\u0000-\u001f\u007f]+/g, ' ')
      .trim()
      .slice(0, REASON_CHARS) || 'unknown'
  );
}

export interface TrafficOptions {
  /** Aggregates kept (default 1024). */
  maxAggregates?: number;
  /** Closed flows kept (default 100). */
  recent?: number;
  now?: () => number;
}

export class TrafficRecorder {
  private readonly aggs = new Map<string, Aggregate>();
  private readonly ring: FlowSummary[] = [];
  private ringNext = 0;
  private seq = 0;
  private readonly maxAggregates: number;
  private readonly maxRecent: number;
  private readonly now: () => number;

  constructor(o: TrafficOptions = {}) {
    this.maxAggregates = Math.max(2, o.maxAggregates ?? 1024);
    this.maxRecent = Math.max(1, o.recent ?? 100);
    this.now = o.now ?? Date.now;
  }

  /** A flow end opened here. */
  opened(address: string, sourceSite: string, destSite: string, side: FlowSide): FlowTraffic {
    const agg = this.aggregate(address, sourceSite, destSite, side);
    const start = this.now();
    agg.flowsOpened++;
    agg.flowsActive++;
    agg.lastActivity = start;
    return { id: ++this.seq, agg, start, startMono: performance.now() };
  }

  /** The flow end closed (reason undefined: both sides ended cleanly; else it was reset). */
  closed(t: FlowTraffic, bytesOut: number, bytesIn: number, ttfbMs: number | undefined, reason?: string): void {
    const agg = t.agg;
    const end = this.now();
    agg.flowsActive--;
    agg.flowsClosed++;
    agg.bytesOut += bytesOut;
    agg.bytesIn += bytesIn;
    agg.lastActivity = end;
    if (ttfbMs !== undefined) {
      agg.ttfb[ttfbBucket(ttfbMs)]++;
      agg.ttfbSumMs += ttfbMs;
    }
    const why = reason === undefined ? undefined : cleanReason(reason);
    if (why !== undefined) this.countError(agg, why);
    this.remember({
      id: t.id,
      address: agg.address,
      sourceSite: agg.sourceSite,
      destSite: agg.destSite,
      side: agg.side,
      start: t.start,
      durationMs: Math.max(0, end - t.start),
      bytesOut,
      bytesIn,
      ...(ttfbMs !== undefined ? { ttfbMs: round3(ttfbMs) } : {}),
      end: why === undefined ? 'closed' : 'reset',
      ...(why !== undefined ? { reason: why } : {}),
    });
  }

  /** A flow that could not open (no target, no route): an error without a flow. */
  refused(address: string, sourceSite: string, destSite: string, side: FlowSide, reason: string): void {
    const agg = this.aggregate(address, sourceSite, destSite, side);
    const at = this.now();
    const why = cleanReason(reason);
    agg.lastActivity = at;
    this.countError(agg, why);
    this.remember({
      id: ++this.seq,
      address,
      sourceSite,
      destSite,
      side,
      start: at,
      durationMs: 0,
      bytesOut: 0,
      bytesIn: 0,
      end: 'refused',
      reason: why,
    });
  }

  /** The aggregates and recent flows; `live` adds the bytes of flows still open. */
  snapshot(live?: LiveFlows): TrafficSnapshot {
    const extra = new Map<Aggregate, { out: number; in: number; ttfb: number[]; sum: number }>();
    const open: FlowSummary[] = [];
    const at = this.now();
    live?.((t, bytesOut, bytesIn, ttfbMs) => {
      let e = extra.get(t.agg);
      if (!e) extra.set(t.agg, (e = { out: 0, in: 0, ttfb: [], sum: 0 }));
      e.out += bytesOut;
      e.in += bytesIn;
      if (open.length < this.maxRecent)
        open.push({
          id: t.id,
          address: t.agg.address,
          sourceSite: t.agg.sourceSite,
          destSite: t.agg.destSite,
          side: t.agg.side,
          start: t.start,
          durationMs: Math.max(0, at - t.start),
          bytesOut,
          bytesIn,
          ...(ttfbMs !== undefined ? { ttfbMs: round3(ttfbMs) } : {}),
          end: 'open',
        });
    });
    const aggregates: TrafficAggregate[] = [];
    for (const a of this.aggs.values()) {
      const e = extra.get(a);
      aggregates.push({
        address: a.address,
        sourceSite: a.sourceSite,
        destSite: a.destSite,
        side: a.side,
        flowsOpened: a.flowsOpened,
        flowsClosed: a.flowsClosed,
        flowsActive: a.flowsActive,
        bytesOut: a.bytesOut + (e?.out ?? 0),
        bytesIn: a.bytesIn + (e?.in ?? 0),
        ttfb: { counts: trimZeros([...a.ttfb]), sumMs: round3(a.ttfbSumMs) },
        errors: [...a.errors].map(([reason, count]) => ({ reason, count })).sort((x, y) => y.count - x.count),
        lastActivity: a.lastActivity,
      });
    }
    const closed: FlowSummary[] = [];
    for (let k = 1; k <= this.ring.length; k++) closed.push(this.ring[(this.ringNext - k + this.ring.length) % this.ring.length]);
    open.sort((a, b) => b.start - a.start);
    return { at, aggregates, recent: [...open, ...closed].slice(0, this.maxRecent) };
  }

  private aggregate(address: string, sourceSite: string, destSite: string, side: FlowSide): Aggregate {
    const key = `${side}\u0000${address}\u0000${sourceSite}\u0000${destSite}`;
    let agg = this.aggs.get(key);
    if (agg) return agg;
    if (this.aggs.size >= this.maxAggregates) this.evict();
    agg = blank(address, sourceSite, destSite, side);
    this.aggs.set(key, agg);
    return agg;
  }

  /** Folds the least recently active idle aggregate into "(other)", keeping the totals. */
  private evict(): void {
    let victim: [string, Aggregate] | undefined;
    for (const entry of this.aggs) {
      const a = entry[1];
      if (a.flowsActive > 0 || a.address === OTHER_ADDRESS) continue;
      if (!victim || a.lastActivity < victim[1].lastActivity) victim = entry;
    }
    if (!victim) return; // every aggregate has open flows: grow by one rather than lose them
    this.aggs.delete(victim[0]);
    const v = victim[1];
    const key = `${v.side}\u0000${OTHER_ADDRESS}\u0000*\u0000*`;
    let other = this.aggs.get(key);
    if (!other) this.aggs.set(key, (other = blank(OTHER_ADDRESS, '*', '*', v.side)));
    other.flowsOpened += v.flowsOpened;
    other.flowsClosed += v.flowsClosed;
    other.bytesOut += v.bytesOut;
    other.bytesIn += v.bytesIn;
    mergeCounts(other.ttfb, v.ttfb);
    other.ttfbSumMs += v.ttfbSumMs;
    for (const [r, c] of v.errors) this.countError(other, r, c);
    other.lastActivity = Math.max(other.lastActivity, v.lastActivity);
  }

  private countError(agg: Aggregate, reason: string, n = 1): void {
    const known = agg.errors.has(reason) || agg.errors.size < MAX_REASONS - 1;
    const key = known ? reason : 'other reasons';
    agg.errors.set(key, (agg.errors.get(key) ?? 0) + n);
  }

  private remember(f: FlowSummary): void {
    if (this.ring.length < this.maxRecent) this.ring.push(f);
    else this.ring[this.ringNext] = f;
    this.ringNext = (this.ringNext + 1) % this.maxRecent;
  }
}

function blank(address: string, sourceSite: string, destSite: string, side: FlowSide): Aggregate {
  return {
    address,
    sourceSite,
    destSite,
    side,
    flowsOpened: 0,
    flowsClosed: 0,
    flowsActive: 0,
    bytesOut: 0,
    bytesIn: 0,
    ttfb: new Array<number>(TTFB_BOUNDS_MS.length + 1).fill(0),
    ttfbSumMs: 0,
    errors: new Map(),
    lastActivity: 0,
  };
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
