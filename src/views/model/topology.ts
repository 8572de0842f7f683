// Topology graph elements (cytoscape's JSON shape) from the network status. Pure; the webview draws them.
import type { NetworkStatus } from '../../core/network/types';

export interface TopoNode {
  data: {
    id: string;
    label: string;
    parent?: string;
    kind: 'cluster' | 'site';
    platform?: string;
    services?: string;
    serviceCount?: number;
    context?: string;
    namespace?: string;
  };
}
export interface TopoEdge {
  data: {
    id: string;
    source: string;
    target: string;
    label: string;
    state: 'up' | 'down' | 'connecting' | 'degraded';
    cost: number;
    error?: string;
    name: string;
  };
}
export interface TopoGraph {
  nodes: TopoNode[];
  edges: TopoEdge[];
  summary: { sites: number; links: number; up: number; services: number };
}

export function topologyGraph(net: NetworkStatus): TopoGraph {
  const nodes: TopoNode[] = [];
  const clusters = new Set<string>();
  for (const s of net.sites) {
    const group = s.platform === 'local' ? 'laptop' : s.context ? `cluster:${s.context}` : 'cluster:?';
    if (!clusters.has(group)) {
      clusters.add(group);
      nodes.push({ data: { id: group, label: group === 'laptop' ? 'laptop' : group.slice('cluster:'.length), kind: 'cluster' } });
    }
    const services = net.services.filter((sv) => sv.exposedIn.includes(s.id)).map((sv) => sv.address);
    nodes.push({
      data: {
        id: `site:${s.id}`,
        label: s.name,
        parent: group,
        kind: 'site',
        platform: s.platform,
        services: services.join(', '),
        serviceCount: services.length,
        context: s.context,
        namespace: s.namespace,
      },
    });
  }
  const ids = new Set(nodes.map((n) => n.data.id));
  const edges: TopoEdge[] = [];
  // links between the same pair in both directions, or several links: degraded when some are down
  for (const l of net.links) {
    if (!l.toSiteId) continue;
    const source = `site:${l.fromSiteId}`;
    const target = `site:${l.toSiteId}`;
    if (!ids.has(source) || !ids.has(target)) continue;
    edges.push({
      data: {
        id: `link:${l.fromSiteId}/${l.name}`,
        source,
        target,
        label: `${l.name} (${l.cost})`,
        state: l.state,
        cost: l.cost,
        error: l.error,
        name: l.name,
      },
    });
  }
  return {
    nodes,
    edges,
    summary: {
      sites: net.sites.length,
      links: net.links.length,
      up: net.links.filter((l) => l.state === 'up').length,
      services: net.services.length,
    },
  };
}
