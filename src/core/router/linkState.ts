// The link-state database of one router: our own record (made from our up router links, our tcp targets
// and our subscriptions), flooded on change and every 30 s; records from peers taken only through the
// trust guard (trust.ts); routes and address tables recomputed from what was taken. Routing itself is
// pure (routing.ts); this file knows the links it floods over and the clock.
import type { RouterEntry } from './api.js';
import type { RouterConfig } from './config.js';
import type { Logger } from './log.js';
import type { PeerLink } from './peer.js';
import { addressTable, computeRoutes, type AddressTarget, type LinkState, type Route } from './routing.js';
import { checkLinkState, LinkStateGuard, unreachableMsFromEnv, type TrustView } from './trust.js';

/** One log line per bad input, within a budget shared by everything taken from peers. */
export type RefusalLog = (what: string, fields: Record<string, unknown>) => void;

/** What the link-state database needs from the router. */
export interface LinkStateHost {
  /** Our id, site id and site name (read at each new record: the site name may change live). */
  config(): RouterConfig;
  readonly epoch: number;
  /** Every connection of the router (router links and clients); only up router links count. */
  readonly links: ReadonlySet<PeerLink>;
  readonly log: Logger;
  readonly refused: RefusalLog;
  /** The tcp addresses with targets here (address -> number of targets). */
  localAddresses(): Record<string, number>;
  /** The addresses with a consumer here. */
  subscriptions(): string[];
  isStopped(): boolean;
  /** After every recompute: the routers reachable now. */
  recomputed(routers: RouterEntry[]): void;
}

const REFLOOD_MS = 30_000;
const RETRY_ROUNDS = 8;

export class LinkStates {
  private seq = 0;
  private readonly lsdb = new Map<string, LinkState>();
  /** What goes into lsdb from peers, and routed messages' sources: see trust.ts. */
  private readonly guard = new LinkStateGuard(this.lsdb, { unreachableMs: unreachableMsFromEnv() });
  private routeMap = new Map<string, Route>();
  private tcpTargets = new Map<string, AddressTarget[]>();
  private subscriberTargets = new Map<string, AddressTarget[]>();
  private lsaTimer?: NodeJS.Immediate;
  private refreshTimer?: NodeJS.Timeout;
  private sweepTimer?: NodeJS.Timeout;

  constructor(private readonly host: LinkStateHost) {}

  get routes(): ReadonlyMap<string, Route> {
    return this.routeMap;
  }
  /** tcp address -> the routers with targets for it (reachable ones only). */
  get tcpTable(): ReadonlyMap<string, AddressTarget[]> {
    return this.tcpTargets;
  }
  /** Message address -> the routers with consumers for it (reachable ones only). */
  get subTable(): ReadonlyMap<string, AddressTarget[]> {
    return this.subscriberTargets;
  }

  private get self(): string {
    return this.host.config().id;
  }

  /** Our first record, before any connection. */
  init(): void {
    this.lsdb.set(this.self, this.ownLsa());
  }

  /** Re-floods our record now and then (repairs any loss), and forgets routers unreachable for a while. */
  startTimers(): void {
    this.refreshTimer = setInterval(() => this.floodOwn(), REFLOOD_MS);
    this.refreshTimer.unref();
    // Bounded by time: unreachableMs plus a quarter of it.
    this.sweepTimer = setInterval(() => this.sweep(), Math.min(10_000, Math.max(100, this.guard.unreachableMs / 4)));
    this.sweepTimer.unref();
  }

  stop(): void {
    clearInterval(this.refreshTimer);
    clearInterval(this.sweepTimer);
    if (this.lsaTimer) clearImmediate(this.lsaTimer);
  }

  /** The best up link to a neighbour. */
  linkTo(neighbor: string): PeerLink | undefined {
    let best: PeerLink | undefined;
    for (const l of this.host.links) {
      if (l.state === 'up' && l.isRouterLink && l.remote?.routerId === neighbor && (!best || l.cost < best.cost)) best = l;
    }
    return best;
  }

  /** Our link to the next hop toward a router, when it is reachable. */
  linkToward(routerId: string): PeerLink | undefined {
    const r = this.routeMap.get(routerId);
    return r ? this.linkTo(r.nextHop) : undefined;
  }

  /** Why a routed message claiming to come from `src` may not be taken from neighbour `from`, if it may not. */
  sourceProblem(src: unknown, from: string): string | undefined {
    return this.guard.sourceProblem(src, from, this.trustView());
  }

  /** A router link came up: our updated record to all, then the whole database to the new neighbour. */
  linkUp(link: PeerLink): void {
    this.updateOwnLsa();
    // Nearest routers first: it takes a relayed record only once it knows a router on our side that lists it.
    const order = (id: string) => this.routeMap.get(id)?.cost ?? Infinity;
    const records = [...this.lsdb.values()].filter((l) => l.id !== this.self).sort((a, b) => order(a.id) - order(b.id));
    for (const lsa of records) link.sendControl({ t: 'lsa', lsa });
  }

  /** A router link we knew went down. */
  linkDown(link: PeerLink): void {
    const peer = link.remote?.routerId;
    if (peer && !this.linkTo(peer)) this.guard.linkDown(peer);
    this.updateOwnLsa();
  }

  /** Our record changed (targets, subscriptions, site name): a new one goes out soon, once. */
  schedule(): void {
    if (this.lsaTimer || this.host.isStopped()) return;
    this.lsaTimer = setImmediate(() => {
      this.lsaTimer = undefined;
      this.updateOwnLsa();
    });
  }

  /** A record is checked, and taken only from the right direction, before it is stored or flooded. */
  offer(link: PeerLink, raw: unknown): void {
    const from = link.remote?.routerId;
    if (!from || !link.isRouterLink) return;
    const verdict = this.guard.offer(raw, from, this.trustView(), Date.now());
    if (verdict.kind === 'refused') {
      const id = (raw as { id?: unknown } | null)?.id;
      this.host.refused('link-state record refused', {
        from,
        record: typeof id === 'string' ? id.slice(0, 80) : undefined,
        reason: verdict.reason,
      });
      return;
    }
    if (verdict.kind !== 'accepted') return;
    this.flood(verdict.lsa, link);
    this.recompute();
  }

  /** The routers reachable from here, with their sites. */
  routerList(): RouterEntry[] {
    return [...this.routeMap.values()].map((r) => {
      const lsa = this.lsdb.get(r.id);
      return { id: r.id, siteId: lsa?.siteId ?? '', siteName: lsa?.siteName ?? '', nextHop: r.nextHop, cost: r.cost };
    });
  }

  /** The site name a router's record gives, if any. */
  siteNameOf(routerId: string): string | undefined {
    return this.lsdb.get(routerId)?.siteName;
  }

  private ownLsa(): LinkState {
    const neighbors: Record<string, number> = {};
    for (const l of this.host.links) {
      const id = l.remote?.routerId;
      if (!l.isRouterLink || l.state !== 'up' || !id) continue;
      neighbors[id] = Math.min(Object.hasOwn(neighbors, id) ? neighbors[id] : Infinity, l.cost);
    }
    const { siteId, siteName } = this.host.config();
    return {
      id: this.self,
      siteId,
      siteName,
      epoch: this.host.epoch,
      seq: ++this.seq,
      neighbors,
      addresses: this.host.localAddresses(),
      subscriptions: this.host.subscriptions(),
    };
  }

  private updateOwnLsa(): void {
    if (this.host.isStopped()) return;
    const lsa = this.ownLsa();
    const own = checkLinkState(lsa, Date.now());
    if (!own.ok) this.host.refused('our own link-state record would be refused by other routers', { reason: own.reason });
    this.lsdb.set(this.self, lsa);
    this.recompute();
    this.flood(lsa, undefined);
  }

  private floodOwn(): void {
    const lsa = this.lsdb.get(this.self);
    if (lsa) this.flood(lsa, undefined);
  }

  private flood(lsa: LinkState, except: PeerLink | undefined): void {
    for (const l of this.host.links) if (l !== except && l.isRouterLink && l.state === 'up') l.sendControl({ t: 'lsa', lsa });
  }

  private recompute(): void {
    const before = JSON.stringify([...this.routeMap.values()]);
    this.routeMap = computeRoutes(this.self, this.lsdb);
    // Records held back because they came the wrong way may pass with the new routes (bounded rounds).
    for (let round = 0; round < RETRY_ROUNDS; round++) {
      const taken = this.guard.retry(this.trustView());
      if (taken.length === 0) break;
      for (const t of taken) this.flood(t.lsa, this.linkTo(t.via));
      this.routeMap = computeRoutes(this.self, this.lsdb);
    }
    this.guard.noteRoutes(this.routeMap, Date.now());
    this.tcpTargets = addressTable(this.self, this.lsdb, this.routeMap, 'addresses');
    this.subscriberTargets = addressTable(this.self, this.lsdb, this.routeMap, 'subscriptions');
    const after = JSON.stringify([...this.routeMap.values()]);
    if (before !== after) {
      this.host.log.info('routes changed', { routes: [...this.routeMap.values()].map((r) => `${r.id} via ${r.nextHop} cost ${r.cost}`) });
    }
    this.host.recomputed(this.routerList());
  }

  /** Routers linked to us (up), with the site id each gave in its open. */
  private trustView(): TrustView {
    const neighbors = new Map<string, string>();
    for (const l of this.host.links) if (l.isRouterLink && l.state === 'up' && l.remote) neighbors.set(l.remote.routerId, l.remote.siteId);
    return { self: this.self, db: this.lsdb, routes: this.routeMap, neighbors };
  }

  private sweep(): void {
    if (this.host.isStopped()) return;
    for (const h of this.guard.expireHeld(Date.now())) {
      this.host.refused('link-state record refused', {
        from: h.via,
        record: h.id.slice(0, 80),
        reason: `router ${h.via} is not the way toward ${h.id.slice(0, 80)}, and no copy came the right way`,
      });
    }
    const removed = this.guard.sweep(Date.now());
    if (removed.length === 0) return;
    this.host.log.info('forgot routers unreachable for a while', {
      routers: removed.slice(0, 20),
      count: removed.length,
      afterMs: this.guard.unreachableMs,
    });
    this.recompute();
  }
}
