// The site's traffic as Prometheus text (exposition format 0.0.4), with the names the Skupper network
// observer uses, so dashboards made for it read ours. Labels: source_site, dest_site, routing_key (the
// router address), protocol, and side (where the flow end was counted: listener, connector or both).
import { TTFB_BOUNDS_MS, type TrafficSnapshot } from './traffic.js';

export interface MetricsSite {
  id: string;
  name: string;
  namespace?: string;
  platform?: string;
  version?: string;
  /** Links this site has (outgoing), and how many are up. */
  links: number;
}

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labels(l: Record<string, string>): string {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${esc(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function num(v: number): string {
  return Number.isFinite(v) ? String(v) : '0';
}

export function renderTrafficMetrics(site: MetricsSite, traffic: TrafficSnapshot | undefined): string {
  const out: string[] = [];
  const head = (name: string, type: string, help: string) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  head('skupper_site_info', 'gauge', 'The site this router belongs to (value 1).');
  out.push(
    `skupper_site_info${labels({
      site_id: site.id,
      site_name: site.name,
      namespace: site.namespace ?? '',
      platform: site.platform ?? '',
      version: site.version ?? '',
    })} 1`,
  );
  head('skupper_site_links_total', 'gauge', 'Links this site has made to other sites.');
  out.push(`skupper_site_links_total${labels({ site_id: site.id, site_name: site.name })} ${num(site.links)}`);
  const aggs = traffic?.aggregates ?? [];
  const base = (a: (typeof aggs)[number]) => ({
    source_site: a.sourceSite,
    dest_site: a.destSite,
    routing_key: a.address,
    protocol: 'tcp',
    side: a.side,
  });
  const series = (name: string, type: string, help: string, value: (a: (typeof aggs)[number]) => number) => {
    head(name, type, help);
    for (const a of aggs) out.push(`${name}${labels(base(a))} ${num(value(a))}`);
  };
  series('skupper_connections_opened_total', 'counter', 'TCP connections opened through the network.', (a) => a.flowsOpened);
  series('skupper_connections_closed_total', 'counter', 'TCP connections closed (cleanly or reset).', (a) => a.flowsClosed);
  series('skupper_connections_active', 'gauge', 'TCP connections open now.', (a) => a.flowsActive);
  series('skupper_connection_errors_total', 'counter', 'Connections reset or refused.', (a) => a.errors.reduce((s, e) => s + e.count, 0));
  series('skupper_sent_bytes_total', 'counter', 'Bytes sent by clients toward the service.', (a) => a.bytesOut);
  series('skupper_received_bytes_total', 'counter', 'Bytes the service sent back to its clients.', (a) => a.bytesIn);
  head('skupper_latency_seconds', 'histogram', 'Time to first byte of a connection (the connector side: until the service answers).');
  for (const a of aggs) {
    const l = base(a);
    let cum = 0;
    for (let i = 0; i < TTFB_BOUNDS_MS.length; i++) {
      cum += a.ttfb.counts[i] ?? 0;
      out.push(`skupper_latency_seconds_bucket${labels({ ...l, le: String(TTFB_BOUNDS_MS[i] / 1000) })} ${cum}`);
    }
    cum += a.ttfb.counts[TTFB_BOUNDS_MS.length] ?? 0;
    out.push(`skupper_latency_seconds_bucket${labels({ ...l, le: '+Inf' })} ${cum}`);
    out.push(`skupper_latency_seconds_sum${labels(l)} ${num(a.ttfb.sumMs / 1000)}`);
    out.push(`skupper_latency_seconds_count${labels(l)} ${cum}`);
  }
  return out.join('\n') + '\n';
}
