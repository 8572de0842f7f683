// Service sync between sites: every site multicasts an announcement of its own service definitions
// (and who it is, its routers and links, so every site can draw the whole network) on
// SERVICE_SYNC_ADDRESS; every site keeps the latest announcement of every other site and forgets a
// site that has been silent for `expiryMs`.
//
// Timing: announcements go out every ANNOUNCE_INTERVAL_MS (5 s) and at once on a change. A site is
// forgotten after 3 missed announcements plus a 5 s margin (20 s): multicast is best effort and a
// link that flaps or re-routes can lose one or two announcements, which must not make Services blink
// in every other site; but a site that is gone for good should not stay listed for minutes. Traffic
// does not wait for this: the router stops routing to a vanished site's connectors as soon as the
// routing table loses them. A site that stops cleanly says so (`bye`), and is forgotten at once.
import { type PublishedTraffic, mergePublished, readPublishedTraffic } from '../network/traffic';
import { type ServiceDefinition, definitionFromJson } from '../service/definition';

export const SERVICE_SYNC_ADDRESS = 'mc/$skupper-service-sync';
export const ANNOUNCE_INTERVAL_MS = 5_000;
export const EXPIRY_MISSED = 3;
export const EXPIRY_MARGIN_MS = 5_000;

export function expiryFor(intervalMs: number): number {
  return EXPIRY_MISSED * intervalMs + EXPIRY_MARGIN_MS;
}

/**
 * Bounds on what another site may announce: an announcement comes from a site we are linked with,
 * not from ourselves. Intervals are clamped (a site announcing 1e12 ms would never expire).
 */
export const ANNOUNCEMENT_LIMITS = {
  /** The JSON text of one announcement. */
  bodyChars: 1024 * 1024,
  services: 1024,
  links: 256,
  routers: 16,
  counters: 4096,
  /** Ids, names, namespaces, link names, timestamps. */
  textChars: 256,
  /** A link's error text (longer is cut). */
  errorChars: 2048,
  minIntervalMs: 100,
  maxIntervalMs: 60_000,
} as const;

export type Platform = 'kubernetes' | 'local';

export interface AnnouncedSite {
  id: string;
  name: string;
  namespace?: string;
  platform: Platform;
}

export interface AnnouncedLink {
  name: string;
  /** Outgoing links only: every link is announced by the site that made it. */
  toSiteId?: string;
  toSiteName?: string;
  state: 'up' | 'down' | 'connecting';
  since?: string;
  cost: number;
  error?: string;
}

export interface AnnouncedCounters {
  /** Router address → open flows and bytes carried at this site (listeners and connectors). */
  [address: string]: { flows: number; bytes: number; consumed?: boolean };
}

export interface Announcement {
  kind: 'service-sync';
  version: 1;
  site: AnnouncedSite;
  routers?: { id: string; mode: 'interior' | 'edge' }[];
  links?: AnnouncedLink[];
  services: ServiceDefinition[];
  counters?: AnnouncedCounters;
  /** The site's traffic counters (bounded: network/traffic.ts). */
  traffic?: PublishedTraffic;
  /** How often this site announces, so receivers know when it is late. */
  intervalMs: number;
  sentAt: string;
  /** The site is stopping (or being deleted): forget it now. */
  bye?: boolean;
}

/** Parses a received message body; undefined when it is not an announcement we understand. */
export function parseAnnouncement(body: unknown): Announcement | undefined {
  const read = readAnnouncement(body);
  return typeof read === 'string' ? undefined : read;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function text(v: unknown, max: number = ANNOUNCEMENT_LIMITS.textChars): string | undefined {
  return typeof v === 'string' && v.length <= max ? v : undefined;
}

function count(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0;
}

function readLink(raw: unknown): AnnouncedLink | undefined {
  if (!isRecord(raw)) return undefined;
  const name = text(raw.name);
  if (!name) return undefined;
  const state = raw.state === 'up' || raw.state === 'connecting' ? raw.state : 'down';
  const cost = typeof raw.cost === 'number' && Number.isFinite(raw.cost) && raw.cost >= 1 ? raw.cost : 1;
  const link: AnnouncedLink = { name, state, cost };
  const toSiteId = text(raw.toSiteId);
  const toSiteName = text(raw.toSiteName);
  const since = text(raw.since);
  if (toSiteId) link.toSiteId = toSiteId;
  if (toSiteName) link.toSiteName = toSiteName;
  if (since) link.since = since;
  if (typeof raw.error === 'string') link.error = raw.error.slice(0, ANNOUNCEMENT_LIMITS.errorChars);
  return link;
}

function readCounters(raw: unknown): AnnouncedCounters | undefined {
  if (!isRecord(raw)) return undefined;
  const out: AnnouncedCounters = {};
  for (const [address, c] of Object.entries(raw).slice(0, ANNOUNCEMENT_LIMITS.counters)) {
    if (!isRecord(c) || address === '__proto__' || address.length > ANNOUNCEMENT_LIMITS.textChars) continue;
    out[address] = { flows: count(c.flows), bytes: count(c.bytes), ...(c.consumed === true ? { consumed: true } : {}) };
  }
  return out;
}

/**
 * An announcement from a message body, every part checked: a malformed entry (a link, a router, a
 * counter, a service) is dropped and the rest kept; a malformed whole gives the reason instead.
 */
export function readAnnouncement(body: unknown): Announcement | string {
  const L = ANNOUNCEMENT_LIMITS;
  let value = body;
  if (value instanceof Uint8Array) value = Buffer.from(value).toString('utf8');
  if (typeof value === 'string') {
    if (value.length > L.bodyChars) return `the announcement is ${value.length} characters (at most ${L.bodyChars})`;
    try {
      value = JSON.parse(value);
    } catch {
      return 'the announcement is not JSON';
    }
  }
  if (!isRecord(value)) return 'the announcement is not an object';
  const a = value;
  if (a.kind !== 'service-sync' || a.version !== 1) return 'not a service-sync announcement of version 1';
  const site = isRecord(a.site) ? a.site : undefined;
  const siteId = text(site?.id);
  if (!site || !siteId) return 'the announcement has no usable site id';
  const services: ServiceDefinition[] = [];
  for (const raw of Array.isArray(a.services) ? a.services.slice(0, L.services) : []) {
    try {
      services.push({ ...definitionFromJson(raw), origin: siteId });
    } catch {
      // One bad definition does not hide the others.
    }
  }
  const routers = Array.isArray(a.routers)
    ? a.routers
        .slice(0, L.routers)
        .filter(isRecord)
        .map((r) => ({ id: text(r.id) ?? '', mode: r.mode === 'edge' ? ('edge' as const) : ('interior' as const) }))
        .filter((r) => r.id)
    : undefined;
  const links = Array.isArray(a.links)
    ? a.links
        .slice(0, L.links)
        .map(readLink)
        .filter((l): l is AnnouncedLink => l !== undefined)
    : undefined;
  const interval =
    typeof a.intervalMs === 'number' && Number.isFinite(a.intervalMs) && a.intervalMs > 0 ? a.intervalMs : ANNOUNCE_INTERVAL_MS;
  const namespace = text(site.namespace);
  const traffic = readPublishedTraffic(a.traffic);
  return {
    kind: 'service-sync',
    version: 1,
    site: {
      id: siteId,
      name: text(site.name) ?? siteId,
      ...(namespace !== undefined ? { namespace } : {}),
      platform: site.platform === 'local' ? 'local' : 'kubernetes',
    },
    routers,
    links,
    services,
    counters: readCounters(a.counters),
    ...(traffic ? { traffic } : {}),
    intervalMs: Math.min(L.maxIntervalMs, Math.max(L.minIntervalMs, interval)),
    sentAt: text(a.sentAt) ?? new Date().toISOString(),
    bye: a.bye === true ? true : undefined,
  };
}

/**
 * An announcement as received from router `fromRouterId` (the router tells which router a message
 * came from): taken only when that router belongs to the announced site, as the router's link state
 * says (`siteOfRouter`). Its router list is then that router alone. Gives the reason when refused.
 */
export function checkAnnouncement(
  body: unknown,
  fromRouterId: string | undefined,
  siteOfRouter: (routerId: string) => string | undefined,
): Announcement | string {
  const a = readAnnouncement(body);
  if (typeof a === 'string') return a;
  if (!fromRouterId) return `announcement of site ${a.site.id} from an unknown router`;
  const site = siteOfRouter(fromRouterId);
  if (site === undefined) return `announcement of site ${a.site.id} from router ${fromRouterId}, which is not known here`;
  if (site !== a.site.id) return `router ${fromRouterId} belongs to site ${site} but announced site ${a.site.id}`;
  const mode = a.routers?.find((r) => r.id === fromRouterId)?.mode ?? a.routers?.[0]?.mode ?? 'interior';
  return { ...a, routers: [{ id: fromRouterId, mode }] };
}

/** Says whether to report a refusal now: once per sender and minute, so a hostile site cannot flood the events. */
export class RefusalThrottle {
  private readonly last = new Map<string, number>();

  constructor(private readonly everyMs = 60_000) {}

  shouldReport(sender: string, now: number): boolean {
    const at = this.last.get(sender);
    if (at !== undefined && now - at < this.everyMs) return false;
    if (this.last.size >= 256) this.last.clear();
    this.last.set(sender, now);
    return true;
  }
}

interface Known {
  announcement: Announcement;
  lastSeen: number;
  signature: string;
}

/** What changed in the set of services other sites define. */
export interface SyncChange {
  added: { siteId: string; address: string }[];
  removed: { siteId: string; address: string }[];
  sitesJoined: AnnouncedSite[];
  sitesLeft: AnnouncedSite[];
}

function serviceSignature(a: Announcement): string {
  return JSON.stringify(a.services.map((s) => [s.address, s.protocol, s.ports]).sort());
}

function keyOf(a: Announcement): string {
  return `${a.site.id}/${a.routers?.[0]?.id ?? ''}`;
}

function emptyChange(): SyncChange {
  return { added: [], removed: [], sitesJoined: [], sitesLeft: [] };
}

export function isEmptyChange(c: SyncChange): boolean {
  return c.added.length + c.removed.length + c.sitesJoined.length + c.sitesLeft.length === 0;
}

/** The other sites as the latest announcements tell them. The clock is passed in (tests). */
export class RemoteSites {
  private readonly sites = new Map<string, Known>();

  constructor(private readonly selfId: string) {}

  /**
   * Takes an announcement in; returns what changed in the network's services. Announcements are kept
   * per site and router: with several router replicas each announces for the site.
   */
  receive(a: Announcement, now: number): SyncChange {
    const change = emptyChange();
    if (a.site.id === this.selfId) return change;
    const key = keyOf(a);
    const known = this.sites.get(key);
    if (a.bye) {
      if (known) this.forget(key, change);
      return change;
    }
    const signature = serviceSignature(a);
    if (!known) {
      if (!this.hasSite(a.site.id)) change.sitesJoined.push(a.site);
      for (const s of a.services) change.added.push({ siteId: a.site.id, address: s.address });
    } else if (known.signature !== signature) {
      const before = new Set(known.announcement.services.map((s) => s.address));
      const after = new Set(a.services.map((s) => s.address));
      for (const s of after) if (!before.has(s)) change.added.push({ siteId: a.site.id, address: s });
      for (const s of before) if (!after.has(s)) change.removed.push({ siteId: a.site.id, address: s });
      // A changed definition (ports, protocol) under the same address: report it as re-added.
      if (change.added.length + change.removed.length === 0) {
        for (const s of a.services) change.added.push({ siteId: a.site.id, address: s.address });
      }
    }
    this.sites.set(key, { announcement: a, lastSeen: now, signature });
    return change;
  }

  private hasSite(id: string): boolean {
    for (const k of this.sites.values()) if (k.announcement.site.id === id) return true;
    return false;
  }

  /** Forgets the sites silent for longer than their expiry. */
  expire(now: number): SyncChange {
    const change = emptyChange();
    for (const [id, known] of this.sites) {
      if (now - known.lastSeen > expiryFor(known.announcement.intervalMs)) this.forget(id, change);
    }
    return change;
  }

  private forget(key: string, change: SyncChange): void {
    const known = this.sites.get(key);
    if (!known) return;
    this.sites.delete(key);
    const site = known.announcement.site;
    if (!this.hasSite(site.id)) change.sitesLeft.push(site);
    for (const s of known.announcement.services) change.removed.push({ siteId: site.id, address: s.address });
  }

  /** The latest announcement of every other site (router replicas of one site merged). */
  announcements(): Announcement[] {
    const bySite = new Map<string, Announcement>();
    const all = [...this.sites.values()].sort((a, b) => b.lastSeen - a.lastSeen);
    for (const { announcement: a } of all) {
      const seen = bySite.get(a.site.id);
      if (!seen) {
        bySite.set(a.site.id, { ...a, routers: [...(a.routers ?? [])], links: [...(a.links ?? [])], counters: { ...(a.counters ?? {}) } });
        continue;
      }
      for (const r of a.routers ?? []) if (!seen.routers!.some((x) => x.id === r.id)) seen.routers!.push(r);
      seen.links!.push(...(a.links ?? []).filter((l) => !seen.links!.some((x) => x.name === l.name && x.toSiteId === l.toSiteId)));
      for (const [address, c] of Object.entries(a.counters ?? {})) {
        const t = (seen.counters![address] ??= { flows: 0, bytes: 0 });
        t.flows += c.flows;
        t.bytes += c.bytes;
        if (c.consumed) t.consumed = true;
      }
      if (a.traffic) seen.traffic = mergePublished(seen.traffic, a.traffic);
    }
    return [...bySite.values()].sort((a, b) => a.site.id.localeCompare(b.site.id));
  }

  lastSeen(siteId: string): number | undefined {
    let last: number | undefined;
    for (const k of this.sites.values())
      if (k.announcement.site.id === siteId && (last === undefined || k.lastSeen > last)) last = k.lastSeen;
    return last;
  }

  /** Every other site's services, by site. */
  services(): { siteId: string; services: ServiceDefinition[] }[] {
    return this.announcements().map((a) => ({ siteId: a.site.id, services: a.services }));
  }
}
