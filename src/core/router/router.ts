// The router: owns the connections (listeners, connectors with back-off), the link-state database and
// routes, the address tables, the core's flow engine, the tcp adaptors, routed messaging and
// management. Adaptors reach the core only through FlowCore's openFlow / addTarget.
import { EventEmitter } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import rhea from 'rhea';
import { TcpConnectorAdaptor, TcpListenerAdaptor, type AdaptorStats } from './adaptors/tcp.js';
import type { ConnectorConfig, ListenerConfig, RouterConfig } from './config.js';
import { FlowCore, type DataPort } from './flows.js';
import { createLogger, type Logger } from './log.js';
import { startManagementServer, type ManagementServer } from './management.js';
import { PeerLink, type ConnectionStatus, type PeerRole, type RheaConnection } from './peer.js';
import { addressTable, chooseTarget, computeRoutes, isNewer, type AddressTarget, type LinkState, type Route } from './routing.js';
import { describeAcceptError, describeConnectError, loadTls } from './tls.js';
import type { Kind } from './framing.js';

/* eslint-disable @typescript-eslint/no-explicit-any */

export type { ConnectionStatus } from './peer.js';

export interface RouterStatus {
  id: string;
  siteId: string;
  siteName: string;
  mode: 'interior' | 'edge';
  connections: ConnectionStatus[];
  listeners: { name: string; host: string; port: number; role: PeerRole; rejectedPeers: number; lastError?: string }[];
  routers: { id: string; siteId: string; siteName: string; nextHop: string; cost: number }[];
  addresses: { address: string; localConnectors: number; remoteSites: string[]; flows: number; flowsTotal: number }[];
  tcpListeners: AdaptorStats[];
  tcpConnectors: AdaptorStats[];
  flows: { active: number; total: number; bytesIn: number; bytesOut: number };
}

export type MessageHandler = (body: unknown, fromRouterId: string) => void;

interface Subscriber {
  deliver(message: any, from: string): void;
}

const CONNECT_TIMEOUT_MS = 10_000;
const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 30_000;

export function isMulticastAddress(address: string): boolean {
  return address.startsWith('multicast/') || address.startsWith('mc/');
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function rheaConnectionOptions(router: Router, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    container_id: router.id,
    reconnect: false,
    tcp_no_delay: true,
    max_frame_size: 1024 * 1024,
    properties: {
      'van-router-id': router.id,
      'van-site-id': router.config.siteId,
      'van-site-name': router.config.siteName,
      'van-mode': router.config.mode,
    },
    ...extra,
  };
}

/** An outgoing link kept up with capped exponential back-off and jitter. */
class ConnectorRunner {
  link?: PeerLink;
  state: 'connecting' | 'up' | 'down' = 'connecting';
  since = Date.now();
  lastError?: string;
  private attempt = 0;
  private timer?: NodeJS.Timeout;
  private socket?: tls.TLSSocket;
  private stopped = false;

  constructor(
    readonly config: ConnectorConfig,
    private readonly router: Router,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.connect();
  }

  private setState(state: 'connecting' | 'up' | 'down', error?: string): void {
    const changed = state !== this.state || error !== this.lastError;
    this.state = state;
    this.since = Date.now();
    if (error !== undefined) this.lastError = error;
    if (state === 'up') this.lastError = undefined;
    if (changed) this.router.emitConnection(this.status());
  }

  private connect(): void {
    if (this.stopped) return;
    const { host, port } = this.config;
    this.setState('connecting');
    let ctx: tls.SecureContext;
    try {
      ctx = loadTls(this.config.tls).context;
    } catch (e) {
      this.fail(`cannot use the link's TLS files: ${(e as Error).message}`);
      return;
    }
    const socket = tls.connect({
      host,
      port,
      secureContext: ctx,
      servername: net.isIP(host) ? undefined : host,
      minVersion: 'TLSv1.3',
    });
    this.socket = socket;
    let settled = false;
    const timer = setTimeout(() => {
      const err = Object.assign(new Error('timeout'), { code: 'VAN_TIMEOUT' });
      socket.destroy(err);
    }, CONNECT_TIMEOUT_MS);
    const onError = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      this.fail(describeConnectError(err, host, port, socket));
    };
    socket.once('error', onError);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      socket.off('error', onError);
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 10_000);
      // Errors after the handshake (e.g. the server refusing our client certificate in TLS 1.3).
      let postError: string | undefined;
      socket.on('error', (err) => {
        postError = describeConnectError(err, host, port, socket);
        if (link) link.lastError = postError;
      });
      const conn: RheaConnection = this.router.container.create_connection(
        rheaConnectionOptions(this.router, {
          id: `connector:${this.config.name}`,
          autoaccept: false,
          properties: {
            ...(rheaConnectionOptions(this.router, {}).properties as object),
            'van-cost': this.config.cost ?? 1,
          },
          connection_details: () => ({
            connect: (_p: number, _h: string, _o: unknown, cb: () => void) => {
              process.nextTick(cb);
              return socket;
            },
            host,
            port,
            options: {},
          }),
        }),
      );
      const link = new PeerLink(conn, socket, 'outgoing', this.config.role, host, port, this.config.name, this.config.cost ?? 1, this.router.peerHandlers(this), this.log);
      if (postError) link.lastError = postError;
      this.link = link;
      conn.connect();
    });
  }

  /** Called by the router when our link came up or went down. */
  linkUp(): void {
    this.attempt = 0;
    this.setState('up');
  }

  linkDown(link: PeerLink, reason: string): void {
    if (link !== this.link) return;
    this.link = undefined;
    this.fail(reason);
  }

  private fail(reason: string): void {
    if (this.stopped) return;
    this.setState('down', reason);
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 20);
    const delay = Math.round(base * (0.5 + Math.random()));
    this.log.info('link down; retrying', { connector: this.config.name, reason, retryInMs: delay });
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
    this.timer.unref?.();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.link?.close('the connector was removed');
    this.socket?.destroy();
  }

  status(): ConnectionStatus {
    if (this.link && this.link.state !== 'down') {
      const s = this.link.status(this.router.flowCountFor(this.link));
      return { ...s, state: this.link.state === 'up' && this.link.remote ? 'up' : 'connecting' };
    }
    return {
      name: this.config.name,
      role: this.config.role,
      direction: 'outgoing',
      host: this.config.host,
      port: this.config.port,
      state: this.state === 'up' ? 'connecting' : this.state,
      since: new Date(this.since).toISOString(),
      cost: this.config.cost ?? 1,
      ...(this.lastError ? { lastError: this.lastError } : {}),
      bytesIn: 0,
      bytesOut: 0,
    };
  }
}

class ListenerRunner {
  server?: net.Server;
  rejectedPeers = 0;
  lastError?: string;
  tlsHash?: string;
  readonly links = new Set<PeerLink>();

  constructor(
    readonly config: ListenerConfig,
    private readonly router: Router,
    private readonly log: Logger,
  ) {}

  get port(): number {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : this.config.port;
  }

  async start(): Promise<void> {
    const { host, port, role, tls: files } = this.config;
    let server: net.Server;
    if (files) {
      const loaded = loadTls(files);
      this.tlsHash = loaded.hash;
      // rejectUnauthorized is enforced here rather than by Node, so the refusal is logged with its real
      // reason (Node reports it as "socket hang up"); no application byte is read from such a peer.
      server = tls.createServer({ ...loaded.pem, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.3' }, (s) => {
        const socket = s as tls.TLSSocket;
        if (!socket.authorized) {
          this.rejectedPeers++;
          this.lastError = describeAcceptError(socket.authorizationError ?? new Error('no client certificate'));
          this.log.warn('refused a peer at the TLS handshake', { listener: this.config.name, remote: socket.remoteAddress, reason: this.lastError });
          socket.destroy();
          return;
        }
        this.accept(socket);
      });
      server.on('tlsClientError', (err, socket) => {
        this.rejectedPeers++;
        this.lastError = describeAcceptError(err);
        this.log.warn('refused a peer at the TLS handshake', { listener: this.config.name, remote: socket.remoteAddress, reason: this.lastError });
        socket.destroy();
      });
    } else {
      if (role !== 'normal') this.log.warn('inter-router listener without TLS: use only for tests', { listener: this.config.name });
      server = net.createServer((s) => this.accept(s));
    }
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error) => reject(new Error(`listener "${this.config.name}" cannot listen on ${host}:${port}: ${e.message}`));
      server.once('error', onError);
      server.listen({ host, port, backlog: 1024 }, () => {
        server.off('error', onError);
        resolve();
      });
    });
    server.on('error', (e) => {
      this.lastError = e.message;
    });
    this.server = server;
    this.log.info('listener up', { listener: this.config.name, host, port: this.port, role });
  }

  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    socket.on('error', () => {});
    const role = this.config.role;
    const conn: RheaConnection = this.router.container.create_connection(
      rheaConnectionOptions(this.router, {
        id: `listener:${this.config.name}:${socket.remoteAddress}:${socket.remotePort}`,
        // Deliveries are settled by the router: pre-settled between routers, accepted or released for clients.
        autoaccept: false,
      }),
    );
    const link = new PeerLink(
      conn,
      socket,
      'incoming',
      role,
      socket.remoteAddress ?? '',
      socket.remotePort ?? 0,
      undefined,
      1,
      this.router.peerHandlers(undefined, this),
      this.log,
    );
    this.links.add(link);
    conn.accept(socket);
  }

  /** Stops accepting; existing connections stay unless closeLinks. */
  close(closeLinks: boolean): void {
    this.server?.close();
    this.server = undefined;
    if (closeLinks) for (const l of this.links) l.close('the listener was removed');
  }
}

export class Router {
  readonly events = new EventEmitter();
  readonly container: any;
  readonly log: Logger;
  readonly epoch = Date.now();
  config: RouterConfig;
  private seq = 0;
  private readonly lsdb = new Map<string, LinkState>();
  private routes = new Map<string, Route>();
  private tcpTable = new Map<string, AddressTarget[]>();
  private subTable = new Map<string, AddressTarget[]>();
  private readonly core: FlowCore;
  private readonly links = new Set<PeerLink>();
  private readonly connectors = new Map<string, ConnectorRunner>();
  private readonly listeners = new Map<string, ListenerRunner>();
  private readonly tcpListeners = new Map<string, TcpListenerAdaptor>();
  private readonly tcpConnectors = new Map<string, TcpConnectorAdaptor>();
  private readonly subscribers = new Map<string, Set<Subscriber>>();
  private management?: ManagementServer;
  private lsaTimer?: NodeJS.Immediate;
  private refreshTimer?: NodeJS.Timeout;
  private anycastTurn = 0;
  private tempCounter = 0;
  private stopped = false;
  ready = false;

  private constructor(config: RouterConfig) {
    this.config = config;
    this.log = createLogger({ router: config.id });
    this.container = rhea.create_container({ id: config.id });
    this.core = new FlowCore(
      {
        selfId: config.id,
        portTo: (id) => this.portTo(id),
        targets: (address) => this.tcpTable.get(address) ?? [],
      },
      this.log,
    );
    this.core.onTargetsChanged = () => this.scheduleLsa();
    this.events.setMaxListeners(100);
  }

  get id(): string {
    return this.config.id;
  }

  static async start(config: RouterConfig): Promise<Router> {
    const router = new Router(config);
    router.lsdb.set(config.id, router.ownLsa());
    try {
      await router.reconcile({ ...config, listeners: [], connectors: [], tcpListeners: [], tcpConnectors: [], management: undefined }, config);
    } catch (e) {
      await router.stop();
      throw e;
    }
    // Re-flood our record now and then: repairs any loss.
    router.refreshTimer = setInterval(() => router.floodOwn(), 30_000);
    router.refreshTimer.unref();
    router.ready = true;
    router.log.info('router started', { siteName: config.siteName, mode: config.mode });
    return router;
  }

  private applying: Promise<void> = Promise.resolve();

  /** Applies a new config live; calls are serialized. Throws (after applying the rest) if some part failed. */
  applyConfig(next: RouterConfig): Promise<void> {
    const run = this.applying.then(() => this.applyNow(next));
    this.applying = run.catch(() => {});
    return run;
  }

  private async applyNow(next: RouterConfig): Promise<void> {
    if (this.stopped) throw new Error('the router is stopped');
    if (next.id !== this.config.id) {
      this.log.warn('the router id cannot change while running; restart the router to use the new id', { id: this.config.id, next: next.id });
      next = { ...next, id: this.config.id };
    }
    const prev = this.config;
    this.config = next;
    await this.reconcile(prev, next);
    if (prev.siteName !== next.siteName || prev.siteId !== next.siteId) this.scheduleLsa();
  }

  private async reconcile(prev: RouterConfig, next: RouterConfig): Promise<void> {
    const errors: string[] = [];
    // listeners
    const nextListeners = new Map(next.listeners.map((l) => [l.name, l]));
    for (const [name, runner] of this.listeners) {
      const want = nextListeners.get(name);
      if (!want) {
        runner.close(true);
        this.listeners.delete(name);
      } else if (!sameJson(want, runner.config) || (want.tls && loadTlsSafe(want)?.hash !== runner.tlsHash)) {
        runner.close(false);
        this.listeners.delete(name);
      }
    }
    for (const l of next.listeners) {
      if (this.listeners.has(l.name)) continue;
      const runner = new ListenerRunner(l, this, this.log);
      try {
        await runner.start();
        this.listeners.set(l.name, runner);
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    // connectors
    const nextConnectors = new Map(next.connectors.map((c) => [c.name, c]));
    for (const [name, runner] of this.connectors) {
      const want = nextConnectors.get(name);
      if (!want || !sameJson(want, runner.config)) {
        runner.stop();
        this.connectors.delete(name);
        this.emitConnection({ ...runner.status(), state: 'down', lastError: 'the link was removed' });
      }
    }
    for (const c of next.connectors) {
      if (this.connectors.has(c.name)) continue;
      const runner = new ConnectorRunner(c, this, this.log);
      this.connectors.set(c.name, runner);
      runner.start();
    }
    // tcp listeners
    const nextTl = new Map(next.tcpListeners.map((t) => [t.name, t]));
    for (const [name, a] of this.tcpListeners) {
      const want = nextTl.get(name);
      if (!want || !sameJson(want, a.config)) {
        await a.close(false);
        this.tcpListeners.delete(name);
      }
    }
    for (const t of next.tcpListeners) {
      if (this.tcpListeners.has(t.name)) continue;
      const a = new TcpListenerAdaptor(t, this.core, this.log);
      try {
        await a.start();
        this.tcpListeners.set(t.name, a);
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    // tcp connectors
    const nextTc = new Map(next.tcpConnectors.map((t) => [t.name, t]));
    for (const [name, a] of this.tcpConnectors) {
      const want = nextTc.get(name);
      if (!want || !sameJson(want, a.config)) {
        a.close(false);
        this.tcpConnectors.delete(name);
      }
    }
    for (const t of next.tcpConnectors) {
      if (this.tcpConnectors.has(t.name)) continue;
      const a = new TcpConnectorAdaptor(t, this.core, this.log);
      a.start();
      this.tcpConnectors.set(t.name, a);
    }
    // management
    if (!sameJson(prev.management, next.management) || (next.management && !this.management)) {
      await this.management?.close();
      this.management = undefined;
      if (next.management) {
        try {
          this.management = await startManagementServer(this, next.management.host, next.management.port, this.log);
        } catch (e) {
          errors.push((e as Error).message);
        }
      }
    }
    if (errors.length) throw new Error(errors.join('; '));
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.ready = false;
    clearInterval(this.refreshTimer);
    if (this.lsaTimer) clearImmediate(this.lsaTimer);
    for (const c of this.connectors.values()) c.stop();
    for (const l of this.listeners.values()) l.close(true);
    for (const l of this.links) l.close('the router is stopping');
    for (const t of this.tcpListeners.values()) await t.close(true);
    for (const t of this.tcpConnectors.values()) t.close(true);
    await this.management?.close();
    this.connectors.clear();
    this.listeners.clear();
    this.tcpListeners.clear();
    this.tcpConnectors.clear();
    this.log.info('router stopped');
  }

  /** Bound ports (useful with port 0 in tests). */
  listenerPort(name: string): number | undefined {
    return this.listeners.get(name)?.port;
  }
  tcpListenerPort(name: string): number | undefined {
    return this.tcpListeners.get(name)?.port;
  }
  managementPort(): number | undefined {
    return this.management?.port;
  }

  // ---- connections --------------------------------------------------------------------------------

  emitConnection(status: ConnectionStatus): void {
    this.events.emit('connection', status);
  }

  peerHandlers(connector?: ConnectorRunner, listener?: ListenerRunner) {
    return {
      onUp: (link: PeerLink) => {
        if (link.isRouterLink && link.remote?.routerId === this.id) {
          link.close('the peer has our own router id: a router linked to itself, or two routers share an id');
          return;
        }
        this.links.add(link);
        if (link.isRouterLink) {
          this.core.addPort(link);
          connector?.linkUp();
          this.log.info('link up', { name: link.name, direction: link.direction, remoteRouter: link.remote?.routerId, remoteSite: link.remote?.siteName, cost: link.cost });
          // Full database sync to the new neighbour, then our updated record to all.
          for (const lsa of this.lsdb.values()) if (lsa.id !== this.id) link.sendControl({ t: 'lsa', lsa });
          this.updateOwnLsa();
        } else {
          this.attachClient(link);
        }
        if (!connector) this.emitConnection(link.status());
      },
      onDown: (link: PeerLink, reason: string) => {
        const wasKnown = this.links.delete(link);
        listener?.links.delete(link);
        if (link.isRouterLink) {
          this.core.removePort(link, `the link to router ${link.peerId || link.host} went down`);
          if (wasKnown) {
            this.log.info('link down', { name: link.name, remoteRouter: link.remote?.routerId, reason });
            this.updateOwnLsa();
          }
        } else {
          this.detachClient(link);
        }
        if (connector) connector.linkDown(link, reason);
        else if (wasKnown) this.emitConnection(link.status());
      },
      onControl: (link: PeerLink, body: unknown) => this.onControl(link, body),
      onData: (link: PeerLink, kind: number, reverse: boolean, id: number, payload: Buffer) => this.core.receive(link, kind as Kind, reverse, id, payload),
    };
  }

  flowCountFor(link: PeerLink): number {
    return this.core.portFlowCount(link);
  }

  /** The best up link to a neighbour. */
  private linkTo(neighbor: string): PeerLink | undefined {
    let best: PeerLink | undefined;
    for (const l of this.links) {
      if (l.state === 'up' && l.isRouterLink && l.remote?.routerId === neighbor && (!best || l.cost < best.cost)) best = l;
    }
    return best;
  }

  private portTo(routerId: string): DataPort | undefined {
    const r = this.routes.get(routerId);
    return r ? this.linkTo(r.nextHop) : undefined;
  }

  // ---- link state ---------------------------------------------------------------------------------

  private ownLsa(): LinkState {
    const neighbors: Record<string, number> = {};
    for (const l of this.links) {
      const id = l.remote?.routerId;
      if (!l.isRouterLink || l.state !== 'up' || !id) continue;
      neighbors[id] = Math.min(neighbors[id] ?? Infinity, l.cost);
    }
    return {
      id: this.id,
      siteId: this.config.siteId,
      siteName: this.config.siteName,
      epoch: this.epoch,
      seq: ++this.seq,
      neighbors,
      addresses: this.core.localAddresses(),
      subscriptions: [...this.subscribers.keys()].filter((a) => (this.subscribers.get(a)?.size ?? 0) > 0),
    };
  }

  private scheduleLsa(): void {
    if (this.lsaTimer || this.stopped) return;
    this.lsaTimer = setImmediate(() => {
      this.lsaTimer = undefined;
      this.updateOwnLsa();
    });
  }

  private updateOwnLsa(): void {
    if (this.stopped) return;
    const lsa = this.ownLsa();
    this.lsdb.set(this.id, lsa);
    this.recompute();
    this.flood(lsa, undefined);
  }

  private floodOwn(): void {
    const lsa = this.lsdb.get(this.id);
    if (lsa) this.flood(lsa, undefined);
  }

  private flood(lsa: LinkState, except: PeerLink | undefined): void {
    for (const l of this.links) if (l !== except && l.isRouterLink && l.state === 'up') l.sendControl({ t: 'lsa', lsa });
  }

  private recompute(): void {
    const before = JSON.stringify([...this.routes.values()]);
    this.routes = computeRoutes(this.id, this.lsdb);
    this.tcpTable = addressTable(this.id, this.lsdb, this.routes, 'addresses');
    this.subTable = addressTable(this.id, this.lsdb, this.routes, 'subscriptions');
    const after = JSON.stringify([...this.routes.values()]);
    if (before !== after) {
      this.log.info('routes changed', { routes: [...this.routes.values()].map((r) => `${r.id} via ${r.nextHop} cost ${r.cost}`) });
    }
    this.events.emit('routes', this.status().routers);
  }

  private onControl(link: PeerLink, body: unknown): void {
    if (!body || typeof body !== 'object') return;
    const m = body as Record<string, any>;
    if (m.t === 'lsa') {
      const lsa = m.lsa as LinkState;
      if (!lsa || typeof lsa.id !== 'string' || lsa.id === this.id) return;
      lsa.subscriptions ??= [];
      lsa.addresses ??= {};
      lsa.neighbors ??= {};
      if (!isNewer(lsa, this.lsdb.get(lsa.id))) return;
      this.lsdb.set(lsa.id, lsa);
      this.flood(lsa, link);
      this.recompute();
    } else if (m.t === 'msg') {
      this.routeEnvelope(m as Envelope);
    }
  }

  // ---- messaging ----------------------------------------------------------------------------------

  /** Multicast: every subscriber of `address` in every router gets `body`. */
  publish(address: string, body: unknown): void {
    this.routeMessage({ body }, address, 'multicast', this.id);
  }

  /** Anycast: one subscriber (the closest) gets `body`. Returns false when nobody subscribes. */
  send(address: string, body: unknown): boolean {
    return this.routeMessage({ body }, address, 'anycast', this.id);
  }

  subscribe(address: string, handler: MessageHandler): () => void {
    return this.addSubscriber(address, {
      deliver: (message, from) => {
        try {
          handler(message.body, from);
        } catch (e) {
          this.log.warn('message handler failed', { address, error: e });
        }
      },
    });
  }

  private addSubscriber(address: string, sub: Subscriber): () => void {
    let set = this.subscribers.get(address);
    if (!set) this.subscribers.set(address, (set = new Set()));
    const first = set.size === 0;
    set.add(sub);
    if (first) this.scheduleLsa();
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      const s = this.subscribers.get(address);
      if (!s) return;
      s.delete(sub);
      if (s.size === 0) {
        this.subscribers.delete(address);
        this.scheduleLsa();
      }
    };
  }

  private deliverLocal(message: any, address: string, mode: 'multicast' | 'anycast', from: string): boolean {
    if (address === MANAGEMENT_ADDRESS) {
      this.handleManagement(message);
      return true;
    }
    const set = this.subscribers.get(address);
    if (!set || set.size === 0) return false;
    if (mode === 'multicast') {
      for (const s of [...set]) s.deliver(message, from);
    } else {
      const list = [...set];
      list[this.anycastTurn++ % list.length].deliver(message, from);
    }
    return true;
  }

  private routeMessage(message: any, address: string, mode: 'multicast' | 'anycast', from: string): boolean {
    if (address === MANAGEMENT_ADDRESS) return this.deliverLocal(message, address, mode, from);
    const targets = this.subTable.get(address) ?? [];
    if (mode === 'multicast') {
      let any = false;
      let encoded: Buffer | undefined;
      for (const t of targets) {
        if (t.routerId === this.id) any = this.deliverLocal(message, address, mode, from) || any;
        else {
          encoded ??= rhea.message.encode(message);
          any = this.sendEnvelope({ t: 'msg', dst: t.routerId, src: from, addr: address, mode, m: encoded }) || any;
        }
      }
      return any;
    }
    const t = chooseTarget(targets, 'closest', () => 0, this.anycastTurn++);
    if (!t) return false;
    if (t.routerId === this.id) return this.deliverLocal(message, address, mode, from);
    return this.sendEnvelope({ t: 'msg', dst: t.routerId, src: from, addr: address, mode, m: rhea.message.encode(message) });
  }

  private sendEnvelope(env: Envelope): boolean {
    const r = this.routes.get(env.dst);
    const link = r && this.linkTo(r.nextHop);
    if (!link) return false;
    link.sendControl(env);
    return true;
  }

  private routeEnvelope(env: Envelope): void {
    if (typeof env.dst !== 'string' || typeof env.addr !== 'string') return;
    if (env.dst !== this.id) {
      this.sendEnvelope(env);
      return;
    }
    let message: any;
    try {
      message = rhea.message.decode(Buffer.isBuffer(env.m) ? env.m : Buffer.from(env.m as any));
    } catch {
      return;
    }
    this.deliverLocal(message, env.addr, env.mode === 'anycast' ? 'anycast' : 'multicast', env.src);
  }

  // ---- plain AMQP clients (normal listener) -------------------------------------------------------

  private readonly clientSubs = new Map<PeerLink, (() => void)[]>();

  private attachClient(link: PeerLink): void {
    const conn = link.conn;
    const unsubs: (() => void)[] = [];
    this.clientSubs.set(link, unsubs);
    conn.on('sender_open', (ctx: any) => {
      const sender = ctx.sender;
      const source = sender.source ?? {};
      let address: string | undefined = source.address;
      if (source.dynamic) {
        address = `$temp/${this.id}/${++this.tempCounter}`;
        sender.set_source({ address, dynamic: false });
      } else {
        sender.set_source(source);
      }
      if (!address) {
        sender.close({ condition: 'amqp:invalid-field', description: 'a receiver needs a source address' });
        return;
      }
      const queue: any[] = [];
      const drain = () => {
        while (queue.length && sender.sendable()) sender.send(queue.shift());
      };
      sender.on('sendable', drain);
      const unsub = this.addSubscriber(address, {
        deliver: (message) => {
          const out = { ...message };
          delete out.delivery_annotations;
          if (queue.length === 0 && sender.sendable()) sender.send(out);
          else if (queue.length < 10_000) queue.push(out);
        },
      });
      unsubs.push(unsub);
      sender.on('sender_close', unsub);
    });
    conn.on('receiver_open', (ctx: any) => {
      const receiver = ctx.receiver;
      receiver.set_target(receiver.target ?? {});
    });
    conn.on('message', (ctx: any) => {
      const message = ctx.message;
      const address: string | undefined = ctx.receiver?.target?.address || message?.to;
      if (!address) {
        ctx.delivery.reject({ condition: 'amqp:precondition-failed', description: 'no address: set the link target or the message "to"' });
        return;
      }
      const mode = isMulticastAddress(address) ? 'multicast' : 'anycast';
      const ok = this.routeMessage(message, address, mode, this.id);
      if (ok || mode === 'multicast') {
        // Multicast with nobody listening is delivered to nobody, as in Skupper.
        ctx.delivery.accept();
      } else {
        // Anycast with no subscriber anywhere: the sender may retry later or elsewhere.
        this.log.debug('no subscriber for message', { address });
        ctx.delivery.release({ undeliverable_here: true });
      }
    });
  }

  private detachClient(link: PeerLink): void {
    for (const u of this.clientSubs.get(link) ?? []) u();
    this.clientSubs.delete(link);
  }

  // ---- management ---------------------------------------------------------------------------------

  private handleManagement(request: any): void {
    const props = request.application_properties ?? {};
    const op = String(props.operation ?? 'QUERY').toUpperCase();
    const type = String(props.type ?? props.entityType ?? 'status')
      .replace(/^io\.skupper\.router\./, '')
      .replace(/^org\.apache\.qpid\.dispatch\./, '');
    let statusCode = 200;
    let body: unknown;
    const s = this.status();
    if (op !== 'QUERY' && op !== 'READ') {
      statusCode = 501;
      body = `operation ${op} is not supported; use QUERY`;
    } else {
      switch (type) {
        case 'connection':
          body = s.connections;
          break;
        case 'link':
          body = this.linkList();
          break;
        case 'address':
          body = s.addresses;
          break;
        case 'flow':
          body = { ...s.flows, list: this.core.list() };
          break;
        case 'router':
        case 'node':
          body = s.routers;
          break;
        case 'status':
          body = s;
          break;
        default:
          statusCode = 404;
          body = `unknown type "${type}": use connection, link, address, flow, router or status`;
      }
    }
    if (!request.reply_to) return;
    this.routeMessage(
      {
        to: request.reply_to,
        correlation_id: request.correlation_id ?? request.message_id,
        application_properties: { statusCode, statusDescription: statusCode === 200 ? 'OK' : 'Error' },
        body: JSON.parse(JSON.stringify(body)),
      },
      request.reply_to,
      'anycast',
      this.id,
    );
  }

  private linkList(): { connection: string; name: string; role: 'sender' | 'receiver'; address?: string }[] {
    const out: { connection: string; name: string; role: 'sender' | 'receiver'; address?: string }[] = [];
    for (const l of this.links) {
      try {
        l.conn.each_link((link: any) => {
          const sender = link.is_sender();
          out.push({
            connection: l.name,
            name: link.name,
            role: sender ? 'sender' : 'receiver',
            address: sender ? (link.source?.address ?? link.target?.address) : link.target?.address,
          });
        });
      } catch {
        // ignore
      }
    }
    return out;
  }

  // ---- status -------------------------------------------------------------------------------------

  status(): RouterStatus {
    const connections: ConnectionStatus[] = [];
    const fromConnectors = new Set<PeerLink>();
    for (const c of this.connectors.values()) {
      connections.push(c.status());
      if (c.link) fromConnectors.add(c.link);
    }
    for (const l of this.links) {
      if (fromConnectors.has(l)) continue;
      connections.push(l.status(l.isRouterLink ? this.core.portFlowCount(l) : undefined));
    }
    const routers = [...this.routes.values()].map((r) => {
      const lsa = this.lsdb.get(r.id);
      return { id: r.id, siteId: lsa?.siteId ?? '', siteName: lsa?.siteName ?? '', nextHop: r.nextHop, cost: r.cost };
    });
    const local = this.core.localAddresses();
    const names = new Set([...this.tcpTable.keys(), ...Object.keys(local), ...[...this.tcpListeners.values()].map((t) => t.config.address)]);
    const addresses = [...names].sort().map((address) => {
      const remote = (this.tcpTable.get(address) ?? []).filter((t) => t.routerId !== this.id);
      const sites = new Set(remote.map((t) => this.lsdb.get(t.routerId)?.siteName || t.routerId));
      const st = this.core.addressStats(address);
      return { address, localConnectors: local[address] ?? 0, remoteSites: [...sites].sort(), flows: st.active, flowsTotal: st.total };
    });
    return {
      id: this.id,
      siteId: this.config.siteId,
      siteName: this.config.siteName,
      mode: this.config.mode,
      connections,
      listeners: [...this.listeners.values()].map((l) => ({
        name: l.config.name,
        host: l.config.host,
        port: l.port,
        role: l.config.role,
        rejectedPeers: l.rejectedPeers,
        ...(l.lastError ? { lastError: l.lastError } : {}),
      })),
      routers,
      addresses,
      tcpListeners: [...this.tcpListeners.values()].map((t) => t.stats()),
      tcpConnectors: [...this.tcpConnectors.values()].map((t) => t.stats()),
      flows: this.core.stats(),
    };
  }

  /** Flow list for management (bounded). */
  flowList(limit = 1000) {
    return this.core.list(limit);
  }
}

export const MANAGEMENT_ADDRESS = '$management';

interface Envelope {
  t: 'msg';
  dst: string;
  src: string;
  addr: string;
  mode: 'multicast' | 'anycast';
  m: Buffer;
}

function loadTlsSafe(l: ListenerConfig): { hash: string } | undefined {
  try {
    return l.tls ? loadTls(l.tls) : undefined;
  } catch {
    return undefined;
  }
}
