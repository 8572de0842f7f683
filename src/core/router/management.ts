// HTTP management endpoint: /healthz, /readyz, /metrics (Prometheus text format), /status (JSON).
import http from 'node:http';
import type { Logger } from './log.js';
import type { Router, RouterStatus } from './router.js';

export interface ManagementServer {
  port: number;
  close(): Promise<void>;
}

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function renderMetrics(s: RouterStatus): string {
  const lines: string[] = [];
  const metric = (name: string, type: 'gauge' | 'counter', help: string, samples: [Record<string, string>, number][]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const l = Object.entries(labels)
        .map(([k, v]) => `${k}="${esc(v)}"`)
        .join(',');
      lines.push(`${name}${l ? `{${l}}` : ''} ${Number.isFinite(value) ? value : 0}`);
    }
  };
  const base = { router: s.id, site: s.siteName };
  metric('van_router_up', 'gauge', 'The router is running.', [[base, 1]]);
  metric('van_flows_active', 'gauge', 'TCP flows open through this router.', [[base, s.flows.active]]);
  metric('van_flows_total', 'counter', 'TCP flows handled since start.', [[base, s.flows.total]]);
  metric('van_flow_bytes_in_total', 'counter', 'Bytes received from the network by local flow ends.', [[base, s.flows.bytesIn]]);
  metric('van_flow_bytes_out_total', 'counter', 'Bytes sent into the network by local flow ends.', [[base, s.flows.bytesOut]]);
  metric('van_routers_reachable', 'gauge', 'Other routers reachable in the network.', [[base, s.routers.length]]);
  const conn = s.connections.filter((c) => c.role !== 'normal');
  metric(
    'van_link_up',
    'gauge',
    'Inter-router connection state (1 up, 0 otherwise).',
    conn.map((c) => [{ ...base, name: c.name ?? `${c.host}:${c.port}`, direction: c.direction, remote_site: c.remoteSiteName ?? '' }, c.state === 'up' ? 1 : 0]),
  );
  metric(
    'van_link_bytes_in_total',
    'counter',
    'Bytes read on an inter-router connection.',
    conn.map((c) => [{ ...base, name: c.name ?? `${c.host}:${c.port}`, direction: c.direction }, c.bytesIn]),
  );
  metric(
    'van_link_bytes_out_total',
    'counter',
    'Bytes written on an inter-router connection.',
    conn.map((c) => [{ ...base, name: c.name ?? `${c.host}:${c.port}`, direction: c.direction }, c.bytesOut]),
  );
  metric('van_address_flows_active', 'gauge', 'Open flows per address.', s.addresses.map((a) => [{ ...base, address: a.address }, a.flows]));
  metric('van_address_flows_total', 'counter', 'Flows per address since start.', s.addresses.map((a) => [{ ...base, address: a.address }, a.flowsTotal]));
  metric('van_address_local_connectors', 'gauge', 'Local targets per address.', s.addresses.map((a) => [{ ...base, address: a.address }, a.localConnectors]));
  metric('van_listener_rejected_peers_total', 'counter', 'Peers refused at the TLS handshake.', s.listeners.map((l) => [{ ...base, listener: l.name }, l.rejectedPeers]));
  const mem = process.memoryUsage();
  metric('van_process_resident_memory_bytes', 'gauge', 'Resident memory of the router process.', [[base, mem.rss]]);
  const cpu = process.cpuUsage();
  metric('van_process_cpu_seconds_total', 'counter', 'CPU time of the router process.', [[base, (cpu.user + cpu.system) / 1e6]]);
  return lines.join('\n') + '\n';
}

export async function startManagementServer(router: Router, host: string, port: number, log: Logger): Promise<ManagementServer> {
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    const send = (code: number, type: string, body: string) => {
      res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    try {
      if (url === '/healthz') return send(200, 'text/plain', 'ok\n');
      if (url === '/readyz') return router.ready ? send(200, 'text/plain', 'ready\n') : send(503, 'text/plain', 'starting\n');
      if (url === '/metrics') return send(200, 'text/plain; version=0.0.4', renderMetrics(router.status()));
      if (url === '/status') return send(200, 'application/json', JSON.stringify(router.status(), null, 2));
      if (url === '/flows') return send(200, 'application/json', JSON.stringify(router.flowList()));
      send(404, 'text/plain', 'not found: try /healthz, /readyz, /metrics, /status\n');
    } catch (e) {
      send(500, 'text/plain', `${(e as Error).message}\n`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new Error(`management endpoint cannot listen on ${host}:${port}: ${e.message}`)));
    server.listen({ host, port }, () => resolve());
  });
  const a = server.address();
  const bound = a && typeof a === 'object' ? a.port : port;
  log.info('management endpoint up', { host, port: bound });
  return {
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}
