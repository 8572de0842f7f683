// The network status snapshot a site publishes in ConfigMap `skupper-network-status`, key
// `network.json`: every site, link and service of the network as this site knows it from service
// sync announcements (its own included). Pure: built from announcements, published by
// networkStatusModule.ts.
import type { PublishedTraffic } from '../network/traffic';
import { routerAddress } from '../service/definition';
import type { NetworkLink, NetworkService, NetworkSite, NetworkStatus as NetworkStatusBase } from '../network/types';
import { type Announcement } from './serviceSync';

export { NETWORK_STATUS_CONFIGMAP } from '../site/names';
export const NETWORK_KEY = 'network.json';
export const EVENTS_KEY = 'events.json';

/** A site of the snapshot: the read model's shape plus when it was last heard from. */
export interface NetworkStatusSite extends NetworkSite {
  lastSeen?: string;
}

export type NetworkStatusLink = NetworkLink;
export type NetworkStatusService = NetworkService;

/** The read model's NetworkStatus (src/core/network/types.ts) plus the id of the publishing site. */
export interface NetworkStatus extends NetworkStatusBase {
  siteId?: string;
  sites: NetworkStatusSite[];
}

/** Builds the snapshot from this site's own announcement and the others' latest ones. */
export function buildNetworkStatus(self: Announcement, others: Announcement[], now: Date): NetworkStatus {
  const all = [self, ...others.filter((a) => a.site.id !== self.site.id)];
  const sites: NetworkStatusSite[] = all.map((a) => ({
    id: a.site.id,
    name: a.site.name,
    namespace: a.site.namespace ?? '',
    platform: a.site.platform,
    ...(a.routers ? { routers: a.routers } : {}),
    lastSeen: a === self ? now.toISOString() : a.sentAt,
  }));
  const names = new Map(all.map((a) => [a.site.id, a.site.name]));
  const links: NetworkStatusLink[] = [];
  for (const a of all) {
    for (const l of a.links ?? []) {
      const link: NetworkStatusLink = { ...l, fromSiteId: a.site.id };
      if (link.toSiteId && !link.toSiteName && names.has(link.toSiteId)) link.toSiteName = names.get(link.toSiteId);
      links.push(link);
    }
  }
  const services = new Map<string, NetworkStatusService>();
  for (const a of all) {
    for (const def of a.services) {
      let s = services.get(def.address);
      if (!s) {
        s = { address: def.address, protocol: def.protocol, ports: [...def.ports], exposedIn: [] };
        services.set(def.address, s);
      }
      if (!s.exposedIn.includes(a.site.id)) s.exposedIn.push(a.site.id);
    }
  }
  for (const s of services.values()) {
    const addresses = new Set(s.ports.map((p) => routerAddress(s, p)));
    let flows = 0;
    let bytes = 0;
    const consumed: string[] = [];
    for (const a of all) {
      let used = false;
      for (const [address, c] of Object.entries(a.counters ?? {})) {
        if (!addresses.has(address)) continue;
        flows += c.flows;
        bytes += c.bytes;
        if (c.consumed) used = true;
      }
      if (used) consumed.push(a.site.id);
    }
    s.consumedIn = consumed.sort();
    s.flows = flows;
    s.bytes = bytes;
    s.exposedIn.sort();
  }
  const traffic: Record<string, PublishedTraffic> = {};
  for (const a of all) if (a.traffic) traffic[a.site.id] = a.traffic;
  return {
    updated: now.toISOString(),
    siteId: self.site.id,
    ...(Object.keys(traffic).length ? { traffic } : {}),
    sites: sites.sort((a, b) => a.name.localeCompare(b.name)),
    links: links.sort((a, b) => `${a.fromSiteId}/${a.name}`.localeCompare(`${b.fromSiteId}/${b.name}`)),
    services: [...services.values()].sort((a, b) => a.address.localeCompare(b.address)),
  };
}

/** Two snapshots that differ only in their timestamps are the same: no need to publish again. */
export function sameStatus(a: NetworkStatus | undefined, b: NetworkStatus): boolean {
  if (!a) return false;
  // Traffic counters read at another time but unchanged are the same too.
  const still = (t: NetworkStatus['traffic']) => t && Object.fromEntries(Object.entries(t).map(([k, v]) => [k, { ...v, at: 0 }]));
  const strip = (s: NetworkStatus) =>
    JSON.stringify({ ...s, updated: '', sites: s.sites.map((x) => ({ ...x, lastSeen: '' })), traffic: still(s.traffic) });
  return strip(a) === strip(b);
}
