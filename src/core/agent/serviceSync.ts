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
import { type ServiceDefinition, definitionFromJson } from '../service/definition';

export const SERVICE_SYNC_ADDRESS = 'mc/$skupper-service-sync';
export const ANNOUNCE_INTERVAL_MS = 5_000;
export const EXPIRY_MISSED = 3;
export const EXPIRY_MARGIN_MS = 5_000;

export function expiryFor(intervalMs: number): number {
  return EXPIRY_MISSED * intervalMs + EXPIRY_MARGIN_MS;
}

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
  /** How often this site announces, so receivers know when it is late. */
  intervalMs: number;
  sentAt: string;
  /** The site is stopping (or being deleted): forget it now. */
  bye?: boolean;
}

/** Parses a received message body; undefined when it is not an announcement we understand. */
export function parseAnnouncement(body: unknown): Announcement | undefined {
  let value = body;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  } else if (value instanceof Uint8Array) {
    try {
      value = JSON.parse(Buffer.from(value).toString('utf8'));
    } catch {
      return undefined;
    }
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const a = value as Partial<Announcement>;
  if (a.kind !== 'service-sync' || a.version !== 1 || !a.site || typeof a.site.id !== 'string' || !a.site.id) return undefined;
  const services: ServiceDefinition[] = [];
  for (const raw of Array.isArray(a.services) ? a.services : []) {
    try {
      services.push({ ...definitionFromJson(raw), origin: a.site.id });
    } catch {
      // One bad definition does not hide the others.
    }
  }
  return {
    kind: 'service-sync',
    version: 1,
    site: { id: a.site.id, name: String(a.site.name ?? a.site.id), namespace: a.site.namespace, platform: a.site.platform === 'local' ? 'local' : 'kubernetes' },
    routers: Array.isArray(a.routers) ? a.routers : undefined,
    links: Array.isArray(a.links) ? a.links : undefined,
    services,
    counters: typeof a.counters === 'object' && a.counters !== null ? a.counters : undefined,
    intervalMs: typeof a.intervalMs === 'number' && a.intervalMs > 0 ? a.intervalMs : ANNOUNCE_INTERVAL_MS,
    sentAt: typeof a.sentAt === 'string' ? a.sentAt : new Date().toISOString(),
    bye: a.bye === true ? true : undefined,
  };
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
    }
    return [...bySite.values()].sort((a, b) => a.site.id.localeCompare(b.site.id));
  }

  lastSeen(siteId: string): number | undefined {
    let last: number | undefined;
    for (const k of this.sites.values()) if (k.announcement.site.id === siteId && (last === undefined || k.lastSeen > last)) last = k.lastSeen;
    return last;
  }

  /** Every other site's services, by site. */
  services(): { siteId: string; services: ServiceDefinition[] }[] {
    return this.announcements().map((a) => ({ siteId: a.site.id, services: a.services }));
  }
}
