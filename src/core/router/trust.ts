// What a router believes from the routers it is linked to. A linked router is authenticated by the
// network's TLS (it holds a certificate of the network), but it is not trusted to speak for others:
// - its link-state records are checked (types, sizes, costs, epochs) before they are stored or flooded;
// - a record for router X is taken from X's own connection, or, relayed, only from the neighbour that is
//   our way toward X (or toward a router that lists X as its neighbour, while X is not reachable yet);
// - a routed message must come from the direction of its source router.
// Pure apart from the clock passed in: the router feeds records and routes in and reads verdicts out.
// See "Trust between routers" in README.md for what this stops and what it does not.
import { computeRoutes, isNewer, type LinkState, type Route } from './routing.js';

export const LINK_STATE_LIMITS = {
  /** Router and site ids. */
  idChars: 256,
  /** Site names. */
  nameChars: 256,
  /** One address or subscription. */
  addressChars: 512,
  neighbors: 256,
  addresses: 4096,
  subscriptions: 4096,
  /** Targets per address (connectors or subscribers at one router). */
  targets: 65_535,
  /** A whole record, as JSON. */
  recordBytes: 256 * 1024,
  /** Records held (other routers). */
  routers: 512,
  /** All records held, as JSON. */
  databaseBytes: 16 * 1024 * 1024,
  /** Link cost: finite, from 1 to this. */
  maxCost: 2 ** 31 - 1,
  /** An epoch is a router's start time: refused when further ahead of our clock than this. */
  clockAheadMs: 10 * 60_000,
  /** Records held back because they came the wrong way: per neighbour, in all (count, JSON bytes), how long. */
  pendingPerNeighbor: 64,
  pending: 256,
  pendingBytes: 4 * 1024 * 1024,
  pendingMs: 30_000,
} as const;

/** How long a router may stay unreachable before its record is forgotten. */
export const UNREACHABLE_MS = 60_000;

export function unreachableMsFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env.VAN_LSA_UNREACHABLE_MS);
  return Number.isFinite(v) && v > 0 ? v : UNREACHABLE_MS;
}

/** A link cost from a peer (its open's `van-cost`) or a config: finite and at least 1, else 1. */
export function peerCost(v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) return 1;
  return Math.min(LINK_STATE_LIMITS.maxCost, Math.max(1, v));
}

const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/** Why `v` cannot be a router or site id, or undefined. */
export function idProblem(v: unknown, what = 'id'): string | undefined {
  if (typeof v !== 'string' || v.length === 0) return `${what} is not a non-empty string`;
  if (v.length > LINK_STATE_LIMITS.idChars) return `${what} is longer than ${LINK_STATE_LIMITS.idChars} characters`;
  if (v === '__proto__' || CONTROL_CHARS.test(v)) return `${what} ${JSON.stringify(v.slice(0, 40))} is not allowed`;
  return undefined;
}

/** Why the identity a peer router gave in its AMQP open cannot be used, or undefined. */
export function peerIdentityProblem(remote: { routerId: string; siteId: string; siteName: string } | undefined): string | undefined {
  if (!remote) return 'the peer gave no router id';
  const bad =
    idProblem(remote.routerId, 'router id') ??
    (remote.siteId.length > LINK_STATE_LIMITS.idChars ? 'site id is too long' : undefined) ??
    (remote.siteName.length > LINK_STATE_LIMITS.nameChars ? 'site name is too long' : undefined);
  return bad ? `the peer's AMQP open is not usable: ${bad}` : undefined;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function nonNegativeInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

export type CheckedLinkState = { ok: true; lsa: LinkState; bytes: number } | { ok: false; reason: string };

/**
 * Checks a received link-state record and returns a fresh copy holding only the known fields (own
 * properties only: a decoded AMQP map may carry a `__proto__` key). Missing maps and lists count as empty.
 */
export function checkLinkState(raw: unknown, now: number): CheckedLinkState {
  const L = LINK_STATE_LIMITS;
  const fail = (reason: string): CheckedLinkState => ({ ok: false, reason });
  if (!isPlainObject(raw)) return fail('the record is not a map');
  const badId = idProblem(raw.id, 'id');
  if (badId) return fail(badId);
  const id = raw.id as string;
  const siteId = raw.siteId ?? '';
  const siteName = raw.siteName ?? '';
  if (typeof siteId !== 'string' || siteId.length > L.idChars) return fail('siteId is not a string of at most 256 characters');
  if (typeof siteName !== 'string' || siteName.length > L.nameChars) return fail('siteName is not a string of at most 256 characters');
  if (!nonNegativeInteger(raw.epoch)) return fail('epoch is not a non-negative integer');
  if (raw.epoch > now + L.clockAheadMs) {
    return fail(
      `epoch is ${Math.round((raw.epoch - now) / 1000)} s ahead of this router's clock (at most ${L.clockAheadMs / 1000} s allowed)`,
    );
  }
  if (!nonNegativeInteger(raw.seq)) return fail('seq is not a non-negative integer');

  const neighbors: Record<string, number> = {};
  const rawNeighbors = raw.neighbors ?? {};
  if (!isPlainObject(rawNeighbors)) return fail('neighbors is not a map');
  const nKeys = Object.keys(rawNeighbors);
  if (nKeys.length > L.neighbors) return fail(`more than ${L.neighbors} neighbors`);
  for (const k of nKeys) {
    const bad = idProblem(k, 'neighbour id');
    if (bad) return fail(bad);
    const cost = rawNeighbors[k];
    if (typeof cost !== 'number' || !Number.isFinite(cost) || cost < 1 || cost > L.maxCost)
      return fail(`the cost of neighbour ${k.slice(0, 40)} is not a number from 1 to ${L.maxCost}`);
    neighbors[k] = cost;
  }

  const addresses: Record<string, number> = {};
  const rawAddresses = raw.addresses ?? {};
  if (!isPlainObject(rawAddresses)) return fail('addresses is not a map');
  const aKeys = Object.keys(rawAddresses);
  if (aKeys.length > L.addresses) return fail(`more than ${L.addresses} addresses`);
  for (const k of aKeys) {
    if (k.length === 0 || k.length > L.addressChars || k === '__proto__')
      return fail(`address ${JSON.stringify(k.slice(0, 40))} is empty, too long or not allowed`);
    const n = rawAddresses[k];
    if (!nonNegativeInteger(n) || n > L.targets)
      return fail(`the target count of address ${k.slice(0, 40)} is not an integer from 0 to ${L.targets}`);
    addresses[k] = n;
  }

  const rawSubs = raw.subscriptions ?? [];
  if (!Array.isArray(rawSubs)) return fail('subscriptions is not a list');
  if (rawSubs.length > L.subscriptions) return fail(`more than ${L.subscriptions} subscriptions`);
  const subscriptions: string[] = [];
  for (const s of rawSubs) {
    if (typeof s !== 'string' || s.length === 0 || s.length > L.addressChars)
      return fail('a subscription is not a string of 1 to 512 characters');
    subscriptions.push(s);
  }

  // A lower bound of the JSON size first (the characters of every string): an oversized record is
  // refused without building its JSON.
  let atLeast = id.length + siteId.length + siteName.length;
  for (const k of nKeys) atLeast += k.length;
  for (const k of aKeys) atLeast += k.length;
  for (const sub of subscriptions) atLeast += sub.length;
  if (atLeast > L.recordBytes) return fail(`the record is more than ${L.recordBytes} bytes`);
  const lsa: LinkState = { id, siteId, siteName, epoch: raw.epoch, seq: raw.seq, neighbors, addresses, subscriptions };
  const bytes = Buffer.byteLength(JSON.stringify(lsa));
  if (bytes > L.recordBytes) return fail(`the record is ${bytes} bytes (at most ${L.recordBytes})`);
  return { ok: true, lsa, bytes };
}

/** What the router knows when it judges where a record or message came from. */
export interface TrustView {
  self: string;
  db: ReadonlyMap<string, LinkState>;
  routes: ReadonlyMap<string, Route>;
  /** Routers with an up connection to us, with the site id each gave in its open. */
  neighbors: ReadonlyMap<string, string>;
}

/**
 * Why a record for router `x` may not be taken from neighbour `from`, or undefined when it may:
 * - from x itself (its own connection);
 * - never relayed when x is our neighbour (x sends its record to us itself);
 * - relayed for a reachable x: only from our next hop toward x;
 * - relayed for an x we cannot reach yet: only when a router we can reach (or a neighbour) lists x as
 *   its neighbour and `from` is that router or our next hop toward it.
 * So a neighbour can speak only for routers that are behind it as seen from here.
 */
export function relayProblem(x: string, from: string, view: TrustView): string | undefined {
  if (x === from) return undefined;
  if (view.neighbors.has(x)) return `router ${x} is linked to this router: its record is taken only from its own connection`;
  const route = view.routes.get(x);
  if (route) return route.nextHop === from ? undefined : `router ${from} is not the way toward ${x} (that is ${route.nextHop})`;
  for (const [y, rec] of view.db) {
    if (y === x || y === view.self || !Object.hasOwn(rec.neighbors, x)) continue;
    if (!view.neighbors.has(y) && !view.routes.has(y)) continue;
    if (y === from || view.routes.get(y)?.nextHop === from) return undefined;
  }
  return `no router reached through ${from} lists ${x} as its neighbour`;
}

interface Held {
  lsa: LinkState;
  bytes: number;
  via: string;
  at: number;
}

export type Verdict =
  | { kind: 'accepted'; lsa: LinkState }
  /** Not newer than what we hold, or our own record coming back. */
  | { kind: 'ignored' }
  /** Well formed but from the wrong direction for now: kept a while, taken if the routes change. */
  | { kind: 'held'; reason: string }
  | { kind: 'refused'; reason: string };

export interface GuardOptions {
  unreachableMs?: number;
}

/**
 * The link-state database's gate. It writes into the router's `db` (the router's own record is the
 * router's business). Keeps per record the neighbour it came through; a record whose neighbour went
 * away is "unconfirmed" and is replaced by the next copy from the right direction even if that copy
 * is not newer (so a record forged with a high version does not outlive the link it came over).
 */
export class LinkStateGuard {
  private readonly meta = new Map<string, { bytes: number; via: string; unconfirmed: boolean }>();
  private totalBytes = 0;
  private readonly pending = new Map<string, Held>();
  private pendingBytes = 0;
  private readonly unreachableSince = new Map<string, number>();
  private readonly fromNeighbor = new Map<string, Map<string, Route>>();
  readonly unreachableMs: number;
  /** Counters for status and tests. */
  readonly counts = { accepted: 0, refused: 0, held: 0, removed: 0 };

  constructor(
    private readonly db: Map<string, LinkState>,
    options: GuardOptions = {},
  ) {
    this.unreachableMs = options.unreachableMs ?? UNREACHABLE_MS;
  }

  /** A record arrived from neighbour `via`. */
  offer(raw: unknown, via: string, view: TrustView, now: number): Verdict {
    const checked = checkLinkState(raw, now);
    if (!checked.ok) {
      this.counts.refused++;
      return { kind: 'refused', reason: checked.reason };
    }
    const { lsa, bytes } = checked;
    if (lsa.id === view.self) return { kind: 'ignored' };
    if (lsa.id === via) {
      const site = view.neighbors.get(via);
      if (site !== undefined && site !== lsa.siteId) {
        this.counts.refused++;
        return {
          kind: 'refused',
          reason: `the record names site "${lsa.siteId.slice(0, 40)}" but the connection said "${site.slice(0, 40)}"`,
        };
      }
    }
    if (!this.wanted(lsa)) return { kind: 'ignored' };
    const problem = relayProblem(lsa.id, via, view);
    if (problem) {
      this.hold({ lsa, bytes, via, at: now });
      this.counts.held++;
      return { kind: 'held', reason: problem };
    }
    return this.store(lsa, bytes, via);
  }

  /** Newer than what we hold, or what we hold is unconfirmed. */
  private wanted(lsa: LinkState): boolean {
    const held = this.db.get(lsa.id);
    return isNewer(lsa, held) || this.meta.get(lsa.id)?.unconfirmed === true;
  }

  private store(lsa: LinkState, bytes: number, via: string): Verdict {
    const L = LINK_STATE_LIMITS;
    const old = this.meta.get(lsa.id);
    if (!old && this.meta.size >= L.routers) {
      this.counts.refused++;
      return { kind: 'refused', reason: `the database holds ${L.routers} routers already` };
    }
    if (this.totalBytes - (old?.bytes ?? 0) + bytes > L.databaseBytes) {
      this.counts.refused++;
      return { kind: 'refused', reason: `the database would exceed ${L.databaseBytes} bytes` };
    }
    this.totalBytes += bytes - (old?.bytes ?? 0);
    this.meta.set(lsa.id, { bytes, via, unconfirmed: false });
    this.db.set(lsa.id, lsa);
    this.counts.accepted++;
    return { kind: 'accepted', lsa };
  }

  private hold(h: Held): void {
    const L = LINK_STATE_LIMITS;
    const key = `${h.via}\u0000${h.lsa.id}`;
    this.unhold(key);
    let fromVia = 0;
    let oldestOfVia: string | undefined;
    for (const [k, p] of this.pending) {
      if (p.via !== h.via) continue;
      fromVia++;
      oldestOfVia ??= k;
    }
    // Maps iterate in insertion order: the first entries are the oldest.
    if (fromVia >= L.pendingPerNeighbor && oldestOfVia) this.unhold(oldestOfVia);
    while (this.pending.size > 0 && (this.pending.size >= L.pending || this.pendingBytes + h.bytes > L.pendingBytes))
      this.unhold(this.pending.keys().next().value!);
    this.pending.set(key, h);
    this.pendingBytes += h.bytes;
  }

  private unhold(key: string): void {
    const h = this.pending.get(key);
    if (!h) return;
    this.pending.delete(key);
    this.pendingBytes -= h.bytes;
  }

  /** Takes the held records that now come from the right direction (call after the routes changed). */
  retry(view: TrustView): { lsa: LinkState; via: string }[] {
    const taken: { lsa: LinkState; via: string }[] = [];
    for (const [key, h] of this.pending) {
      if (!this.wanted(h.lsa) || !view.neighbors.has(h.via)) {
        this.unhold(key);
        continue;
      }
      if (relayProblem(h.lsa.id, h.via, view)) continue;
      this.unhold(key);
      if (this.store(h.lsa, h.bytes, h.via).kind === 'accepted') taken.push({ lsa: h.lsa, via: h.via });
    }
    return taken;
  }

  /** The last connection to `neighbor` went down: what came through it is unconfirmed. */
  linkDown(neighbor: string): void {
    for (const m of this.meta.values()) if (m.via === neighbor) m.unconfirmed = true;
    for (const [k, h] of this.pending) if (h.via === neighbor) this.unhold(k);
  }

  /** Call with every new routing table: starts or stops the unreachable clocks. */
  noteRoutes(routes: ReadonlyMap<string, Route>, now: number): void {
    this.fromNeighbor.clear();
    for (const id of this.meta.keys()) {
      if (routes.has(id)) this.unreachableSince.delete(id);
      else if (!this.unreachableSince.has(id)) this.unreachableSince.set(id, now);
    }
    for (const id of this.unreachableSince.keys()) if (!this.meta.has(id)) this.unreachableSince.delete(id);
  }

  /** Forgets the records of routers unreachable for `unreachableMs`. */
  sweep(now: number): string[] {
    const removed: string[] = [];
    for (const [id, since] of this.unreachableSince) {
      if (now - since < this.unreachableMs) continue;
      this.unreachableSince.delete(id);
      this.forget(id);
      removed.push(id);
    }
    this.counts.removed += removed.length;
    return removed;
  }

  /**
   * Drops records held longer than pendingMs. Returns those still newer than what we hold: no copy came
   * the right way meanwhile, so they were most likely forged (a copy that merely came the long way round
   * is superseded by the one from the right direction, and dropped silently by `retry`).
   */
  expireHeld(now: number): { id: string; via: string }[] {
    const suspicious: { id: string; via: string }[] = [];
    for (const [k, h] of this.pending) {
      if (now - h.at <= LINK_STATE_LIMITS.pendingMs) continue;
      if (this.wanted(h.lsa)) suspicious.push({ id: h.lsa.id, via: h.via });
      this.unhold(k);
    }
    return suspicious;
  }

  private forget(id: string): void {
    const m = this.meta.get(id);
    if (m) this.totalBytes -= m.bytes;
    this.meta.delete(id);
    this.db.delete(id);
  }

  /**
   * Why a routed message claiming to come from router `src` may not arrive from neighbour `from`, or
   * undefined. Routed messages follow shortest paths, and costs are symmetric, so the neighbour it came
   * from must be closer to `src` than we are.
   */
  sourceProblem(src: unknown, from: string, view: TrustView): string | undefined {
    if (typeof src !== 'string' || !src) return 'no source router';
    if (src === from) return undefined;
    if (src === view.self) return 'it claims to come from this router';
    const mine = view.routes.get(src);
    if (!mine) return `its source router ${src.slice(0, 40)} is not reachable from here`;
    let theirs = this.fromNeighbor.get(from);
    if (!theirs) {
      theirs = computeRoutes(from, view.db);
      this.fromNeighbor.set(from, theirs);
    }
    const d = theirs.get(src);
    if (!d || d.cost >= mine.cost) return `router ${from} is not on a path from ${src.slice(0, 40)}`;
    return undefined;
  }

  stats(): { records: number; bytes: number; pending: number; pendingBytes: number } {
    return { records: this.meta.size, bytes: this.totalBytes, pending: this.pending.size, pendingBytes: this.pendingBytes };
  }
}

/** At most `lines` log lines per `windowMs`; says how many were left out. */
export class LogBudget {
  private windowStart = 0;
  private used = 0;
  private suppressed = 0;

  constructor(
    private readonly lines = 20,
    private readonly windowMs = 10_000,
  ) {}

  /** undefined: stay silent; a number: log now, mentioning that many suppressed lines. */
  take(now: number): number | undefined {
    if (now - this.windowStart >= this.windowMs) {
      this.windowStart = now;
      this.used = 0;
    }
    if (this.used >= this.lines) {
      this.suppressed++;
      return undefined;
    }
    this.used++;
    const s = this.suppressed;
    this.suppressed = 0;
    return s;
  }
}
