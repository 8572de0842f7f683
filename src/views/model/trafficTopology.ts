// The topology's traffic edges: one per site pair with traffic (client site → service site), labelled
// with the rate and the connections, as wide as it is busy; optionally one service only. Pure.
import type { NetworkStatus } from '../../core/network/types';
import { type EdgeTraffic, type TrafficHistory, edgeLabel, edgeWidth } from './traffic';

export interface TrafficEdge {
  data: {
    id: string;
    source: string;
    target: string;
    kind: 'traffic';
    label: string;
    width: number;
    sourceSite: string;
    destSite: string;
    flowsActive: number;
    flowsTotal: number;
    errors: number;
    bytesPerSecond: number;
  };
}

/** Traffic edges between the sites of `net` (sites named as the counters name them). */
export function trafficEdges(net: NetworkStatus, history: TrafficHistory, filter?: string): TrafficEdge[] {
  const byName = new Map(net.sites.map((s) => [s.name, s.id]));
  const service = filter ? net.services.find((s) => s.address === filter) : undefined;
  const edges = history.edges(filter ? { address: filter, ports: service?.ports ?? [] } : undefined);
  const out: TrafficEdge[] = [];
  for (const e of edges as EdgeTraffic[]) {
    const from = byName.get(e.sourceSite);
    const to = byName.get(e.destSite);
    if (!from || !to || from === to) continue;
    out.push({
      data: {
        id: `traffic:${from}>${to}`,
        source: `site:${from}`,
        target: `site:${to}`,
        kind: 'traffic',
        label: edgeLabel(e),
        width: Math.round(edgeWidth(e) * 10) / 10,
        sourceSite: e.sourceSite,
        destSite: e.destSite,
        flowsActive: e.flowsActive,
        flowsTotal: e.flowsTotal,
        errors: e.errors,
        bytesPerSecond: Math.round(e.bytesPerSecond),
      },
    });
  }
  return out;
}
