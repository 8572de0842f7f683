// The site agent: the program around the router in a site (a pod, or a local process). It reads the
// site and its links from a SiteStore, builds the router config (routerConfig.ts), starts the router
// and re-applies on every change, serves /healthz /readyz (for probes, on the pod IP) and /status
// (site, links, events: on a loopback address only), and runs modules (the claims server, the
// services reconciler) that other parts plug in with addModule.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorMessage } from '../errors';
import type { KubeClient } from '../kube/client';
import type { RouterApi } from '../router/api';
import type { RouterConfig } from '../router/config';
import { renderTrafficMetrics } from '../router/trafficMetrics';
import { EventLog, type EventType, type SiteEvent } from './events';
import {
  type AgentSite,
  type LinkSpec,
  NO_SERVICES,
  type ServicesConfig,
  buildRouterConfig,
  linkProblem,
  linkTlsFiles,
} from './routerConfig';
import type { SiteStore, StoredSite } from './store';

export type RouterFactory = (config: RouterConfig) => Promise<RouterApi>;

export interface EventRecorder {
  record(type: EventType, reason: string, message: string): void;
  events(): SiteEvent[];
}

/** What a module gets when it starts. */
export interface AgentContext<R extends RouterApi = RouterApi> {
  platform: 'kubernetes' | 'local';
  site: StoredSite;
  /** The namespace (Kubernetes) or the site folder (local). */
  namespace: string;
  store: SiteStore;
  router: R;
  events: EventRecorder;
  /** Where listeners for other sites bind (pod IP) and where local ones bind. */
  listenHost: string;
  localHost: string;
  /** Ports of the router and agent: never give them to a service. */
  reservedPorts: number[];
  /** The services module hands its tcp listeners and connectors here; the agent folds them into the router config. */
  applyServices(services: ServicesConfig): Promise<void>;
  /** The API client of the pod's service account (Kubernetes only). */
  kube?: KubeClient;
  /** The site's server certificate files (the claims server serves with them). */
  serverTls: { ca: string; cert: string; key: string };
  /**
   * New server certificate files (revoke-access, issue 6): the listeners restart with them; with
   * dropLinks the links they had accepted are closed first (old client certificates cannot return).
   */
  setServerTls?(files: { ca: string; cert: string; key: string }, dropLinks: boolean): Promise<void>;
}

export interface AgentModule<R extends RouterApi = RouterApi> {
  name: string;
  start(ctx: AgentContext<R>): Promise<void> | void;
  stop(): Promise<void> | void;
  /** Why the router should not be called ready yet (e.g. the services of linked sites not heard), or undefined. */
  notReady?(): string | undefined;
}

export interface AgentOptions<R extends RouterApi = RouterApi> {
  store: SiteStore;
  startRouter: (config: RouterConfig) => Promise<R>;
  /** Site facts the store does not hold (router id, hosts, ports, TLS file paths). */
  site: Omit<AgentSite, 'id' | 'name' | 'mode' | 'ingress'>;
  namespace: string;
  /** Probes: /healthz and /readyz only (the kubelet reaches them on the pod IP). */
  health: { host: string; port: number };
  /** /status (the site, its links' names, recent events): bind a loopback address; none when absent. */
  status?: { host: string; port: number };
  kube?: KubeClient;
  events?: EventRecorder;
  /** Private folder for link TLS files (a fresh 0700 tmp folder by default). */
  tlsDir?: string;
  debounceMs?: number;
  log?: (line: string, fields?: Record<string, unknown>) => void;
}

/** A bounded in-memory event log, echoed to the agent's log. */
export class MemoryRecorder implements EventRecorder {
  private readonly log = new EventLog();
  constructor(private readonly echo?: (event: SiteEvent) => void) {}
  record(type: EventType, reason: string, message: string): void {
    this.echo?.(this.log.add(type, reason, message));
  }
  events(): SiteEvent[] {
    return this.log.list();
  }
}

export class SiteAgent<R extends RouterApi = RouterApi> {
  readonly events: EventRecorder;
  router?: R;
  site?: StoredSite;
  config?: RouterConfig;
  private readonly modules: AgentModule<R>[] = [];
  private readonly started: AgentModule<R>[] = [];
  private services: ServicesConfig = NO_SERVICES;
  private links: LinkSpec[] = [];
  private readonly tlsDir: string;
  private unwatch?: () => void;
  private server?: Server;
  private statusServer?: Server;
  private timer?: NodeJS.Timeout;
  private applying: Promise<void> = Promise.resolve();
  private lastApplied = '';
  private lastError?: string;
  private ready = false;
  private stopping = false;
  private readonly badLinks = new Set<string>();

  constructor(private readonly o: AgentOptions<R>) {
    this.events = o.events ?? new MemoryRecorder((e) => this.log(`event ${e.reason}: ${e.message}`, { type: e.type }));
    this.tlsDir = o.tlsDir ?? mkdtempSync(join(tmpdir(), 'skupper-links-'));
    chmodSync(this.tlsDir, 0o700);
  }

  addModule(module: AgentModule<R>): this {
    this.modules.push(module);
    return this;
  }

  private log(line: string, fields?: Record<string, unknown>): void {
    (
      this.o.log ??
      ((l, f) => process.stderr.write(`${JSON.stringify({ ts: new Date().toISOString(), component: 'agent', msg: l, ...f })}\n`))
    )(line, fields);
  }

  private agentSite(site: StoredSite): AgentSite {
    return { ...this.o.site, id: site.id, name: site.name, mode: site.mode, ingress: site.ingress };
  }

  /** Health first (so probes get answers while starting), then the site, the router, the modules. */
  async start(): Promise<void> {
    await this.serveHealth();
    const site = await this.waitForSite();
    this.site = site;
    this.links = await this.o.store.readLinks();
    this.writeLinkFiles(this.links);
    this.config = buildRouterConfig(this.agentSite(site), this.links, this.services, this.tlsDir);
    this.router = await this.o.startRouter(this.config);
    this.lastApplied = JSON.stringify(this.config);
    this.events.record(
      'Normal',
      'RouterStarted',
      `router ${this.config.id} of site ${site.name} started (${site.mode}, ${this.config.listeners.map((l) => `${l.name} ${l.host}:${l.port}`).join(', ')})`,
    );
    for (const module of this.modules) {
      try {
        await module.start(this.context());
        this.started.push(module);
      } catch (error) {
        this.events.record('Warning', 'ModuleFailed', `${module.name} did not start: ${errorMessage(error)}`);
      }
    }
    this.unwatch = this.o.store.watch((why) => this.schedule(why));
    this.ready = true;
  }

  private async waitForSite(): Promise<StoredSite> {
    for (let delay = 500; ; delay = Math.min(delay * 2, 10_000)) {
      try {
        const site = await this.o.store.readSite();
        if (site) return site;
        this.lastError = 'the site record does not exist (yet)';
      } catch (error) {
        this.lastError = errorMessage(error);
      }
      this.log('waiting for the site record', { error: this.lastError });
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  private context(): AgentContext<R> {
    const site = this.site!;
    const c = this.config!;
    return {
      platform: this.o.store.platform,
      site,
      namespace: this.o.namespace,
      store: this.o.store,
      router: this.router!,
      events: this.events,
      listenHost: this.o.site.listenHost,
      localHost: this.o.site.localHost,
      reservedPorts: [
        ...c.listeners.map((l) => l.port),
        this.o.health.port,
        ...(this.o.status ? [this.o.status.port] : []),
        ...(c.management ? [c.management.port] : []),
      ],
      applyServices: (services) => this.applyServices(services),
      kube: this.o.kube,
      serverTls: this.o.site.serverTls,
      setServerTls: (files, dropLinks) => this.setServerTls(files, dropLinks),
    };
  }

  /** See AgentContext.setServerTls (added for revoke-access, issue 6). */
  async setServerTls(files: { ca: string; cert: string; key: string }, dropLinks: boolean): Promise<void> {
    this.o.site.serverTls = files;
    if (dropLinks) {
      this.applying = this.applying.then(async () => {
        if (this.stopping || !this.router || !this.config) return;
        // Without the TLS listeners for a moment: the router closes them with the links they accepted.
        const cut = { ...this.config, listeners: this.config.listeners.filter((l) => !l.tls) };
        try {
          await this.router.applyConfig(cut);
        } catch (error) {
          this.log('could not close the listeners for new certificates', { error: errorMessage(error) });
        }
        this.config = cut;
        this.lastApplied = '';
      });
    } else {
      this.lastApplied = '';
    }
    await this.reconcile('server certificate changed');
  }

  async applyServices(services: ServicesConfig): Promise<void> {
    this.services = { tcpListeners: [...services.tcpListeners], tcpConnectors: [...services.tcpConnectors] };
    await this.reconcile('services changed');
  }

  private schedule(why: string): void {
    if (this.stopping) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.reconcile(why), this.o.debounceMs ?? 200);
  }

  /** Re-reads the store and applies the config if it changed. Serialised. */
  reconcile(why: string): Promise<void> {
    this.applying = this.applying.then(async () => {
      if (this.stopping || !this.router) return;
      try {
        const site = await this.o.store.readSite();
        if (!site) {
          this.lastError = 'the site record is gone (the site is being deleted)';
          return;
        }
        this.site = site;
        this.links = await this.o.store.readLinks();
        for (const link of this.links) {
          const problem = linkProblem(link, site.mode);
          if (problem && !this.badLinks.has(link.name)) this.events.record('Warning', 'LinkInvalid', problem);
          if (problem) this.badLinks.add(link.name);
          else this.badLinks.delete(link.name);
        }
        this.writeLinkFiles(this.links);
        const next = buildRouterConfig(this.agentSite(site), this.links, this.services, this.tlsDir);
        const text = JSON.stringify(next);
        if (text === this.lastApplied) return;
        const before = new Set(this.config?.connectors.map((c) => c.name));
        await this.router.applyConfig(next);
        for (const c of next.connectors)
          if (!before.has(c.name))
            this.events.record('Normal', 'LinkConfigured', `link ${c.name} to ${c.host}:${c.port} (cost ${c.cost ?? 1})`);
        for (const name of before)
          if (!next.connectors.some((c) => c.name === name)) this.events.record('Normal', 'LinkRemoved', `link ${name} removed`);
        this.config = next;
        this.lastApplied = text;
        this.lastError = undefined;
        this.log('router config applied', { why });
      } catch (error) {
        this.lastError = errorMessage(error);
        this.events.record('Warning', 'ConfigError', `router config not applied (${why}): ${this.lastError}`);
      }
    });
    return this.applying;
  }

  /** Writes each link's CA, certificate and key into the private folder (keys 0600); removes old ones. */
  private writeLinkFiles(links: LinkSpec[]): void {
    const keep = new Set<string>();
    for (const link of links) {
      if (!link.caCrt || !link.tlsCrt || !link.tlsKey) continue;
      const files = linkTlsFiles(this.tlsDir, link.name);
      mkdirSync(join(files.ca, '..'), { recursive: true, mode: 0o700 });
      writeFileSync(files.ca, link.caCrt, { mode: 0o600 });
      writeFileSync(files.cert, link.tlsCrt, { mode: 0o600 });
      writeFileSync(files.key, link.tlsKey, { mode: 0o600 });
      keep.add(join(files.ca, '..'));
    }
    for (const old of this.config?.connectors ?? []) {
      const folder = join(old.tls.ca, '..');
      if (!keep.has(folder)) rmSync(folder, { recursive: true, force: true });
    }
  }

  /** undefined when ready; else why not ('' when there is nothing to say). */
  notReadyReason(): string | undefined {
    if (!this.ready) return this.lastError ?? '';
    for (const m of this.started) {
      const why = m.notReady?.();
      if (why) return `${m.name}: ${why}`;
    }
    return undefined;
  }

  status(): Record<string, unknown> {
    return {
      ready: this.notReadyReason() === undefined,
      platform: this.o.store.platform,
      site: this.site ?? null,
      links: this.links.map((l) => l.name),
      lastError: this.lastError ?? null,
      modules: this.started.map((m) => m.name),
      router: this.router?.status() ?? null,
      events: this.events.events().slice(-50),
    };
  }

  /** The site's traffic in Prometheus text (the Skupper network observer's metric names). */
  metrics(): string {
    const site = { id: this.site?.id ?? '', name: this.site?.name ?? '', namespace: this.o.namespace, platform: this.o.store.platform };
    return renderTrafficMetrics({ ...site, links: this.links.length }, this.router?.traffic?.());
  }

  /** The probes' listener (pod IP) answers /healthz and /readyz; /status only on the status listener. */
  private async serveHealth(): Promise<void> {
    const handler = (withStatus: boolean) =>
      createServer((req, res) => {
        const path = (req.url ?? '/').split('?')[0];
        const send = (code: number, body: string, type = 'text/plain') => {
          res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
          res.end(body);
        };
        if (path === '/healthz') return send(200, 'ok\n');
        if (path === '/readyz') {
          const why = this.notReadyReason();
          return why === undefined ? send(200, 'ready\n') : send(503, `not ready${why ? `: ${why}` : ''}\n`);
        }
        if (withStatus && path === '/status') return send(200, JSON.stringify(this.status(), null, 2), 'application/json');
        if (withStatus && path === '/metrics') return send(200, this.metrics(), 'text/plain; version=0.0.4');
        if (withStatus && path === '/flows') return send(200, JSON.stringify(this.router?.traffic?.() ?? null), 'application/json');
        send(404, 'not found\n');
      });
    const listen = (server: Server, at: { host: string; port: number }) =>
      new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(at.port, at.host, () => resolve());
      });
    this.server = handler(false);
    await listen(this.server, this.o.health);
    if (this.o.status) {
      this.statusServer = handler(true);
      await listen(this.statusServer, this.o.status);
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.ready = false;
    clearTimeout(this.timer);
    this.unwatch?.();
    for (const module of [...this.started].reverse()) {
      try {
        await module.stop();
      } catch (error) {
        this.log('module did not stop cleanly', { module: module.name, error: errorMessage(error) });
      }
    }
    await this.applying.catch(() => undefined);
    await this.router?.stop();
    for (const server of [this.server, this.statusServer]) {
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      server?.closeAllConnections?.();
    }
    rmSync(this.tlsDir, { recursive: true, force: true });
  }

  /** The port the health server listens on (when started with port 0). */
  healthPort(): number | undefined {
    const address = this.server?.address();
    return address && typeof address === 'object' ? address.port : undefined;
  }

  /** The port the status listener listens on (when started with port 0). */
  statusPort(): number | undefined {
    const address = this.statusServer?.address();
    return address && typeof address === 'object' ? address.port : undefined;
  }
}
