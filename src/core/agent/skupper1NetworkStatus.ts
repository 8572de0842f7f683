// The network status in the shape Skupper 1.x tools read: ConfigMap `skupper-network-status`, key
// `NetworkStatus`, a JSON object {addresses, siteStatus} (1.x's network.NetworkStatusInfo). Built
// from the same snapshot as `network.json`, published beside it. Pure.
import { routerAddress } from '../service/definition';
import { SITE_VERSION } from '../token/types';
import type { NetworkStatus } from './networkStatus';

export const SKUPPER1_NETWORK_KEY = 'NetworkStatus';

export interface Skupper1Address {
  recType: 'ADDRESS';
  identity: string;
  name: string;
  startTime: number;
  endTime: number;
  protocol: string;
  listenerCount: number;
  connectorCount: number;
}

export interface Skupper1SiteStatus {
  site: { identity: string; name: string; namespace: string; platform: string; siteVersion: string; policy: string };
  routerStatus: {
    router: { name: string; namespace: string; mode: string };
    links: { mode: string; name: string; linkCost: number; direction: string }[];
    listeners: { name: string; destPort: string; protocol: string; address: string }[];
    connectors: { destPort: string; protocol: string; address: string }[];
  }[];
}

export interface Skupper1NetworkStatus {
  addresses: Skupper1Address[];
  siteStatus: Skupper1SiteStatus[];
}

/**
 * 1.x's shape of `status`: an address per service (listeners: every Kubernetes site listens for every
 * service; connectors: the sites that expose it), and per site its routers with their outgoing links,
 * listeners and connectors. Laptop sites listen only where forwarded, which the snapshot does not
 * carry: they count no listener.
 */
export function skupper1NetworkStatus(status: NetworkStatus): Skupper1NetworkStatus {
  const start = Date.parse(status.updated) * 1000 || 0;
  const listening = status.sites.filter((s) => s.platform === 'kubernetes');
  const addresses: Skupper1Address[] = status.services.map((s) => ({
    recType: 'ADDRESS',
    identity: `${s.address}/${s.protocol}`,
    name: s.address,
    startTime: start,
    endTime: 0,
    protocol: s.protocol,
    listenerCount: listening.length,
    connectorCount: s.exposedIn.length,
  }));
  const siteStatus: Skupper1SiteStatus[] = status.sites.map((site) => {
    const links = status.links
      .filter((l) => l.fromSiteId === site.id)
      .map((l) => ({ mode: 'interior', name: l.name, linkCost: l.cost, direction: 'outgoing' }));
    const listeners =
      site.platform === 'kubernetes'
        ? status.services.flatMap((s) =>
            s.ports.map((p) => ({ name: `${s.address}:${p}`, destPort: String(p), protocol: s.protocol, address: routerAddress(s, p) })),
          )
        : [];
    const connectors = status.services
      .filter((s) => s.exposedIn.includes(site.id))
      .flatMap((s) => s.ports.map((p) => ({ destPort: String(p), protocol: s.protocol, address: routerAddress(s, p) })));
    const routers = site.routers?.length ? site.routers : [{ id: `${site.name}-router`, mode: 'interior' }];
    return {
      site: {
        identity: site.id,
        name: site.name,
        namespace: site.namespace,
        platform: site.platform,
        siteVersion: SITE_VERSION,
        policy: 'disabled',
      },
      routerStatus: routers.map((r, i) => ({
        router: { name: `${site.namespace || site.name}/${r.id}`, namespace: site.namespace, mode: r.mode },
        // Links belong to the site, not to one replica: the first router carries them.
        links: i === 0 ? links.map((l) => ({ ...l, mode: r.mode })) : [],
        listeners,
        connectors: i === 0 ? connectors : [],
      })),
    };
  });
  return { addresses, siteStatus };
}
