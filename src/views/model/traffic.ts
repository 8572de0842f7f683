// What the views show of the traffic: rates from successive publications of each site's counters, a short
// history per service and per site pair (the sparklines), and the texts of the Services view and the
// topology's edges. Pure (no vscode): the host feeds it every network it reads and asks for figures.
import {
  type PairTraffic,
  type TrafficBySite,
  type TrafficSummary,
  formatBytes,
  formatRate,
  pairTraffic,
  routerAddressesOf,
  serviceTraffic,
  sitePairTraffic,
} from '../../core/network/traffic';

/** How long the sparklines reach back, and at most how many points they keep. */
export const HISTORY_MS = 10 * 60_000;
const MAX_POINTS = 240;
/** A rate is shown as 0 when no site published for this long (counters stopped moving). */
const STALE_MS = 20_000;

export interface RatePoint {
  /** ms since the epoch (the publication time). */
  at: number;
  bytesPerSecond: number;
  flowsActive: number;
}

interface Series {
  points: RatePoint[];
  last?: { at: number; bytes: number };
}

function push(series: Map<string, Series>, key: string, at: number, bytes: number, flowsActive: number): void {
  let s = series.get(key);
  if (!s) series.set(key, (s = { points: [] }));
  if (s.last && at <= s.last.at) return;
  const rate = s.last ? Math.max(0, (bytes - s.last.bytes) / ((at - s.last.at) / 1000)) : 0;
  if (s.last) s.points.push({ at, bytesPerSecond: rate, flowsActive });
  s.last = { at, bytes };
  while (s.points.length > MAX_POINTS || (s.points.length && s.points[0].at < at - HISTORY_MS)) s.points.shift();
}

export interface EdgeTraffic extends TrafficSummary {
  sourceSite: string;
  destSite: string;
  bytesPerSecond: number;
}

const SIDE_NAMES = ['listener', 'connector', 'both'];

export class TrafficHistory {
  /** Per published row (address, site pair, side), timed by the publishing site's own clock reading. */
  private readonly byRow = new Map<string, Series>();
  /** Sparklines: the rates as computed at each new publication. */
  private readonly byService = new Map<string, RatePoint[]>();
  private readonly byPair = new Map<string, RatePoint[]>();
  private traffic: TrafficBySite = {};
  private pairs: PairTraffic[] = [];
  /** When the newest publication was made. */
  private newest = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** A fresh read of every site's published counters. */
  update(traffic: TrafficBySite, services: { address: string; ports: number[] }[]): void {
    this.traffic = traffic;
    this.pairs = pairTraffic(traffic);
    // A rate is a difference of one site's counters between two of its own publications: sites publish
    // at their own times, so mixing one site's bytes with another's clock would make up rates.
    for (const [site, p] of Object.entries(traffic)) {
      const bySide = new Map<string, { bytes: number; active: number }>();
      for (const r of p.rows) {
        const key = `${r[0]}|${r[1]}>${r[2]}|${SIDE_NAMES[r[3]] ?? 'listener'}`;
        const acc = bySide.get(key) ?? { bytes: 0, active: 0 };
        acc.bytes += r[7] + r[8];
        acc.active += r[6];
        bySide.set(key, acc);
      }
      for (const [key, v] of bySide) push(this.byRow, `${site}|${key}`, p.at, v.bytes, v.active);
    }
    const at = Math.max(0, ...Object.values(traffic).map((t) => t.at));
    if (at <= this.newest) return;
    this.newest = at;
    const point = (list: Map<string, RatePoint[]>, key: string, p: RatePoint) => {
      const points = list.get(key) ?? [];
      points.push(p);
      while (points.length > MAX_POINTS || points[0].at < at - HISTORY_MS) points.shift();
      list.set(key, points);
    };
    for (const s of services) {
      const t = this.service(s.address, s.ports);
      point(this.byService, s.address, { at, bytesPerSecond: t.bytesPerSecond, flowsActive: t.flowsActive });
    }
    for (const e of this.edges())
      point(this.byPair, `${e.sourceSite}>${e.destSite}`, { at, bytesPerSecond: e.bytesPerSecond, flowsActive: e.flowsActive });
  }

  get published(): TrafficBySite {
    return this.traffic;
  }

  get allPairs(): PairTraffic[] {
    return this.pairs;
  }

  private rateOf(s: Series | undefined): number {
    const last = s?.points.at(-1);
    if (!last || this.now() - last.at > STALE_MS) return 0;
    return last.bytesPerSecond;
  }

  /** Bytes/s of one address between two sites, as the side that counts the pair publishes it (the listener's first). */
  private pairRate(address: string, sourceSite: string, destSite: string): number {
    for (const side of ['both', 'listener', 'connector']) {
      let found = false;
      let sum = 0;
      for (const site of Object.keys(this.traffic)) {
        const s = this.byRow.get(`${site}|${address}|${sourceSite}>${destSite}|${side}`);
        if (!s) continue;
        found = true;
        sum += this.rateOf(s);
      }
      if (found) return sum;
    }
    return 0;
  }

  service(address: string, ports: number[]): TrafficSummary & { bytesPerSecond: number } {
    const keys = new Set(routerAddressesOf({ address, ports }));
    const rate = this.pairs
      .filter((p) => keys.has(p.address))
      .reduce((sum, p) => sum + this.pairRate(p.address, p.sourceSite, p.destSite), 0);
    return { ...serviceTraffic(this.pairs, address, [...keys]), bytesPerSecond: rate };
  }

  serviceSeries(address: string): RatePoint[] {
    return [...(this.byService.get(address) ?? [])];
  }

  pairSeries(sourceSite: string, destSite: string): RatePoint[] {
    return [...(this.byPair.get(`${sourceSite}>${destSite}`) ?? [])];
  }

  /** Site pairs with traffic; `filter` limits them to one service (its router addresses). */
  edges(filter?: { address: string; ports: number[] }): EdgeTraffic[] {
    const keys = filter ? new Set(routerAddressesOf(filter)) : undefined;
    return sitePairTraffic(this.pairs, keys).map((e) => ({
      ...e,
      bytesPerSecond: this.pairs
        .filter((p) => p.sourceSite === e.sourceSite && p.destSite === e.destSite && (!keys || keys.has(p.address)))
        .reduce((sum, p) => sum + this.pairRate(p.address, p.sourceSite, p.destSite), 0),
    }));
  }
}

/** The Services view's description of a service: rate and connections, when it has traffic. */
export function serviceTrafficText(t: TrafficSummary & { bytesPerSecond: number }): string | undefined {
  if (t.flowsTotal === 0 && t.errors === 0) return undefined;
  const parts = [`${formatRate(t.bytesPerSecond)}`, `${t.flowsActive} active`];
  if (t.errors) parts.push(`${t.errors} errors`);
  return parts.join(' · ');
}

export function serviceTrafficTooltip(t: TrafficSummary & { bytesPerSecond: number }): string[] {
  return [
    `Traffic: ${formatRate(t.bytesPerSecond)} now; ${formatBytes(t.bytesOut)} to the service, ${formatBytes(t.bytesIn)} back`,
    `Connections: ${t.flowsActive} active, ${t.flowsTotal} in all${t.errors ? `, ${t.errors} reset or refused` : ''}`,
    ...(t.ttfbMsP50 !== undefined ? [`Time to first byte (median): ${t.ttfbMsP50} ms`] : []),
  ];
}

/** A topology edge's label: the rate and the connections. */
export function edgeLabel(e: EdgeTraffic): string {
  const rate = e.bytesPerSecond > 0 ? formatRate(e.bytesPerSecond) : formatBytes(e.bytesOut + e.bytesIn);
  return `${rate} · ${e.flowsActive} conn${e.errors ? ` · ${e.errors} err` : ''}`;
}

/** Edge width 1..8 by rate on a log scale (a busy edge stands out, an idle one stays thin). */
export function edgeWidth(e: EdgeTraffic): number {
  return Math.max(1, Math.min(8, 1 + Math.log10(1 + e.bytesPerSecond) * 1.2));
}
