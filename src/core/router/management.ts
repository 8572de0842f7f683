// Management: the HTTP endpoint (/healthz, /readyz, /metrics in Prometheus text format, /status as JSON)
// and the answers to requests sent to the `$management` address over AMQP.
import http from 'node:http';
import type { RouterStatus } from './api.js';
import { RoutedMessage } from './delivery.js';
import type { Logger } from './log.js';
import type { PeerLink } from './peer.js';

/* eslint-disable @typescript-eslint/no-explicit-any */

export interface ManagedLink {
  connection: string;
  name: string;
  role: 'sender' | 'receiver';
  address?: string;
  [stat: string]: unknown;
}

/** What an AMQP management request can read. */
export interface ManagementSource {
  status(): RouterStatus;
  links(): ManagedLink[];
  flows(): unknown[];
}

export interface ManagementAnswer {
  application_properties: { statusCode: number; statusDescription: string };
  body: unknown;
}

const STANDARD_TYPE = 'org.amqp.management';
const ENTITY_PREFIXES = [/^io\.skupper\.router\./, /^org\.apache\.qpid\.dispatch\./];
/** Entity types, by the short names our own request shape uses and skupper-router's long ones. */
const ENTITIES: Record<string, string> = {
  connection: 'connection',
  link: 'link',
  'router.link': 'link',
  address: 'address',
  'router.address': 'address',
  flow: 'flow',
  router: 'router',
  node: 'node',
  'router.node': 'node',
  status: 'status',
};
const LONG_NAMES = ['connection', 'router.link', 'router.address', 'flow', 'router', 'router.node'].map((t) => `io.skupper.router.${t}`);

function entityOf(type: string): string | undefined {
  let t = type;
  for (const p of ENTITY_PREFIXES) t = t.replace(p, '');
  return Object.hasOwn(ENTITIES, t) ? ENTITIES[t] : undefined;
}

function rowsOf(entity: string, src: ManagementSource): Record<string, unknown>[] | Record<string, unknown> {
  const s = src.status();
  switch (entity) {
    case 'connection':
      return s.connections as unknown as Record<string, unknown>[];
    case 'link':
      return src.links();
    case 'address':
      return s.addresses as unknown as Record<string, unknown>[];
    case 'flow':
      return src.flows() as Record<string, unknown>[];
    case 'node':
      return s.routers as unknown as Record<string, unknown>[];
    case 'router':
      return {
        id: s.id,
        siteId: s.siteId,
        siteName: s.siteName,
        mode: s.mode,
        routers: s.routers.length,
        connections: s.connections.length,
        flowsActive: s.flows.active,
      };
    default:
      return s as unknown as Record<string, unknown>;
  }
}

function plain(v: unknown): unknown {
  return v === undefined ? null : JSON.parse(JSON.stringify(v));
}

/**
 * Answers a request to `$management`. Two shapes:
 * - the standard AMQP management one (skmanage, qdmanage): `type=org.amqp.management`, `operation=QUERY`,
 *   `entityType=io.skupper.router.connection` (or org.apache.qpid.dispatch..., or a short name), body
 *   `{attributeNames: [...]}` (empty: all); the reply's body is `{attributeNames, results: [[...], ...]}`;
 * - our own: `type=connection` (link, address, flow, router, status); the reply's body is the list.
 * Returns undefined when there is nothing to answer.
 */
export function answerManagement(request: any, src: ManagementSource): ManagementAnswer | undefined {
  const props = request?.application_properties ?? {};
  const op = String(props.operation ?? 'QUERY').toUpperCase();
  const ok = (body: unknown): ManagementAnswer => ({
    application_properties: { statusCode: 200, statusDescription: 'OK' },
    body: plain(body),
  });
  const fail = (statusCode: number, description: string): ManagementAnswer => ({
    application_properties: { statusCode, statusDescription: description },
    body: description,
  });
  if (props.type === STANDARD_TYPE) {
    if (op === 'GET-MGMT-NODES') return ok([]);
    if (op === 'GET-TYPES') return ok(Object.fromEntries(LONG_NAMES.map((t) => [t, []])));
    if (op === 'GET-OPERATIONS') return ok(Object.fromEntries(LONG_NAMES.map((t) => [t, ['QUERY']])));
    if (op !== 'QUERY') return fail(501, `operation ${op} is not supported; use QUERY`);
    const entityType = String(props.entityType ?? '');
    const entity = entityOf(entityType);
    if (!entity || entity === 'status') return fail(404, `unknown entityType "${entityType}": use ${LONG_NAMES.join(', ')}`);
    const found = rowsOf(entity, src);
    const rows = Array.isArray(found) ? found : [found];
    const asked = Array.isArray(request.body?.attributeNames)
      ? request.body.attributeNames.filter((a: unknown) => typeof a === 'string')
      : [];
    const names: string[] = asked.length ? asked : [...new Set(rows.flatMap((r) => Object.keys(r)))];
    return ok({ attributeNames: names, results: rows.map((r) => names.map((n) => (Object.hasOwn(r, n) ? (r[n] ?? null) : null))) });
  }
  if (op !== 'QUERY' && op !== 'READ') return fail(501, `operation ${op} is not supported; use QUERY`);
  const type = String(props.type ?? props.entityType ?? 'status');
  const entity = entityOf(type);
  if (!entity) return fail(404, `unknown type "${type}": use connection, link, address, flow, router or status`);
  if (entity === 'flow') {
    const s = src.status();
    return ok({ ...s.flows, list: src.flows() });
  }
  // Our own shape: the router entity answers with the routers this one reaches (as it always has).
  return ok(entity === 'router' ? src.status().routers : rowsOf(entity, src));
}

/**
 * Answers a request sent to `$management`; `reply` routes the answer to the request's reply_to. A request
 * that cannot be answered is logged and dropped.
 */
export function handleManagementRequest(
  request: any,
  src: ManagementSource,
  reply: (message: RoutedMessage, to: string) => void,
  log: Logger,
): void {
  let answer: ReturnType<typeof answerManagement>;
  try {
    answer = answerManagement(request, src);
  } catch (e) {
    log.warn('management request failed', { error: e });
    return;
  }
  if (!answer || typeof request.reply_to !== 'string' || !request.reply_to) return;
  const message = { to: request.reply_to, correlation_id: request.correlation_id ?? request.message_id, ...answer };
  reply(RoutedMessage.decoded(message), request.reply_to);
}

/** Every link of every connection, with a client link's figures (`statsOf`) where it has them. */
export function managedLinks(
  connections: Iterable<PeerLink>,
  statsOf: (rheaLink: object) => { stats(): Record<string, unknown> } | undefined,
): ManagedLink[] {
  const out: ManagedLink[] = [];
  for (const l of connections) {
    try {
      l.conn.each_link((link: any) => {
        const sender = link.is_sender();
        const client = statsOf(link);
        out.push({
          connection: l.name,
          name: link.name,
          role: sender ? 'sender' : 'receiver',
          address: sender ? (link.source?.address ?? link.target?.address) : link.target?.address,
          ...(client ? client.stats() : {}),
        });
      });
    } catch {
      // ignore
    }
  }
  return out;
}

export interface ManagementServer {
  port: number;
  close(): Promise<void>;
}

/** What the HTTP endpoint reads. */
export interface ManagementHost {
  readonly ready: boolean;
  status(): RouterStatus;
  flowList(): unknown;
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
    conn.map((c) => [
      { ...base, name: c.name ?? `${c.host}:${c.port}`, direction: c.direction, remote_site: c.remoteSiteName ?? '' },
      c.state === 'up' ? 1 : 0,
    ]),
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
  metric(
    'van_link_data_frames_total',
    'counter',
    'Data-link frames of an inter-router connection, by way (sent, read) and path (fast: without rhea; rhea).',
    conn.flatMap((c) => {
      const f = c.dataFrames;
      if (!f) return [];
      const labels = { ...base, name: c.name ?? `${c.host}:${c.port}`, direction: c.direction };
      return [
        [{ ...labels, way: 'sent', path: 'fast' }, f.sentFast],
        [{ ...labels, way: 'sent', path: 'rhea' }, f.sentRhea],
        [{ ...labels, way: 'read', path: 'fast' }, f.readFast],
        [{ ...labels, way: 'read', path: 'rhea' }, f.readRhea],
      ] as [Record<string, string>, number][];
    }),
  );
  metric(
    'van_address_flows_active',
    'gauge',
    'Open flows per address.',
    s.addresses.map((a) => [{ ...base, address: a.address }, a.flows]),
  );
  metric(
    'van_address_flows_total',
    'counter',
    'Flows per address since start.',
    s.addresses.map((a) => [{ ...base, address: a.address }, a.flowsTotal]),
  );
  metric(
    'van_address_local_connectors',
    'gauge',
    'Local targets per address.',
    s.addresses.map((a) => [{ ...base, address: a.address }, a.localConnectors]),
  );
  metric(
    'van_listener_rejected_peers_total',
    'counter',
    'Peers refused at the TLS handshake.',
    s.listeners.map((l) => [{ ...base, listener: l.name }, l.rejectedPeers]),
  );
  const mem = process.memoryUsage();
  metric('van_process_resident_memory_bytes', 'gauge', 'Resident memory of the router process.', [[base, mem.rss]]);
  const cpu = process.cpuUsage();
  metric('van_process_cpu_seconds_total', 'counter', 'CPU time of the router process.', [[base, (cpu.user + cpu.system) / 1e6]]);
  return lines.join('\n') + '\n';
}

export async function startManagementServer(router: ManagementHost, host: string, port: number, log: Logger): Promise<ManagementServer> {
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
