// The network's traffic as sites publish it and as the views and the CLI read it. Each site announces its
// own router's counters (aggregates per address x site pair, and its last flows) in a compact, bounded
// form; network.json carries every site's, keyed by site id. Reading merges the two ends of a site pair:
// flows and bytes as the listener (client) side counted them, time to first byte as the connector side
// measured it. Pure: no I/O.
import {
  OTHER_ADDRESS,
  mergeCounts,
  ttfbQuantile,
  type FlowEndReason,
  type FlowSide,
  type TrafficAggregate,
  type TrafficSnapshot,
} from '../router/traffic';

/** What one site publishes at most: rows beyond are folded into one "(other)" row per side. */
export const PUBLISHED_LIMITS = { rows: 32, recent: 8, reasons: 3, textChars: 128, ttfbBuckets: 24 } as const;

const SIDES: FlowSide[] = ['listener', 'connector', 'both'];
const ENDS: FlowEndReason[] = ['open', 'closed', 'reset', 'refused'];

/**
 * One aggregate: [address, sourceSite, destSite, side (0 listener, 1 connector, 2 both), flowsOpened,
 * flowsClosed, flowsActive, bytesOut, bytesIn, ttfb counts, ttfb sum ms, [[reason, count], ...]].
 */
export type PublishedRow = [string, string, string, number, number, number, number, number, number, number[], number, [string, number][]];
/** One flow: [address, sourceSite, destSite, side, start ms, duration ms, bytesOut, bytesIn, ttfb ms (-1 none), end, reason]. */
export type PublishedFlow = [string, string, string, number, number, number, number, number, number, string, string];

export interface PublishedTraffic {
  /** When the counters were read (ms since the epoch). */
  at: number;
  rows: PublishedRow[];
  recent: PublishedFlow[];
}

// ---- publishing ---------------------------------------------------------------------------------

function foldInto(into: TrafficAggregate, a: TrafficAggregate): void {
  into.flowsOpened += a.flowsOpened;
  into.flowsClosed += a.flowsClosed;
  into.flowsActive += a.flowsActive;
  into.bytesOut += a.bytesOut;
  into.bytesIn += a.bytesIn;
  mergeCounts(into.ttfb.counts, a.ttfb.counts);
  into.ttfb.sumMs += a.ttfb.sumMs;
  for (const e of a.errors) {
    const hit = into.errors.find((x) => x.reason === e.reason);
    if (hit) hit.count += e.count;
    else into.errors.push({ ...e });
  }
  into.lastActivity = Math.max(into.lastActivity, a.lastActivity);
}

const cut = (s: string) => s.slice(0, PUBLISHED_LIMITS.textChars);

/** A router's snapshot in the bounded form a site announces: the most active rows, the last flows. */
export function publishTraffic(snapshot: TrafficSnapshot): PublishedTraffic {
  const L = PUBLISHED_LIMITS;
  const sorted = [...snapshot.aggregates].sort(
    (a, b) => Number(b.flowsActive > 0) - Number(a.flowsActive > 0) || b.lastActivity - a.lastActivity || b.bytesOut - a.bytesOut,
  );
  const kept = sorted.filter((a) => a.address !== OTHER_ADDRESS).slice(0, L.rows - SIDES.length);
  const others = new Map<FlowSide, TrafficAggregate>();
  for (const a of sorted) {
    if (kept.includes(a)) continue;
    let o = others.get(a.side);
    if (!o) {
      o = { ...a, address: OTHER_ADDRESS, sourceSite: '*', destSite: '*', flowsOpened: 0, flowsClosed: 0, flowsActive: 0 };
      Object.assign(o, { bytesOut: 0, bytesIn: 0, ttfb: { counts: [], sumMs: 0 }, errors: [], lastActivity: 0 });
      others.set(a.side, o);
    }
    foldInto(o, a);
  }
  const rows = [...kept, ...others.values()].map((a): PublishedRow => [
    cut(a.address),
    cut(a.sourceSite),
    cut(a.destSite),
    SIDES.indexOf(a.side),
    a.flowsOpened,
    a.flowsClosed,
    a.flowsActive,
    a.bytesOut,
    a.bytesIn,
    a.ttfb.counts.slice(0, L.ttfbBuckets),
    Math.round(a.ttfb.sumMs * 1000) / 1000,
    [...a.errors]
      .sort((x, y) => y.count - x.count)
      .slice(0, L.reasons)
      .map((e) => [cut(e.reason), e.count]),
  ]);
  const recent = snapshot.recent
    .slice(0, L.recent)
    .map((f): PublishedFlow => [
      cut(f.address),
      cut(f.sourceSite),
      cut(f.destSite),
      SIDES.indexOf(f.side),
      f.start,
      Math.round(f.durationMs ?? 0),
      f.bytesOut,
      f.bytesIn,
      f.ttfbMs ?? -1,
      f.end,
      cut(f.reason ?? ''),
    ]);
  return { at: snapshot.at, rows, recent };
}

// ---- reading what another site published (untrusted) ---------------------------------------------

const count = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);
// eslint-disable-next-line no-control-regex
const str = (v: unknown): string =>
  typeof v === 'string'
    ? v
        .replace(/[\u0000-\u001f\u007f]+/g, ' ')
        .trim()
        .slice(0, PUBLISHED_LIMITS.textChars)
    : '';

/** What a published row and a published flow both start with: [address, sourceSite, destSite, side]. */
function entryHead(x: unknown[]): [string, string, string, number] {
  const side = count(x[3]);
  return [str(x[0]), str(x[1]), str(x[2]), side < SIDES.length ? Math.floor(side) : 0];
}

/** Published traffic from JSON, every part checked and bounded; undefined when it is not traffic. */
export function readPublishedTraffic(raw: unknown): PublishedTraffic | undefined {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const r = raw as Record<string, unknown>;
  const L = PUBLISHED_LIMITS;
  const rows: PublishedRow[] = [];
  for (const x of Array.isArray(r.rows) ? r.rows.slice(0, L.rows) : []) {
    if (!Array.isArray(x) || typeof x[0] !== 'string') continue;
    rows.push([
      ...entryHead(x),
      count(x[4]),
      count(x[5]),
      count(x[6]),
      count(x[7]),
      count(x[8]),
      Array.isArray(x[9]) ? x[9].slice(0, L.ttfbBuckets).map(count) : [],
      count(x[10]),
      Array.isArray(x[11])
        ? x[11]
            .slice(0, L.reasons)
            .filter((e): e is unknown[] => Array.isArray(e))
            .map((e): [string, number] => [str(e[0]) || 'unknown', count(e[1])])
        : [],
    ]);
  }
  const recent: PublishedFlow[] = [];
  for (const x of Array.isArray(r.recent) ? r.recent.slice(0, L.recent) : []) {
    if (!Array.isArray(x) || typeof x[0] !== 'string') continue;
    recent.push([
      ...entryHead(x),
      count(x[4]),
      count(x[5]),
      count(x[6]),
      count(x[7]),
      typeof x[8] === 'number' && Number.isFinite(x[8]) ? x[8] : -1,
      ENDS.includes(x[9] as FlowEndReason) ? String(x[9]) : 'closed',
      str(x[10]),
    ]);
  }
  return { at: count(r.at), rows, recent };
}

// ---- the read side: per service, per site pair, flows, diagnosis ----------------------------------

/** Traffic of a service or a site pair, as `-o json` and the views show it. */
export interface TrafficSummary {
  /** Client → service bytes. */
  bytesOut: number;
  /** Service → client bytes. */
  bytesIn: number;
  flowsActive: number;
  flowsTotal: number;
  /** Median time to first byte (ms), measured at the connector side when it published. */
  ttfbMsP50?: number;
  /** Resets and refusals. */
  errors: number;
}

export interface PairTraffic extends TrafficSummary {
  address: string;
  sourceSite: string;
  destSite: string;
  errorReasons: { reason: string; count: number }[];
  ttfbCounts: number[];
}

export interface FlowRecordView {
  /** The site that reported it. */
  site: string;
  address: string;
  sourceSite: string;
  destSite: string;
  side: FlowSide;
  start: string;
  durationMs: number;
  bytesOut: number;
  bytesIn: number;
  ttfbMs?: number;
  end: string;
  reason?: string;
}

/** Per site name (or id) what it published; the input of everything below. */
export type TrafficBySite = Record<string, PublishedTraffic>;

/** The traffic field of a network.json (untrusted): per site id. */
export function trafficOfNetwork(network: unknown): TrafficBySite {
  const out: TrafficBySite = {};
  const t = network && typeof network === 'object' ? (network as { traffic?: unknown }).traffic : undefined;
  if (!t || typeof t !== 'object') return out;
  for (const [site, raw] of Object.entries(t as Record<string, unknown>)) {
    if (site === '__proto__') continue;
    const p = readPublishedTraffic(raw);
    if (p) out[site] = p;
  }
  return out;
}

/** Several network.json files (one per site we can read): the newest publication of each site wins. */
export function mergeTrafficOf(networks: unknown[]): TrafficBySite {
  const out: TrafficBySite = {};
  for (const n of networks) {
    for (const [site, p] of Object.entries(trafficOfNetwork(n))) {
      if (!out[site] || out[site].at < p.at) out[site] = p;
    }
  }
  return out;
}

/**
 * Site pairs per address: one entry per (address, source, destination). Flows and bytes from the
 * listener side's row when it published one (it saw the client), else the connector side's; time to first
 * byte from the connector side; error reasons from both (each end reports the resets it saw: the larger
 * count per reason is kept, so one reset seen at both ends counts once).
 */
export function pairTraffic(traffic: TrafficBySite): PairTraffic[] {
  interface Acc {
    pair: PairTraffic;
    counted: FlowSide | undefined;
    ttfbFrom: FlowSide | undefined;
    reasons: Map<string, number>;
  }
  const pairs = new Map<string, Acc>();
  for (const p of Object.values(traffic)) {
    for (const r of p.rows) {
      const [address, sourceSite, destSite, sideIx, opened, , active, out, back, ttfb, , errors] = r;
      const side = SIDES[sideIx] ?? 'listener';
      const key = `${address}\u0000${sourceSite}\u0000${destSite}`;
      let acc = pairs.get(key);
      if (!acc) {
        acc = {
          pair: {
            address,
            sourceSite,
            destSite,
            bytesOut: 0,
            bytesIn: 0,
            flowsActive: 0,
            flowsTotal: 0,
            errors: 0,
            errorReasons: [],
            ttfbCounts: [],
          },
          counted: undefined,
          ttfbFrom: undefined,
          reasons: new Map(),
        };
        pairs.set(key, acc);
      }
      const rank = (s: FlowSide | undefined) => (s === 'both' ? 3 : s === 'listener' ? 2 : s === 'connector' ? 1 : 0);
      if (rank(side) > rank(acc.counted)) {
        acc.counted = side;
        Object.assign(acc.pair, { bytesOut: out, bytesIn: back, flowsActive: active, flowsTotal: opened });
      } else if (side === acc.counted) {
        // Two routers of one site (replicas) on the same side: add.
        acc.pair.bytesOut += out;
        acc.pair.bytesIn += back;
        acc.pair.flowsActive += active;
        acc.pair.flowsTotal += opened;
      }
      const tRank = (s: FlowSide | undefined) => (s === 'connector' || s === 'both' ? 2 : s ? 1 : 0);
      const hasTtfb = ttfb.some((c) => c > 0);
      if (hasTtfb && tRank(side) > tRank(acc.ttfbFrom)) {
        acc.ttfbFrom = side;
        acc.pair.ttfbCounts = [...ttfb];
      } else if (hasTtfb && tRank(side) === tRank(acc.ttfbFrom)) mergeCounts(acc.pair.ttfbCounts, ttfb);
      for (const [reason, n] of errors) acc.reasons.set(reason, Math.max(acc.reasons.get(reason) ?? 0, n));
    }
  }
  return [...pairs.values()]
    .map(({ pair, reasons }) => {
      pair.errorReasons = [...reasons].map(([reason, c]) => ({ reason, count: c })).sort((a, b) => b.count - a.count);
      pair.errors = pair.errorReasons.reduce((s, e) => s + e.count, 0);
      const p50 = ttfbQuantile(pair.ttfbCounts, 0.5);
      if (p50 !== undefined) pair.ttfbMsP50 = Math.round(p50 * 1000) / 1000;
      return pair;
    })
    .sort((a, b) => a.address.localeCompare(b.address) || a.sourceSite.localeCompare(b.sourceSite) || a.destSite.localeCompare(b.destSite));
}

/** Adds pairs into one summary (the p50 from the merged sketches). */
export function summarize(pairs: PairTraffic[]): TrafficSummary {
  const counts: number[] = [];
  const s: TrafficSummary = { bytesOut: 0, bytesIn: 0, flowsActive: 0, flowsTotal: 0, errors: 0 };
  for (const p of pairs) {
    s.bytesOut += p.bytesOut;
    s.bytesIn += p.bytesIn;
    s.flowsActive += p.flowsActive;
    s.flowsTotal += p.flowsTotal;
    s.errors += p.errors;
    mergeCounts(counts, p.ttfbCounts);
  }
  const p50 = ttfbQuantile(counts, 0.5);
  if (p50 !== undefined) s.ttfbMsP50 = Math.round(p50 * 1000) / 1000;
  return s;
}

/**
 * Per service: its router addresses are the service address, or `address:port` for a service with
 * several ports (`routerAddresses`, default: the address alone).
 */
export function serviceTraffic(pairs: PairTraffic[], address: string, routerAddresses?: string[]): TrafficSummary {
  const keys = new Set(routerAddresses ?? [address]);
  return summarize(pairs.filter((p) => keys.has(p.address)));
}

/** Per site pair (every address together): what the topology's edges show. */
export function sitePairTraffic(
  pairs: PairTraffic[],
  addresses?: Set<string>,
): (TrafficSummary & { sourceSite: string; destSite: string })[] {
  const by = new Map<string, PairTraffic[]>();
  for (const p of pairs) {
    if (p.address === OTHER_ADDRESS || (addresses && !addresses.has(p.address))) continue;
    const key = `${p.sourceSite}\u0000${p.destSite}`;
    const list = by.get(key) ?? [];
    list.push(p);
    by.set(key, list);
  }
  return [...by.values()].map((list) => ({ sourceSite: list[0].sourceSite, destSite: list[0].destSite, ...summarize(list) }));
}

/** The last flows every site reported, newest first; `address` filters. */
export function recentFlows(traffic: TrafficBySite, address?: string, limit = 100): FlowRecordView[] {
  const out: FlowRecordView[] = [];
  for (const [site, p] of Object.entries(traffic)) {
    for (const f of p.recent) {
      if (address && f[0] !== address && !f[0].startsWith(`${address}:`)) continue;
      out.push({
        site,
        address: f[0],
        sourceSite: f[1],
        destSite: f[2],
        side: SIDES[f[3]] ?? 'listener',
        start: new Date(f[4]).toISOString(),
        durationMs: f[5],
        bytesOut: f[6],
        bytesIn: f[7],
        ...(f[8] >= 0 ? { ttfbMs: f[8] } : {}),
        end: f[9],
        ...(f[10] ? { reason: f[10] } : {}),
      });
    }
  }
  return out.sort((a, b) => b.start.localeCompare(a.start)).slice(0, limit);
}

/** The TrafficSummary of `-o json` for a summary that may be missing (no traffic yet). */
export function emptySummary(): TrafficSummary {
  return { bytesOut: 0, bytesIn: 0, flowsActive: 0, flowsTotal: 0, errors: 0 };
}

// ---- why is this slow or failing --------------------------------------------------------------------

export interface PathLink {
  name: string;
  from: string;
  to: string;
  state: string;
  cost: number;
  error?: string;
}

export interface PairDiagnosis {
  sourceSite: string;
  destSite: string;
  flowsTotal: number;
  flowsActive: number;
  errors: number;
  errorReasons: { reason: string; count: number }[];
  ttfbMsP50?: number;
  /** The cheapest path between the two sites over the links the network reports (any state), hop by hop. */
  path: PathLink[];
}

/**
 * A service's site pairs, worst first (most errors, then slowest first byte), each with the links on the
 * path between its sites: their state and cost beside the errors. Sites are named as the traffic names
 * them (site names); `links` name their ends by site id, resolved through `sites`.
 */
export function diagnose(
  pairs: PairTraffic[],
  address: string,
  links: { name: string; fromSiteId: string; toSiteId?: string; toSiteName?: string; state: string; cost: number; error?: string }[],
  sites: { id: string; name: string }[],
  routerAddresses?: string[],
): PairDiagnosis[] {
  const keys = new Set(routerAddresses ?? [address]);
  const nameOf = (id: string | undefined) => sites.find((s) => s.id === id)?.name ?? id ?? '?';
  const edges = links.map((l) => ({
    name: l.name,
    from: nameOf(l.fromSiteId),
    to: l.toSiteName ?? nameOf(l.toSiteId),
    state: l.state,
    cost: Number.isFinite(l.cost) && l.cost > 0 ? l.cost : 1,
    ...(l.error ? { error: l.error } : {}),
  }));
  const path = (from: string, to: string): PathLink[] => {
    if (from === to) return [];
    // Dijkstra over at most a few hundred links: a link carries traffic both ways once up.
    const dist = new Map<string, number>([[from, 0]]);
    const via = new Map<string, PathLink>();
    const done = new Set<string>();
    for (;;) {
      let here: string | undefined;
      for (const [n, d] of dist) if (!done.has(n) && (here === undefined || d < dist.get(here)!)) here = n;
      if (here === undefined || here === to) break;
      done.add(here);
      for (const e of edges) {
        const next = e.from === here ? e.to : e.to === here ? e.from : undefined;
        if (!next || done.has(next)) continue;
        const d = dist.get(here)! + e.cost + (e.state === 'up' ? 0 : 1e6);
        if (d < (dist.get(next) ?? Infinity)) {
          dist.set(next, d);
          via.set(next, e);
        }
      }
    }
    const out: PathLink[] = [];
    let at = to;
    while (at !== from && via.has(at)) {
      const e = via.get(at)!;
      out.unshift(e);
      at = e.from === at ? e.to : e.from;
    }
    return at === from ? out : [];
  };
  return pairs
    .filter((p) => keys.has(p.address))
    .map((p) => ({
      sourceSite: p.sourceSite,
      destSite: p.destSite,
      flowsTotal: p.flowsTotal,
      flowsActive: p.flowsActive,
      errors: p.errors,
      errorReasons: p.errorReasons,
      ...(p.ttfbMsP50 !== undefined ? { ttfbMsP50: p.ttfbMsP50 } : {}),
      path: path(p.sourceSite, p.destSite),
    }))
    .sort((a, b) => b.errors - a.errors || (b.ttfbMsP50 ?? 0) - (a.ttfbMsP50 ?? 0));
}

/** Two routers of one site: their rows and flows together (the newer time). */
export function mergePublished(a: PublishedTraffic | undefined, b: PublishedTraffic): PublishedTraffic {
  if (!a) return { at: b.at, rows: [...b.rows], recent: [...b.recent] };
  return {
    at: Math.max(a.at, b.at),
    rows: [...a.rows, ...b.rows],
    recent: [...a.recent, ...b.recent].sort((x, y) => y[4] - x[4]).slice(0, PUBLISHED_LIMITS.recent),
  };
}

// ---- words for people ---------------------------------------------------------------------------------

/** 1234567 → "1.2 MB" (powers of 1000, as network tools count). */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 1000) return `${Math.max(0, Math.round(n || 0))} B`;
  const units = ['kB', 'MB', 'GB', 'TB', 'PB'];
  let v = n / 1000;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

export function formatMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '-';
  if (ms < 1) return `${Math.round(ms * 1000)} µs`;
  if (ms < 1000) return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}

/** The router addresses of a service: its address, or address:port for each port when it has several. */
export function routerAddressesOf(service: { address: string; ports: number[] }): string[] {
  return service.ports.length > 1 ? service.ports.map((p) => `${service.address}:${p}`) : [service.address];
}
