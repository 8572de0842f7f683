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
import { answerManagement, startManagementServer, type ManagedLink, type ManagementServer } from './management.js';
import { ClientReceiver, ClientSender, keyLinksByNameAndRole, matchSettleModes } from './clients.js';
import { ACCEPTED, IN_DOUBT, RELEASED, RoutedMessage, noSettle, once, outcomeFromWire, type MessageSink, type Outcome, type Settle } from './delivery.js';
import { PeerLink, type ConnectionStatus, type PeerRole, type RheaConnection } from './peer.js';
import { addressTable, chooseTarget, computeRoutes, type AddressTarget, type LinkState, type Route } from './routing.js';
import { checkLinkState, LinkStateGuard, LogBudget, peerCost, peerIdentityProblem, unreachableMsFromEnv, type TrustView } from './trust.js';
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

type Subscriber = MessageSink;

interface AnycastDelivery {
  message: RoutedMessage;
  address: string;
  from: string;
  settle: Settle;
  /** Consumers here and routers that released it (or could not be reached): not tried again. */
  triedSinks: Set<MessageSink>;
  triedRouters: Set<string>;
  /** Arrived from another router: only this router's consumers are tried. */
  localOnly: boolean;
}

const CONNECT_TIMEOUT_MS = 10_000;
/** How long a router waits for the outcome of a message it sent to another router before it is in doubt. */
const AWAIT_OUTCOME_MS = 10 * 60_000;
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
  /** What goes into lsdb from peers, and routed messages' sources: see trust.ts. */
  private readonly lsGuard = new LinkStateGuard(this.lsdb, { unreachableMs: unreachableMsFromEnv() });
  private readonly refusedLog = new LogBudget();
  private sweepTimer?: NodeJS.Timeout;
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
    this.events.on('routes', () => this.onRoutesChanged());
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
    // Forget routers unreachable for a while (bounded by time: unreachableMs plus a quarter of it).
    router.sweepTimer = setInterval(() => router.sweepLinkState(), Math.min(10_000, Math.max(100, router.lsGuard.unreachableMs / 4)));
    router.sweepTimer.unref();
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
    clearInterval(this.sweepTimer);
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
        if (link.isRouterLink) {
          const bad = peerIdentityProblem(link.remote);
          if (bad) {
            this.log.warn('refused a peer router', { name: link.name, reason: bad });
            link.close(bad);
            return;
          }
          // van-cost comes from the peer: finite and at least 1, whatever it sent.
          link.cost = peerCost(link.cost);
        }
        this.links.add(link);
        if (link.isRouterLink) {
          this.core.addPort(link);
          connector?.linkUp();
          this.log.info('link up', { name: link.name, direction: link.direction, remoteRouter: link.remote?.routerId, remoteSite: link.remote?.siteName, cost: link.cost });
          // Our updated record to all, then the whole database to the new neighbour, nearest routers
          // first: it takes a relayed record only once it knows a router on our side that lists it.
          this.updateOwnLsa();
          const order = (id: string) => this.routes.get(id)?.cost ?? Infinity;
          const records = [...this.lsdb.values()].filter((l) => l.id !== this.id).sort((a, b) => order(a.id) - order(b.id));
          for (const lsa of records) link.sendControl({ t: 'lsa', lsa });
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
          this.failAwaiting((w) => w.via === link);
          if (wasKnown) {
            this.log.info('link down', { name: link.name, remoteRouter: link.remote?.routerId, reason });
            const peer = link.remote?.routerId;
            if (peer && !this.linkTo(peer)) this.lsGuard.linkDown(peer);
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
      neighbors[id] = Math.min(Object.hasOwn(neighbors, id) ? neighbors[id] : Infinity, l.cost);
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
    const own = checkLinkState(lsa, Date.now());
    if (!own.ok) this.refused('our own link-state record would be refused by other routers', { reason: own.reason });
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
    // Records held back because they came the wrong way may pass with the new routes (bounded rounds).
    for (let round = 0; round < 8; round++) {
      const taken = this.lsGuard.retry(this.trustView());
      if (taken.length === 0) break;
      for (const t of taken) this.flood(t.lsa, this.linkTo(t.via));
      this.routes = computeRoutes(this.id, this.lsdb);
    }
    this.lsGuard.noteRoutes(this.routes, Date.now());
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
      this.onLinkState(link, m.lsa);
    } else if (m.t === 'msg') {
      this.routeEnvelope(m as Envelope, link);
    } else if (m.t === 'disp') {
      this.routeDisposition(m as DispositionEnvelope, link);
    }
  }

  /** Routers linked to us (up), with the site id each gave in its open. */
  private trustView(): TrustView {
    const neighbors = new Map<string, string>();
    for (const l of this.links) if (l.isRouterLink && l.state === 'up' && l.remote) neighbors.set(l.remote.routerId, l.remote.siteId);
    return { self: this.id, db: this.lsdb, routes: this.routes, neighbors };
  }

  /** A record is checked, and taken only from the right direction, before it is stored or flooded. */
  private onLinkState(link: PeerLink, raw: unknown): void {
    const from = link.remote?.routerId;
    if (!from || !link.isRouterLink) return;
    const verdict = this.lsGuard.offer(raw, from, this.trustView(), Date.now());
    if (verdict.kind === 'refused') {
      const id = (raw as { id?: unknown } | null)?.id;
      this.refused('link-state record refused', { from, record: typeof id === 'string' ? id.slice(0, 80) : undefined, reason: verdict.reason });
      return;
    }
    if (verdict.kind !== 'accepted') return;
    this.flood(verdict.lsa, link);
    this.recompute();
  }

  private sweepLinkState(): void {
    if (this.stopped) return;
    for (const h of this.lsGuard.expireHeld(Date.now())) {
      this.refused('link-state record refused', { from: h.via, record: h.id.slice(0, 80), reason: `router ${h.via} is not the way toward ${h.id.slice(0, 80)}, and no copy came the right way` });
    }
    const removed = this.lsGuard.sweep(Date.now());
    if (removed.length === 0) return;
    this.log.info('forgot routers unreachable for a while', { routers: removed.slice(0, 20), count: removed.length, afterMs: this.lsGuard.unreachableMs });
    this.recompute();
  }

  /** One line per bad input, at most 20 per 10 s (a hostile peer must not flood the log either). */
  private refused(what: string, fields: Record<string, unknown>): void {
    const suppressed = this.refusedLog.take(Date.now());
    if (suppressed === undefined) return;
    this.log.warn(what, suppressed ? { ...fields, suppressedBefore: suppressed } : fields);
  }

  // ---- messaging ----------------------------------------------------------------------------------

  /** Anycast messages sent to other routers, awaiting the outcome there. */
  private readonly awaiting = new Map<number, { d: AnycastDelivery; dst: string; via: PeerLink; at: number }>();
  private awaitingSeq = 0;

  /** Multicast: every subscriber of `address` in every router gets `body`. */
  publish(address: string, body: unknown): void {
    this.routeMulticast(RoutedMessage.decoded({ body }), address, this.id);
  }

  /** Anycast: one subscriber (the closest) gets `body`. Returns false when nobody subscribes. */
  send(address: string, body: unknown): boolean {
    if (!this.hasConsumer(address)) return false;
    this.routeAnycast(RoutedMessage.decoded({ body }), address, this.id, noSettle);
    return true;
  }

  subscribe(address: string, handler: MessageHandler): () => void {
    return this.addSubscriber(address, {
      congested: false,
      offer: (message, from, settle) => {
        try {
          handler(message.message.body, from);
        } catch (e) {
          this.log.warn('message handler failed', { address, error: e });
        }
        settle(ACCEPTED);
        return true;
      },
    });
  }

  private addSubscriber(address: string, sub: Subscriber): () => void {
    let set = this.subscribers.get(address);
    if (!set) this.subscribers.set(address, (set = new Set()));
    const first = set.size === 0;
    set.add(sub);
    if (first) this.scheduleLsa();
    this.kickClientSenders();
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

  /** Whether any router (this one included) has a consumer for `address`. */
  private hasConsumer(address: string): boolean {
    if ((this.subscribers.get(address)?.size ?? 0) > 0) return true;
    return (this.subTable.get(address) ?? []).some((t) => t.routerId !== this.id);
  }

  /** Routes a message a client sent: multicast is at most once per consumer, anycast carries the outcome. */
  private routeMessage(message: RoutedMessage, address: string, from: string, settle: Settle): void {
    if (address === MANAGEMENT_ADDRESS) {
      this.handleManagement(message.message);
      settle(ACCEPTED);
    } else if (isMulticastAddress(address)) {
      // Settled once handed to every consumer's queue (or link to its router): like Skupper's multicast,
      // a consumer whose queue is full misses it.
      this.routeMulticast(message, address, from);
      settle(ACCEPTED);
    } else {
      this.routeAnycast(message, address, from, settle);
    }
  }

  private routeMulticast(message: RoutedMessage, address: string, from: string): boolean {
    let any = this.deliverMulticastLocal(message, address, from);
    for (const t of this.subTable.get(address) ?? []) {
      if (t.routerId === this.id) continue;
      any = this.sendEnvelope({ t: 'msg', dst: t.routerId, src: from, addr: address, mode: 'multicast', m: message.encoded }) || any;
    }
    return any;
  }

  private deliverMulticastLocal(message: RoutedMessage, address: string, from: string): boolean {
    const set = this.subscribers.get(address);
    if (!set || set.size === 0) return false;
    for (const s of [...set]) if (!s.offer(message, from, noSettle)) this.log.debug('a multicast consumer is full: message not delivered to it', { address });
    return true;
  }

  /**
   * Anycast with the consumer's outcome carried back to `settle`: local consumers first (round robin,
   * the ones under their byte bound preferred), then the closest other router. A consumer or router that
   * releases the message is not tried again for it; when none is left, the sender gets released.
   */
  private routeAnycast(message: RoutedMessage, address: string, from: string, settle: Settle, localOnly = false): void {
    const d: AnycastDelivery = { message, address, from, settle: once(settle), triedSinks: new Set(), triedRouters: new Set(), localOnly };
    this.forwardAnycast(d);
  }

  private forwardAnycast(d: AnycastDelivery): void {
    if (this.stopped) return d.settle(RELEASED);
    if (!d.triedRouters.has(this.id)) {
      if (this.offerLocal(d)) return;
      d.triedRouters.add(this.id);
    }
    if (d.localOnly) return d.settle(RELEASED);
    for (;;) {
      const targets = (this.subTable.get(d.address) ?? []).filter((t) => !d.triedRouters.has(t.routerId));
      const t = chooseTarget(targets, 'closest', () => 0, this.anycastTurn++);
      if (!t) return d.settle(RELEASED);
      d.triedRouters.add(t.routerId);
      if (this.sendAnycastTo(t.routerId, d)) return;
    }
  }

  private offerLocal(d: AnycastDelivery): boolean {
    const set = this.subscribers.get(d.address);
    if (!set || set.size === 0) return false;
    const list = [...set].filter((s) => !d.triedSinks.has(s));
    if (list.length === 0) return false;
    const start = this.anycastTurn++ % list.length;
    const ordered = [...list.slice(start), ...list.slice(0, start)].sort((a, b) => Number(a.congested) - Number(b.congested));
    for (const sink of ordered) {
      d.triedSinks.add(sink);
      const taken = sink.offer(d.message, d.from, (outcome) => {
        // Released by this consumer: another one may take it (resend-released, as skupper-router does).
        if (outcome.kind === 'released') this.forwardAnycast(d);
        else d.settle(outcome);
      });
      if (taken) return true;
    }
    return false;
  }

  private sendAnycastTo(routerId: string, d: AnycastDelivery): boolean {
    const r = this.routes.get(routerId);
    const via = r && this.linkTo(r.nextHop);
    if (!via) return false;
    const id = ++this.awaitingSeq;
    // An outcome lost on the way (a hop that went down behind the next one) must not pin the entry forever.
    if (id % 1024 === 0) this.failAwaiting((w) => Date.now() - w.at > AWAIT_OUTCOME_MS);
    this.awaiting.set(id, { d, dst: routerId, via, at: Date.now() });
    via.sendControl({ t: 'msg', dst: routerId, src: d.from, addr: d.address, mode: 'anycast', m: d.message.encoded, id });
    return true;
  }

  /** The outcome of a message this router sent to another router (or one passing through). */
  private routeDisposition(env: DispositionEnvelope, link: PeerLink): void {
    if (typeof env.dst !== 'string' || typeof env.id !== 'number' || typeof env.src !== 'string') return;
    if (this.lsGuard.sourceProblem(env.src, link.remote?.routerId ?? '', this.trustView())) return;
    if (env.dst !== this.id) {
      this.sendEnvelope(env);
      return;
    }
    const waiting = this.awaiting.get(env.id);
    // Only the router the message went to may settle it (the way back may differ from the way out).
    if (!waiting || waiting.dst !== env.src) return;
    this.awaiting.delete(env.id);
    const outcome = outcomeFromWire(env.o);
    if (outcome.kind === 'released') this.forwardAnycast(waiting.d);
    else waiting.d.settle(outcome);
  }

  private sendDisposition(dst: string, id: number, outcome: Outcome): void {
    this.sendEnvelope({ t: 'disp', dst, src: this.id, id, o: JSON.parse(JSON.stringify(outcome)) });
  }

  /** Messages sent over a link that went down, or to a router no longer reachable, are in doubt. */
  private failAwaiting(lost: (w: { dst: string; via: PeerLink; at: number }) => boolean): void {
    for (const [id, w] of this.awaiting) {
      if (!lost(w)) continue;
      this.awaiting.delete(id);
      w.d.settle(IN_DOUBT);
    }
  }

  private onRoutesChanged(): void {
    if (this.awaiting.size) this.failAwaiting((w) => !this.routes.has(w.dst) || w.via.state !== 'up');
    this.kickClientSenders();
  }

  private sendEnvelope(env: Envelope | DispositionEnvelope): boolean {
    const r = this.routes.get(env.dst);
    const link = r && this.linkTo(r.nextHop);
    if (!link) return false;
    link.sendControl(env);
    return true;
  }

  private routeEnvelope(env: Envelope, link: PeerLink): void {
    if (typeof env.dst !== 'string' || typeof env.addr !== 'string') return;
    // The source is what subscribers (service sync) believe: it must be on the side the message came from.
    const bad = this.lsGuard.sourceProblem(env.src, link.remote?.routerId ?? '', this.trustView());
    if (bad) {
      this.refused('routed message dropped', { from: link.remote?.routerId, src: typeof env.src === 'string' ? env.src.slice(0, 80) : undefined, address: env.addr.slice(0, 80), reason: bad });
      return;
    }
    const id = typeof env.id === 'number' ? env.id : undefined;
    if (env.dst !== this.id) {
      // Cannot pass it on: the sending router learns at once (and tries another consumer or releases).
      if (!this.sendEnvelope(env) && id !== undefined && typeof env.src === 'string') this.sendDisposition(env.src, id, RELEASED);
      return;
    }
    let bytes: Buffer;
    try {
      bytes = Buffer.isBuffer(env.m) ? env.m : Buffer.from(env.m as any);
    } catch {
      return;
    }
    const message = RoutedMessage.encoded(bytes);
    if (env.mode === 'anycast') {
      const settle = id !== undefined && typeof env.src === 'string' ? (o: Outcome) => this.sendDisposition(env.src, id, o) : noSettle;
      this.routeAnycast(message, env.addr, env.src, settle, true);
    } else {
      this.deliverMulticastLocal(message, env.addr, env.src);
    }
  }

  // ---- plain AMQP clients (normal listener) -------------------------------------------------------

  /** Per client connection: its links (rhea link -> what closes ours), and the client receivers to kick. */
  private readonly clientLinks = new Map<PeerLink, { links: Map<any, () => void>; senders: Set<ClientSender> }>();
  private readonly clientReceivers = new Set<ClientReceiver>();
  /** Client links by rhea link, for management. */
  private readonly clientLinkStats = new WeakMap<object, ClientSender | ClientReceiver>();
  private kickScheduled = false;

  private attachClient(link: PeerLink): void {
    const conn = link.conn;
    // Credit is ours to give (ClientReceiver), not rhea's fixed window.
    conn.options.credit_window = 0;
    keyLinksByNameAndRole(conn);
    const state = { links: new Map<any, () => void>(), senders: new Set<ClientSender>() };
    this.clientLinks.set(link, state);
    // A session ended without detaching its links first takes them along.
    conn.on('session_close', (ctx: any) => {
      for (const [l, close] of [...state.links]) if (l.session === ctx.session) close();
    });
    link.socket.on('drain', () => {
      for (const s of state.senders) s.pump();
    });
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
      matchSettleModes(sender);
      if (!address) {
        sender.on('sender_close', () => {});
        sender.close({ condition: 'amqp:invalid-field', description: 'a receiver needs a source address' });
        return;
      }
      const out = new ClientSender(sender, link.socket, () => this.kickClientSenders());
      state.senders.add(out);
      this.clientLinkStats.set(sender, out);
      const unsub = this.addSubscriber(address, out);
      const closed = () => {
        unsub();
        state.links.delete(sender);
        state.senders.delete(out);
        out.close();
      };
      state.links.set(sender, closed);
      sender.on('sender_close', closed);
      sender.on('sender_error', () => {});
    });
    conn.on('receiver_open', (ctx: any) => {
      const receiver = ctx.receiver;
      receiver.set_target(receiver.target ?? {});
      // The client's settle modes stand: a pre-settled sender gets the pre-settled link it asked for.
      matchSettleModes(receiver);
      const r = new ClientReceiver(receiver, {
        route: (message, address, settle) => this.routeMessage(message, address, this.id, settle),
        holdBack: (address) => this.holdBack(address),
      });
      this.clientReceivers.add(r);
      this.clientLinkStats.set(receiver, r);
      const closed = () => {
        state.links.delete(receiver);
        this.clientReceivers.delete(r);
        r.close();
      };
      state.links.set(receiver, closed);
      receiver.on('receiver_close', closed);
      receiver.on('receiver_error', () => {});
    });
  }

  /** No credit for a sender whose address has no consumer, or only local ones over their byte bound. */
  private holdBack(address: string | undefined): boolean {
    if (!address || address === MANAGEMENT_ADDRESS || isMulticastAddress(address)) return false;
    if ((this.subTable.get(address) ?? []).some((t) => t.routerId !== this.id)) return false;
    const local = this.subscribers.get(address);
    if (!local || local.size === 0) return true;
    for (const s of local) if (!s.congested) return false;
    return true;
  }

  /** Consumers appeared or drained: senders held back may get credit again. */
  private kickClientSenders(): void {
    if (this.kickScheduled || this.clientReceivers.size === 0) return;
    this.kickScheduled = true;
    setImmediate(() => {
      this.kickScheduled = false;
      for (const r of this.clientReceivers) r.topUp();
    });
  }

  private detachClient(link: PeerLink): void {
    const state = this.clientLinks.get(link);
    if (!state) return;
    this.clientLinks.delete(link);
    for (const close of [...state.links.values()]) close();
  }

  // ---- management ---------------------------------------------------------------------------------

  private handleManagement(request: any): void {
    let answer: ReturnType<typeof answerManagement>;
    try {
      answer = answerManagement(request, {
        status: () => this.status(),
        links: () => this.linkList(),
        flows: () => this.core.list(),
      });
    } catch (e) {
      this.log.warn('management request failed', { error: e });
      return;
    }
    if (!answer || typeof request.reply_to !== 'string' || !request.reply_to) return;
    const reply = { to: request.reply_to, correlation_id: request.correlation_id ?? request.message_id, ...answer };
    this.routeAnycast(RoutedMessage.decoded(reply), request.reply_to, this.id, noSettle);
  }

  private linkList(): ManagedLink[] {
    const out: ManagedLink[] = [];
    for (const l of this.links) {
      try {
        l.conn.each_link((link: any) => {
          const sender = link.is_sender();
          const client = this.clientLinkStats.get(link);
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
  /** Anycast: the sending router awaits the outcome under this id (a DispositionEnvelope). */
  id?: number;
}

/** The outcome of an anycast Envelope, routed back to the router that sent it. */
interface DispositionEnvelope {
  t: 'disp';
  dst: string;
  src: string;
  id: number;
  o: unknown;
}

function loadTlsSafe(l: ListenerConfig): { hash: string } | undefined {
  try {
    return l.tls ? loadTls(l.tls) : undefined;
  } catch {
    return undefined;
  }
}
