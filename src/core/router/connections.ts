// Connections between this router and its peers: listeners (plain or TLS, with the refusals at the TLS
// accept counted and logged) and connectors kept up with capped exponential back-off. What a connection
// carries is the router's business (the PeerHandlers it hands out); this file only makes and keeps them.
import net from 'node:net';
import tls from 'node:tls';
import type { ListenerStatus } from './api.js';
import { sameJson, type ConnectorConfig, type ListenerConfig, type RouterConfig } from './config.js';
import type { Logger } from './log.js';
import { PeerLink, type ConnectionStatus, type PeerHandlers, type RheaConnection } from './peer.js';
import { describeAcceptError, describeConnectError, loadTls } from './tls.js';

/* eslint-disable @typescript-eslint/no-explicit-any */

/** What connections need from the router that owns them. */
export interface ConnectionHost {
  /** The rhea container every connection is made in. */
  readonly container: any;
  /** Who we are (announced in every AMQP open). */
  readonly config: RouterConfig;
  /** What the router does with a connection once it is open (or closed). */
  peerHandlers(connector?: ConnectorRunner, listener?: ListenerRunner): PeerHandlers;
  emitConnection(status: ConnectionStatus): void;
  flowCountFor(link: PeerLink): number;
}

const CONNECT_TIMEOUT_MS = 10_000;
const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 30_000;

/** Every connection announces who we are in its AMQP open. */
function rheaConnectionOptions(config: RouterConfig, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    container_id: config.id,
    reconnect: false,
    tcp_no_delay: true,
    max_frame_size: 1024 * 1024,
    properties: {
      'van-router-id': config.id,
      'van-site-id': config.siteId,
      'van-site-name': config.siteName,
      'van-mode': config.mode,
    },
    ...extra,
  };
}

/** An outgoing link kept up with capped exponential back-off and jitter. */
export class ConnectorRunner {
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
    private readonly router: ConnectionHost,
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
        rheaConnectionOptions(this.router.config, {
          id: `connector:${this.config.name}`,
          autoaccept: false,
          properties: {
            ...(rheaConnectionOptions(this.router.config, {}).properties as object),
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
      const link = new PeerLink(
        conn,
        socket,
        'outgoing',
        this.config.role,
        host,
        port,
        this.config.name,
        this.config.cost ?? 1,
        this.router.peerHandlers(this),
        this.log,
      );
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

/** A listening socket: plain, or TLS with the peer's certificate checked here (refusals counted and logged). */
export class ListenerRunner {
  server?: net.Server;
  rejectedPeers = 0;
  lastError?: string;
  tlsHash?: string;
  readonly links = new Set<PeerLink>();

  constructor(
    readonly config: ListenerConfig,
    private readonly router: ConnectionHost,
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
          this.log.warn('refused a peer at the TLS handshake', {
            listener: this.config.name,
            remote: socket.remoteAddress,
            reason: this.lastError,
          });
          socket.destroy();
          return;
        }
        this.accept(socket);
      });
      server.on('tlsClientError', (err, socket) => {
        this.rejectedPeers++;
        this.lastError = describeAcceptError(err);
        this.log.warn('refused a peer at the TLS handshake', {
          listener: this.config.name,
          remote: socket.remoteAddress,
          reason: this.lastError,
        });
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
      rheaConnectionOptions(this.router.config, {
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

/** The listeners and connectors of the config, kept in step with it. */
export class Connections {
  readonly connectors = new Map<string, ConnectorRunner>();
  readonly listeners = new Map<string, ListenerRunner>();

  constructor(
    private readonly host: ConnectionHost,
    private readonly log: Logger,
  ) {}

  /** Starts, restarts and stops listeners and connectors to match `next`; what failed goes into errors. */
  async reconcile(next: RouterConfig, errors: string[]): Promise<void> {
    await this.reconcileListeners(next.listeners, errors);
    this.reconcileConnectors(next.connectors);
  }

  private async reconcileListeners(wanted: ListenerConfig[], errors: string[]): Promise<void> {
    const byName = new Map(wanted.map((l) => [l.name, l]));
    for (const [name, runner] of this.listeners) {
      const want = byName.get(name);
      if (!want) {
        runner.close(true);
        this.listeners.delete(name);
      } else if (!sameJson(want, runner.config) || (want.tls && loadTlsSafe(want)?.hash !== runner.tlsHash)) {
        runner.close(false);
        this.listeners.delete(name);
      }
    }
    for (const l of wanted) {
      if (this.listeners.has(l.name)) continue;
      const runner = new ListenerRunner(l, this.host, this.log);
      try {
        await runner.start();
        this.listeners.set(l.name, runner);
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
  }

  private reconcileConnectors(wanted: ConnectorConfig[]): void {
    const byName = new Map(wanted.map((c) => [c.name, c]));
    for (const [name, runner] of this.connectors) {
      const want = byName.get(name);
      if (!want || !sameJson(want, runner.config)) {
        runner.stop();
        this.connectors.delete(name);
        this.host.emitConnection({ ...runner.status(), state: 'down', lastError: 'the link was removed' });
      }
    }
    for (const c of wanted) {
      if (this.connectors.has(c.name)) continue;
      const runner = new ConnectorRunner(c, this.host, this.log);
      this.connectors.set(c.name, runner);
      runner.start();
    }
  }

  /** Stops connecting and accepting, and closes what the listeners accepted. */
  stop(): void {
    for (const c of this.connectors.values()) c.stop();
    for (const l of this.listeners.values()) l.close(true);
  }

  clear(): void {
    this.connectors.clear();
    this.listeners.clear();
  }

  listenerPort(name: string): number | undefined {
    return this.listeners.get(name)?.port;
  }

  /** The connectors' connections (up or not) and the links they made. */
  connectorStatus(): { connections: ConnectionStatus[]; links: Set<PeerLink> } {
    const connections: ConnectionStatus[] = [];
    const links = new Set<PeerLink>();
    for (const c of this.connectors.values()) {
      connections.push(c.status());
      if (c.link) links.add(c.link);
    }
    return { connections, links };
  }

  listenerStatus(): ListenerStatus[] {
    return [...this.listeners.values()].map((l) => ({
      name: l.config.name,
      host: l.config.host,
      port: l.port,
      role: l.config.role,
      rejectedPeers: l.rejectedPeers,
      ...(l.lastError ? { lastError: l.lastError } : {}),
    }));
  }
}

function loadTlsSafe(l: ListenerConfig): { hash: string } | undefined {
  try {
    return l.tls ? loadTls(l.tls) : undefined;
  } catch {
    return undefined;
  }
}
