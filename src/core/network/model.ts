// Pure functions: Kubernetes objects of one site → SiteRecord, and every site → the network graph.
import { siteModeOf } from '../v2/mode';
import type {
  ClusterModel,
  LinkState,
  NetworkLink,
  NetworkService,
  NetworkSite,
  NetworkStatus,
  SiteLink,
  SiteRecord,
  SiteService,
} from './types';

export interface KubeObject {
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    creationTimestamp?: string | Date;
  };
  data?: Record<string, string>;
}

export {
  LINK_SELECTOR as LINK_LABEL,
  NETWORK_STATUS_CONFIGMAP as STATUS_CONFIGMAP,
  SERVICES_CONFIGMAP,
  SITE_CONFIGMAP,
} from '../site/names';

function parseJson(text: string | undefined): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const asArray = (v: unknown): any[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);
const num = (v: unknown, d: number): number => {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : d;
};

export function normalizeState(v: unknown): LinkState {
  if (v === true) return 'up';
  if (v === false) return 'down';
  const s = String(v ?? '').toLowerCase();
  if (['up', 'active', 'connected', 'ok', 'ready', 'operational'].includes(s)) return 'up';
  if (['connecting', 'pending', 'starting', 'redeeming', 'configured'].includes(s)) return 'connecting';
  return 'down';
}

/** Site id: the ConfigMap data's `id` (as our site core writes it), else the ConfigMap uid (Skupper 1.x). */
export function siteIdOf(siteCm: KubeObject): string {
  return (
    str(siteCm.data?.['id']) ??
    str(siteCm.data?.['site-id']) ??
    siteCm.metadata?.uid ??
    `${siteCm.metadata?.namespace}/${siteCm.metadata?.name}`
  );
}

interface StatusConnection {
  name?: string;
  link?: string;
  state?: unknown;
  connected?: unknown;
  active?: unknown;
  direction?: string;
  incoming?: boolean;
  role?: string;
  remoteSiteId?: string;
  remoteSite?: string | { id?: string; name?: string };
  remoteSiteName?: string;
  siteId?: string;
  siteName?: string;
  cost?: number;
  since?: string;
  lastError?: string;
  error?: string;
}

function remoteOf(c: StatusConnection): { id?: string; name?: string } {
  if (c.remoteSite && typeof c.remoteSite === 'object') return { id: c.remoteSite.id, name: c.remoteSite.name };
  return { id: str(c.remoteSiteId) ?? str(c.siteId), name: str(c.remoteSiteName) ?? str(c.siteName) ?? str(c.remoteSite) };
}

function stateOf(c: StatusConnection): LinkState {
  if (c.state !== undefined) return normalizeState(c.state);
  if (c.connected !== undefined) return normalizeState(c.connected);
  if (c.active !== undefined) return normalizeState(c.active);
  return 'down';
}

export interface SiteObjects {
  context: string;
  namespace: string;
  site: KubeObject;
  linkSecrets?: KubeObject[];
  services?: KubeObject;
  status?: KubeObject;
}

export function buildSite(o: SiteObjects): SiteRecord {
  const data = o.site.data ?? {};
  const siteJson = parseJson(o.status?.data?.['site.json']) as Record<string, unknown> | undefined;
  // the agent's own id (what network.json uses) wins over the ConfigMap's
  const id = str(siteJson?.['siteId']) ?? siteIdOf(o.site);
  const network = parseJson(o.status?.data?.['network.json']) as NetworkStatus | undefined;
  const connections: StatusConnection[] = [
    ...asArray(siteJson?.['links']),
    ...asArray(siteJson?.['connections']),
    ...asArray((siteJson?.['router'] as any)?.['connections']),
  ];
  const byName = new Map<string, StatusConnection>();
  for (const c of connections) {
    const n = str(c.link) ?? str(c.name);
    if (
      n &&
      !(c.incoming || c.direction === 'incoming' || c.direction === 'in') &&
      (!c.role || c.role === 'inter-router' || c.role === 'edge')
    )
      byName.set(n, c);
  }
  const links: SiteLink[] = [];
  for (const secret of o.linkSecrets ?? []) {
    const name = secret.metadata?.name ?? '?';
    const ann = secret.metadata?.annotations ?? {};
    const c = byName.get(name);
    const remote = c ? remoteOf(c) : {};
    links.push({
      name,
      cost: num(c?.cost ?? ann['skupper.io/cost'], 1),
      state: c ? stateOf(c) : siteJson ? 'down' : 'connecting',
      remoteSiteId: remote.id ?? str(ann['skupper.io/generated-by']) ?? str(ann['skupper.io/remote-site-id']),
      remoteSiteName: remote.name ?? str(ann['skupper.io/remote-site-name']) ?? str(ann['skupper.io/generated-by-name']),
      since: str(c?.since),
      error: str(c?.lastError) ?? str(c?.error),
      expires: str(ann['skupper.io/cert-expiry']) ?? str(ann['skupper.io/expires']),
    });
  }
  for (const c of connections) {
    if (!(c.incoming || c.direction === 'incoming' || c.direction === 'in')) continue;
    const remote = remoteOf(c);
    links.push({
      name: str(c.link) ?? str(c.name) ?? `from ${remote.name ?? remote.id ?? '?'}`,
      cost: num(c.cost, 1),
      state: stateOf(c),
      remoteSiteId: remote.id,
      remoteSiteName: remote.name,
      since: str(c.since),
      error: str(c.lastError) ?? str(c.error),
      incoming: true,
    });
  }
  return {
    id,
    name: str(data['name']) ?? o.namespace,
    context: o.context,
    namespace: o.namespace,
    platform: 'kubernetes',
    ingress: str(data['ingress']),
    routers: data['routers'] ? num(data['routers'], 1) : undefined,
    ready: siteJson ? normalizeState((siteJson as any).ready ?? (siteJson as any).state ?? true) === 'up' : undefined,
    links,
    services: withSynced(parseServices(o.services, id), network),
    network: network && Array.isArray(network.sites) ? network : undefined,
    statusUpdated: str((siteJson as any)?.updated) ?? str(network?.updated),
    ...(siteModeOf(o.site) === 'v2' ? { mode: 'v2' as const } : {}),
  };
}

/** Services other sites expose reach this one through service sync: the agent lists them in network.json. */
function withSynced(own: SiteService[], network: NetworkStatus | undefined): SiteService[] {
  const out = [...own];
  for (const sv of asArray(network?.services)) {
    const address = str(sv?.address);
    if (!address || out.some((s) => s.address === address)) continue;
    out.push({
      address,
      protocol: str(sv.protocol) ?? 'tcp',
      ports: asArray(sv.ports)
        .map((p) => num(p, 0))
        .filter((p) => p > 0),
      exposedHere: false,
      targets: [],
    });
  }
  return out.sort((a, b) => a.address.localeCompare(b.address));
}

/** `skupper-services`: one key per address, each a JSON service definition (Skupper 1.x shape). */
export function parseServices(cm: KubeObject | undefined, siteId?: string): SiteService[] {
  const out: SiteService[] = [];
  for (const [key, value] of Object.entries(cm?.data ?? {})) {
    const def = parseJson(value) as Record<string, any> | undefined;
    if (!def || typeof def !== 'object') continue;
    const targets = asArray(def['targets']);
    const origin = str(def['origin']);
    const exposedHere = targets.length > 0 && (!origin || origin === siteId);
    out.push({
      address: str(def['address']) ?? key,
      protocol: str(def['protocol']) ?? 'tcp',
      ports: asArray(def['ports'])
        .map((p) => num(p, 0))
        .filter((p) => p > 0),
      exposedHere,
      targets: exposedHere
        ? targets.map((t) => (str(t?.['host']) ? `host/${str(t?.['host'])}` : (str(t?.['name']) ?? str(t?.['selector']) ?? '?')))
        : [],
    });
  }
  return out.sort((a, b) => a.address.localeCompare(b.address));
}

export function allSites(model: ClusterModel): SiteRecord[] {
  const sites: SiteRecord[] = [];
  for (const ctx of model.contexts) for (const ns of ctx.namespaces) if (ns.site) sites.push(ns.site);
  sites.push(...model.local);
  return sites;
}

/**
 * The network-wide graph: what the sites we can read say directly (their links and services), overlaid
 * with the newest `network.json` any agent published (which also names sites we cannot reach).
 */
export function mergeNetwork(model: ClusterModel): NetworkStatus {
  const sites = allSites(model);
  const published = sites
    .map((s) => s.network)
    .filter((n): n is NetworkStatus => !!n)
    .sort((a, b) => String(b.updated).localeCompare(String(a.updated)));
  const siteMap = new Map<string, NetworkSite>();
  const linkMap = new Map<string, NetworkLink>();
  const svcMap = new Map<string, NetworkService>();
  // oldest first so newer publications overwrite
  for (const n of [...published].reverse()) {
    for (const s of asArray(n.sites)) if (s?.id) siteMap.set(s.id, { ...s });
    for (const l of asArray(n.links))
      if (l?.fromSiteId) linkMap.set(`${l.fromSiteId}/${l.name}`, { ...l, state: normalizeState(l.state), cost: num(l.cost, 1) });
    for (const sv of asArray(n.services))
      if (sv?.address) svcMap.set(sv.address, { ...sv, ports: asArray(sv.ports), exposedIn: asArray(sv.exposedIn) });
  }
  // what we read directly wins for the sites we can read
  for (const s of sites) {
    const prev = siteMap.get(s.id);
    siteMap.set(s.id, { ...prev, id: s.id, name: s.name, namespace: s.namespace, platform: s.platform, context: s.context });
  }
  const nameToId = new Map([...siteMap.values()].map((s) => [s.name, s.id]));
  for (const s of sites) {
    for (const l of s.links) {
      if (l.incoming) continue;
      const toSiteId = l.remoteSiteId ?? (l.remoteSiteName ? nameToId.get(l.remoteSiteName) : undefined);
      linkMap.set(`${s.id}/${l.name}`, {
        name: l.name,
        fromSiteId: s.id,
        toSiteId,
        toSiteName: l.remoteSiteName ?? (toSiteId ? siteMap.get(toSiteId)?.name : undefined),
        state: l.state,
        since: l.since,
        cost: l.cost,
        error: l.error,
      });
    }
    for (const sv of s.services) {
      const cur = svcMap.get(sv.address) ?? { address: sv.address, protocol: sv.protocol, ports: sv.ports, exposedIn: [], consumedIn: [] };
      const exposedIn = new Set(cur.exposedIn);
      const consumedIn = new Set(cur.consumedIn ?? []);
      if (sv.exposedHere) exposedIn.add(s.id);
      consumedIn.add(s.id);
      svcMap.set(sv.address, {
        ...cur,
        protocol: sv.protocol || cur.protocol,
        ports: sv.ports.length ? sv.ports : cur.ports,
        exposedIn: [...exposedIn],
        consumedIn: [...consumedIn],
      });
    }
  }
  // a link whose remote site only appears by name: resolve now that every site is known
  for (const l of linkMap.values()) {
    if (!l.toSiteId && l.toSiteName) l.toSiteId = [...siteMap.values()].find((s) => s.name === l.toSiteName)?.id;
    if (l.toSiteId && !l.toSiteName) l.toSiteName = siteMap.get(l.toSiteId)?.name;
  }
  return {
    updated: published[0]?.updated ?? new Date(0).toISOString(),
    sites: [...siteMap.values()].sort((a, b) => a.name.localeCompare(b.name)),
    links: [...linkMap.values()].sort((a, b) => a.name.localeCompare(b.name)),
    services: [...svcMap.values()].sort((a, b) => a.address.localeCompare(b.address)),
  };
}
