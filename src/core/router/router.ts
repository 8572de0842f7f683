// The router: one per site. A composition of its parts, each in its own file: the connections
// (connections.ts), the link-state database and routes (linkState.ts), the core's flow engine (flows.ts)
// with the tcp adaptors (adaptors/), routed messaging (messaging.ts), plain AMQP clients
// (clientConnections.ts) and management (management.ts). This file wires them: what a connection does
// when it opens, closes or carries a control message, the live config, and the status.
// Adaptors reach the core only through FlowCore's openFlow / addTarget.
import { EventEmitter } from 'node:events';
import rhea from 'rhea';
import { TcpAdaptors } from './adaptors/tcpAdaptors.js';
import type { AddressStatus, MessageHandler, RouterApi, RouterStatus } from './api.js';
import { ClientConnections } from './clientConnections.js';
import { sameJson, type RouterConfig } from './config.js';
import { Connections, type ConnectionHost, type ConnectorRunner, type ListenerRunner } from './connections.js';
import { FlowCore } from './flows.js';
import type { TrafficSnapshot } from './traffic.js';
import type { Kind } from './framing.js';
import { LinkStates } from './linkState.js';
import { createLogger, type Logger } from './log.js';
import { handleManagementRequest, managedLinks, startManagementServer, type ManagementServer } from './management.js';
import { Messaging, type DispositionEnvelope, type Envelope } from './messaging.js';
import type { ConnectionStatus, PeerHandlers, PeerLink } from './peer.js';
import { LogBudget, peerCost, peerIdentityProblem } from './trust.js';

/* eslint-disable @typescript-eslint/no-explicit-any */

export type { ConnectionStatus, MessageHandler, RouterApi, RouterStatus } from './api.js';
export { isMulticastAddress, MANAGEMENT_ADDRESS } from './messaging.js';

export class Router implements RouterApi, ConnectionHost {
  readonly events = new EventEmitter();
  readonly container: any;
  readonly log: Logger;
  readonly epoch = Date.now();
  config: RouterConfig;
  /** Every open connection: router links and clients. */
  private readonly links = new Set<PeerLink>();
  private readonly refusedLog = new LogBudget();
  private readonly core: FlowCore;
  private readonly linkState: LinkStates;
  private readonly messaging: Messaging;
  private readonly clients: ClientConnections;
  private readonly connections: Connections;
  private readonly tcp: TcpAdaptors;
  private management?: ManagementServer;
  private stopped = false;
  ready = false;

  private constructor(config: RouterConfig) {
    this.config = config;
    this.log = createLogger({ router: config.id });
    this.container = rhea.create_container({ id: config.id });
    const refused = (what: string, fields: Record<string, unknown>) => this.refused(what, fields);
    this.linkState = new LinkStates({
      config: () => this.config,
      epoch: this.epoch,
      links: this.links,
      log: this.log,
      refused,
      localAddresses: () => this.core.localAddresses(),
      subscriptions: () => this.messaging.subscriptions(),
      isStopped: () => this.stopped,
      recomputed: (routers) => this.events.emit('routes', routers),
    });
    this.core = new FlowCore(
      {
        selfId: config.id,
        portTo: (id) => this.linkState.linkToward(id),
        targets: (address) => this.linkState.tcpTable.get(address) ?? [],
        siteOf: (id) => (id === this.config.id ? this.config.siteName : this.linkState.siteNameOf(id)) || id,
      },
      this.log,
    );
    this.core.onTargetsChanged = () => this.linkState.schedule();
    this.messaging = new Messaging(
      {
        config: () => this.config,
        log: this.log,
        refused,
        isStopped: () => this.stopped,
        management: (request) => this.handleManagement(request),
        subscriptionsChanged: () => this.linkState.schedule(),
        consumersChanged: () => this.clients.kick(),
      },
      this.linkState,
    );
    this.clients = new ClientConnections(() => this.id, this.messaging);
    this.connections = new Connections(this, this.log);
    this.tcp = new TcpAdaptors(this.core, this.log);
    this.events.setMaxListeners(100);
    this.events.on('routes', () => this.onRoutesChanged());
  }

  get id(): string {
    return this.config.id;
  }

  /** Message address -> routers with consumers (tests look at it). */
  private get subTable(): ReadonlyMap<string, unknown[]> {
    return this.linkState.subTable;
  }

  static async start(config: RouterConfig): Promise<Router> {
    const router = new Router(config);
    router.linkState.init();
    try {
      await router.reconcile(
        { ...config, listeners: [], connectors: [], tcpListeners: [], tcpConnectors: [], management: undefined },
        config,
      );
    } catch (e) {
      await router.stop();
      throw e;
    }
    router.linkState.startTimers();
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
      this.log.warn('the router id cannot change while running; restart the router to use the new id', {
        id: this.config.id,
        next: next.id,
      });
      next = { ...next, id: this.config.id };
    }
    const prev = this.config;
    this.config = next;
    await this.reconcile(prev, next);
    if (prev.siteName !== next.siteName || prev.siteId !== next.siteId) this.linkState.schedule();
  }

  private async reconcile(prev: RouterConfig, next: RouterConfig): Promise<void> {
    const errors: string[] = [];
    await this.connections.reconcile(next, errors);
    await this.tcp.reconcile(next, errors);
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
    this.linkState.stop();
    this.connections.stop();
    for (const l of this.links) l.close('the router is stopping');
    await this.tcp.stop();
    await this.management?.close();
    this.connections.clear();
    this.tcp.clear();
    this.log.info('router stopped');
  }

  /** Bound ports (useful with port 0 in tests). */
  listenerPort(name: string): number | undefined {
    return this.connections.listenerPort(name);
  }
  tcpListenerPort(name: string): number | undefined {
    return this.tcp.listenerPort(name);
  }
  managementPort(): number | undefined {
    return this.management?.port;
  }

  // ---- messaging ----------------------------------------------------------------------------------

  /** Multicast: every subscriber of `address` in every router gets `body`. */
  publish(address: string, body: unknown): void {
    this.messaging.publish(address, body);
  }

  /** Anycast: one subscriber (the closest) gets `body`. Returns false when nobody subscribes. */
  send(address: string, body: unknown): boolean {
    return this.messaging.send(address, body);
  }

  subscribe(address: string, handler: MessageHandler): () => void {
    return this.messaging.subscribe(address, handler);
  }

  // ---- connections --------------------------------------------------------------------------------

  emitConnection(status: ConnectionStatus): void {
    this.events.emit('connection', status);
  }

  peerHandlers(connector?: ConnectorRunner, listener?: ListenerRunner): PeerHandlers {
    return {
      onUp: (link) => this.onLinkUp(link, connector),
      onDown: (link, reason) => this.onLinkDown(link, reason, connector, listener),
      onControl: (link, body) => this.onControl(link, body),
      onData: (link, kind, reverse, id, payload) => this.core.receive(link, kind as Kind, reverse, id, payload),
    };
  }

  flowCountFor(link: PeerLink): number {
    return this.core.portFlowCount(link);
  }

  private onLinkUp(link: PeerLink, connector: ConnectorRunner | undefined): void {
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
      this.log.info('link up', {
        name: link.name,
        direction: link.direction,
        remoteRouter: link.remote?.routerId,
        remoteSite: link.remote?.siteName,
        cost: link.cost,
      });
      this.linkState.linkUp(link);
    } else {
      this.clients.attach(link);
    }
    if (!connector) this.emitConnection(link.status());
  }

  private onLinkDown(link: PeerLink, reason: string, connector: ConnectorRunner | undefined, listener: ListenerRunner | undefined): void {
    const wasKnown = this.links.delete(link);
    listener?.links.delete(link);
    if (link.isRouterLink) {
      this.core.removePort(link, `the link to router ${link.peerId || link.host} went down`);
      this.messaging.linkDown(link);
      if (wasKnown) {
        this.log.info('link down', { name: link.name, remoteRouter: link.remote?.routerId, reason });
        this.linkState.linkDown(link);
      }
    } else {
      this.clients.detach(link);
    }
    if (connector) connector.linkDown(link, reason);
    else if (wasKnown) this.emitConnection(link.status());
  }

  private onControl(link: PeerLink, body: unknown): void {
    if (!body || typeof body !== 'object') return;
    const m = body as Record<string, any>;
    if (m.t === 'lsa') {
      this.linkState.offer(link, m.lsa);
    } else if (m.t === 'msg') {
      this.messaging.routeEnvelope(m as Envelope, link);
    } else if (m.t === 'disp') {
      this.messaging.routeDisposition(m as DispositionEnvelope, link);
    }
  }

  private onRoutesChanged(): void {
    this.messaging.routesChanged();
    this.clients.kick();
  }

  /** One line per bad input, at most 20 per 10 s (a hostile peer must not flood the log either). */
  private refused(what: string, fields: Record<string, unknown>): void {
    const suppressed = this.refusedLog.take(Date.now());
    if (suppressed === undefined) return;
    this.log.warn(what, suppressed ? { ...fields, suppressedBefore: suppressed } : fields);
  }

  // ---- management and status ----------------------------------------------------------------------

  private handleManagement(request: any): void {
    handleManagementRequest(
      request,
      {
        status: () => this.status(),
        links: () => managedLinks(this.links, (l) => this.clients.statsOf(l)),
        flows: () => this.core.list(),
      },
      (message, to) => this.messaging.reply(message, to),
      this.log,
    );
  }

  status(): RouterStatus {
    const fromConnectors = this.connections.connectorStatus();
    const connections = [...fromConnectors.connections];
    for (const l of this.links) {
      if (fromConnectors.links.has(l)) continue;
      connections.push(l.status(l.isRouterLink ? this.core.portFlowCount(l) : undefined));
    }
    return {
      id: this.id,
      siteId: this.config.siteId,
      siteName: this.config.siteName,
      mode: this.config.mode,
      connections,
      listeners: this.connections.listenerStatus(),
      routers: this.linkState.routerList(),
      addresses: this.addressStatus(),
      tcpListeners: this.tcp.listenerStats(),
      tcpConnectors: this.tcp.connectorStats(),
      flows: this.core.stats(),
    };
  }

  /** Every tcp address known here: its local targets, the sites with targets, its flows. */
  private addressStatus(): AddressStatus[] {
    const tcpTable = this.linkState.tcpTable;
    const local = this.core.localAddresses();
    const names = new Set([...tcpTable.keys(), ...Object.keys(local), ...this.tcp.listenerAddresses()]);
    return [...names].sort().map((address) => {
      const remote = (tcpTable.get(address) ?? []).filter((t) => t.routerId !== this.id);
      const sites = new Set(remote.map((t) => this.linkState.siteNameOf(t.routerId) || t.routerId));
      const st = this.core.addressStats(address);
      return { address, localConnectors: local[address] ?? 0, remoteSites: [...sites].sort(), flows: st.active, flowsTotal: st.total };
    });
  }

  /** Traffic per address and site pair, and the last flows (bounded). */
  traffic(): TrafficSnapshot {
    return this.core.trafficSnapshot();
  }

  /** Flow list for management (bounded). */
  flowList(limit = 1000) {
    return this.core.list(limit);
  }
}
