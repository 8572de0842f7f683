// The services module of the site agent: keeps the router's tcp listeners and connectors, and the
// site's Kubernetes Services, in line with the local service definitions (skupper-services), the
// target pods, and the services other sites announce (service sync). Decisions are the pure
// functions of servicesReconcile.ts and serviceSync.ts; this file reads the API, applies, and times.
import { type PublishedTraffic, publishTraffic } from '../network/traffic';
import { EventEmitter } from 'node:events';
import { errorMessage } from '../errors';
import type { RouterApi, RouterStatus } from '../router/api';
import { statusCode } from '../kube/errors';
import { siteOwner } from '../site/build';
import { SITE_CONFIGMAP } from '../site/names';
import { type ServiceDefinition, SERVICES_CONFIGMAP, parseServicesData } from '../service/definition';
import { PROXY_ANNOTATION } from '../service/annotations';
import {
  ADDRESS_LABEL,
  type DesiredService,
  type ExistingService,
  type PodInfo,
  type TcpEndpoint,
  allocatePorts,
  desiredConnectors,
  desiredListeners,
  desiredServices,
  type ForwardSpec,
  forwardListeners,
  isOurs,
  mergeDefinitions,
  planServiceChanges,
  portKey,
} from './servicesReconcile';
import {
  ANNOUNCE_INTERVAL_MS,
  type AnnouncedCounters,
  type AnnouncedLink,
  type Announcement,
  type Platform,
  RefusalThrottle,
  RemoteSites,
  SERVICE_SYNC_ADDRESS,
  checkAnnouncement,
  type SyncChange,
  expiryFor,
  isEmptyChange,
} from './serviceSync';

/** The slice of the Kubernetes API the module uses (KubeClient has it). */
export interface KubeLike {
  core: {
    readNamespacedConfigMap(p: {
      name: string;
      namespace: string;
    }): Promise<{ data?: Record<string, string>; metadata?: { uid?: string } }>;
    listNamespacedPod(p: { namespace: string; labelSelector?: string }): Promise<{ items: any[] }>;
    listNamespacedService(p: { namespace: string; labelSelector?: string }): Promise<{ items: any[] }>;
    createNamespacedService(p: { namespace: string; body: any }): Promise<unknown>;
    replaceNamespacedService(p: { name: string; namespace: string; body: any }): Promise<unknown>;
    readNamespacedService(p: { name: string; namespace: string }): Promise<any>;
    deleteNamespacedService(p: { name: string; namespace: string }): Promise<unknown>;
  };
  apps?: {
    readNamespacedDeployment(p: { name: string; namespace: string }): Promise<{ metadata?: unknown }>;
  };
}

export interface EventSink {
  record(type: 'Normal' | 'Warning', reason: string, message: string): void;
}

export interface ServicesModuleOptions {
  /** Absent on a local site: no local definitions, no Kubernetes Services; it still learns the network's services. */
  kube?: KubeLike;
  namespace: string;
  siteId: string;
  siteName: string;
  platform?: Platform;
  /** Listeners bind here: the pod IP (pods share the host's loopback in the test control plane). */
  listenHost?: string;
  router: RouterApi;
  events?: EventSink;
  /** Gives the router its tcp listeners and connectors (the agent folds them into the router config). */
  applyServices(services: { tcpListeners: TcpEndpoint[]; tcpConnectors: TcpEndpoint[] }): Promise<void> | void;
  /** Ports the router itself uses (inter-router, edge, claims, health): never given to a service. */
  reservedPorts?: number[];
  /** The site ConfigMap's uid, owner of the Services made here; read from the API when absent. */
  siteUid?: string;
  announceIntervalMs?: number;
  /** How often the API is read for definition and pod changes. */
  pollIntervalMs?: number;
  /** Skip Kubernetes Services (local sites). */
  manageServices?: boolean;
  /** How long after start `notReady` may hold the router back at most (default 10 s). */
  readyGraceMs?: number;
  /** A laptop site's own services and forwards (its folder's services.json and forwards.json). */
  readLocal?: () => Promise<{
    definitions: ServiceDefinition[];
    forwards: ForwardSpec[];
    errors: { file: string; key: string; reason: string }[];
  }>;
  now?: () => number;
}

const READY_GRACE_MS = 10_000;
const ROUTER_DEPLOYMENT = 'skupper-router';

function podInfo(pod: any): PodInfo {
  const ready = (pod.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');
  return {
    name: pod.metadata?.name ?? '',
    ip: pod.status?.podIP || undefined,
    ready: ready && pod.status?.phase === 'Running',
    labels: pod.metadata?.labels ?? {},
    terminating: Boolean(pod.metadata?.deletionTimestamp),
  };
}

function existingService(svc: any): ExistingService {
  return {
    name: svc.metadata?.name ?? '',
    labels: svc.metadata?.labels,
    annotations: svc.metadata?.annotations,
    selector: svc.spec?.selector,
    ports: (svc.spec?.ports ?? []).map((p: any) => ({ name: p.name, port: p.port, targetPort: p.targetPort, protocol: p.protocol })),
  };
}

/** The services module: `start()` / `stop()`, like every agent module. */
export class ServicesModule extends EventEmitter {
  readonly remote: RemoteSites;
  private local: ServiceDefinition[] = [];
  private localSignature = '';
  private pods: PodInfo[] = [];
  private ports = new Map<string, number>();
  private applied = '';
  private knownAddresses = new Set<string>();
  /** Every address this process has had in the network: the only Services it removes while young. */
  private everSeen = new Set<string>();
  private startedAt = 0;
  private conflicts = new Set<string>();
  private badKeys = new Set<string>();
  private timers: NodeJS.Timeout[] = [];
  private unsubscribe?: () => void;
  private running = false;
  private pending = false;
  private reconciling?: Promise<void>;
  private stopped = false;
  private siteUid?: string;
  private lastError = '';
  private readyOnce = false;
  private readonly refusals = new RefusalThrottle();

  constructor(private readonly o: ServicesModuleOptions) {
    super();
    this.remote = new RemoteSites(o.siteId);
    this.siteUid = o.siteUid;
  }

  private now(): number {
    return this.o.now ? this.o.now() : Date.now();
  }

  private readonly onRoutes = () => this.announceSoon();
  private soon: NodeJS.Timeout[] = [];

  /**
   * Announces shortly (debounced), and once more a little later: after a link comes up the other
   * side's multicast subscription reaches us with its routing update, so the first copy may find
   * nobody to go to.
   */
  announceSoon(): void {
    if (this.stopped || this.soon.length) return;
    const first = setTimeout(() => this.announce(), 250);
    const second = setTimeout(() => {
      this.announce();
      this.soon = [];
    }, 1500);
    first.unref?.();
    second.unref?.();
    this.soon = [first, second];
  }

  async start(): Promise<void> {
    this.startedAt = this.now();
    this.unsubscribe = this.o.router.subscribe(SERVICE_SYNC_ADDRESS, (body, from) => this.onAnnouncement(body, from));
    this.o.router.events.on('routes', this.onRoutes);
    const interval = this.o.announceIntervalMs ?? ANNOUNCE_INTERVAL_MS;
    const poll = this.o.pollIntervalMs ?? 1000;
    this.timers.push(setInterval(() => this.tick(), interval));
    this.timers.push(setInterval(() => this.trigger(), poll));
    for (const t of this.timers) t.unref?.();
    await this.reconcile();
    this.announce();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.o.router.events.off('routes', this.onRoutes);
    for (const t of this.soon) clearTimeout(t);
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    // Say bye (other sites forget us at once) only when the site is going away: a router pod that
    // merely restarts stays known for the expiry time, so Services elsewhere do not blink.
    if (await this.siteGone()) {
      try {
        this.o.router.publish(SERVICE_SYNC_ADDRESS, JSON.stringify({ ...this.announcement(), services: [], bye: true }));
      } catch {
        // The router may already be gone.
      }
    }
    this.unsubscribe?.();
    await this.reconciling?.catch(() => undefined);
  }

  /**
   * True when the site is going away (or for a local site): `van delete` removes the router
   * Deployment, then the rest, then the site ConfigMap, so while the router pod stops its Deployment
   * is gone (or being deleted), or the site ConfigMap is, or our Role is (403). A pod that merely
   * restarts finds both in place.
   */
  private async siteGone(): Promise<boolean> {
    const kube = this.o.kube;
    if (!kube) return true;
    const goneOrDeleting = (read: Promise<{ metadata?: unknown }>) =>
      read.then(
        (obj) => Boolean((obj.metadata as { deletionTimestamp?: unknown } | undefined)?.deletionTimestamp),
        (error) => [401, 403, 404].includes(statusCode(error) ?? 0),
      );
    const checks = [goneOrDeleting(kube.core.readNamespacedConfigMap({ name: SITE_CONFIGMAP, namespace: this.o.namespace }))];
    if (kube.apps)
      checks.push(goneOrDeleting(kube.apps.readNamespacedDeployment({ name: ROUTER_DEPLOYMENT, namespace: this.o.namespace })));
    const answer = Promise.all(checks).then((r) => r.some(Boolean));
    const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 1500).unref?.());
    return Promise.race([answer, timeout]);
  }

  /**
   * Why this router should not take traffic yet, or undefined: a link of its own still coming up for the
   * first time, or a site it reaches whose services it has not heard (its listeners and Services would
   * miss them: a new replica would refuse connections for a moment). Never longer than `readyGraceMs`
   * after start, so a silent or unreachable site cannot hold the router back; and only until the first
   * time it is ready: a link added later must not take a serving router (and its claims port) away.
   */
  notReady(): string | undefined {
    const why = this.readyOnce ? undefined : this.whyNotReady();
    if (why === undefined) this.readyOnce = true;
    return why;
  }

  private whyNotReady(): string | undefined {
    if (this.stopped || this.now() - this.startedAt > (this.o.readyGraceMs ?? READY_GRACE_MS)) return undefined;
    let st: RouterStatus;
    try {
      st = this.o.router.status();
    } catch {
      return undefined;
    }
    const coming = st.connections.filter(
      (c) => c.direction === 'outgoing' && (c.role === 'inter-router' || c.role === 'edge') && c.state === 'connecting' && !c.lastError,
    );
    if (coming.length) return `link ${coming.map((c) => c.name ?? c.remoteSiteName ?? '?').join(', ')} is coming up`;
    const heard = new Set(this.remote.announcements().map((a) => a.site.id));
    const unheard = [...new Set(st.routers.map((r) => r.siteId).filter((id) => id && id !== this.o.siteId && !heard.has(id)))];
    if (unheard.length) return `waiting for the services of ${unheard.length} site(s) it reaches`;
    return undefined;
  }

  /** Local definitions as last read. */
  localDefinitions(): ServiceDefinition[] {
    return this.local;
  }

  private tick(): void {
    const change = this.remote.expire(this.now());
    if (!isEmptyChange(change)) this.onSyncChange(change);
    this.announce();
  }

  private onAnnouncement(body: unknown, fromRouterId: string): void {
    const a = checkAnnouncement(body, fromRouterId, (id) => this.siteOfRouter(id));
    if (typeof a === 'string') {
      // One line per refused announcement and sender a minute; the announcement is dropped.
      if (this.refusals.shouldReport(fromRouterId, this.now()))
        this.o.events?.record('Warning', 'AnnouncementRefused', `service announcement dropped: ${a}`);
      return;
    }
    if (a.site.id === this.o.siteId) return;
    const change = this.remote.receive(a, this.now());
    if (!isEmptyChange(change)) this.onSyncChange(change);
    this.emit('announcement', a);
  }

  /** The site of a router, as our router's link state says (our own router is ours). */
  private siteOfRouter(routerId: string): string | undefined {
    try {
      const st = this.o.router.status();
      if (routerId === st.id) return this.o.siteId;
      return st.routers.find((r) => r.id === routerId)?.siteId;
    } catch {
      return undefined;
    }
  }

  private onSyncChange(change: SyncChange): void {
    for (const s of change.sitesJoined)
      this.o.events?.record('Normal', 'SiteJoined', `site ${s.name} (${s.id}) is announcing its services`);
    // A site we did not know: tell it about us now rather than at the next tick.
    if (change.sitesJoined.length) this.announceSoon();
    for (const s of change.sitesLeft)
      this.o.events?.record('Normal', 'SiteLeft', `site ${s.name} (${s.id}) went silent or stopped: its services are forgotten`);
    this.trigger();
    this.emit('changed');
  }

  /** Asks for a reconcile; runs at most one at a time, and once more if asked meanwhile. */
  trigger(): void {
    if (!this.stopped) void this.reconcile();
  }

  /** Reconciles now, or (when one is running) once more right after it; resolves when done. */
  reconcile(): Promise<void> {
    if (this.running && this.reconciling) {
      this.pending = true;
      return this.reconciling;
    }
    this.running = true;
    this.reconciling = (async () => {
      try {
        do {
          this.pending = false;
          await this.reconcileOnce();
        } while (this.pending && !this.stopped);
      } finally {
        this.running = false;
      }
    })();
    return this.reconciling;
  }

  private async reconcileOnce(): Promise<void> {
    const { kube, namespace } = this.o;
    try {
      if (!kube) return await this.reconcileLaptop();
      const cm = await kube.core.readNamespacedConfigMap({ name: SERVICES_CONFIGMAP, namespace }).catch((e) => {
        if (statusCode(e) === 404) return { data: {} };
        throw e;
      });
      const parsed = parseServicesData(cm.data ?? {});
      for (const bad of parsed.errors) {
        if (this.badKeys.has(bad.key)) continue;
        this.badKeys.add(bad.key);
        this.o.events?.record('Warning', 'ServiceDefinitionInvalid', `${SERVICES_CONFIGMAP} key ${bad.key}: ${bad.reason}`);
      }
      this.local = parsed.definitions;
      const signature = JSON.stringify(this.local);
      const localChanged = signature !== this.localSignature;
      this.localSignature = signature;

      const selectors = [...new Set(this.local.flatMap((d) => d.targets.map((t) => t.selector).filter((s): s is string => Boolean(s))))];
      const pods: PodInfo[] = [];
      for (const selector of selectors) {
        const list = await kube.core.listNamespacedPod({ namespace, labelSelector: selector });
        for (const p of list.items) if (!pods.some((x) => x.name === p.metadata?.name)) pods.push(podInfo(p));
      }
      this.pods = pods;

      const merged = mergeDefinitions(this.local, this.remote.services());
      this.ports = allocatePorts(merged, this.ports, this.o.reservedPorts ?? []);
      const tcpConnectors = desiredConnectors(this.local, pods);
      const tcpListeners = desiredListeners(merged, this.ports, this.o.listenHost ?? '0.0.0.0');
      const key = JSON.stringify([tcpListeners, tcpConnectors]);
      if (key !== this.applied) {
        await this.o.applyServices({ tcpListeners, tcpConnectors });
        this.applied = key;
      }
      this.reportServiceChanges(merged);
      if (this.o.manageServices !== false) await this.syncKubeServices(merged);
      if (localChanged) this.announce();
      this.lastError = '';
      this.emit('reconciled', { local: this.local, merged, tcpListeners, tcpConnectors });
    } catch (error) {
      const message = errorMessage(error).split('\n')[0];
      if (message !== this.lastError) this.o.events?.record('Warning', 'ServiceSyncError', `reconciling services failed: ${message}`);
      this.lastError = message;
    }
  }

  /**
   * A site without Kubernetes (a laptop): its own services have host targets (connectors straight to
   * them), and it listens only where the person forwards a network service (never on every service's port).
   */
  private async reconcileLaptop(): Promise<void> {
    const read = this.o.readLocal ? await this.o.readLocal() : { definitions: [], forwards: [], errors: [] };
    for (const bad of read.errors) {
      const key = `${bad.file}/${bad.key}`;
      if (this.badKeys.has(key)) continue;
      this.badKeys.add(key);
      this.o.events?.record('Warning', 'ServiceDefinitionInvalid', `${bad.file} ${bad.key === '*' ? '' : `key ${bad.key}`}: ${bad.reason}`);
    }
    this.local = read.definitions;
    const signature = JSON.stringify(this.local);
    const localChanged = signature !== this.localSignature;
    this.localSignature = signature;
    const merged = mergeDefinitions(this.local, this.remote.services());
    const tcpConnectors = desiredConnectors(this.local, []);
    const tcpListeners = forwardListeners(read.forwards, merged);
    const key = JSON.stringify([tcpListeners, tcpConnectors]);
    if (key !== this.applied) {
      await this.o.applyServices({ tcpListeners, tcpConnectors });
      this.applied = key;
    }
    this.reportServiceChanges(merged);
    if (localChanged) this.announce();
    this.lastError = '';
    this.emit('reconciled', { local: this.local, merged, tcpListeners, tcpConnectors });
  }

  private reportServiceChanges(merged: ServiceDefinition[]): void {
    const now = new Set(merged.map((d) => d.address));
    for (const a of now) this.everSeen.add(a);
    for (const def of merged) {
      if (this.knownAddresses.has(def.address)) continue;
      const where = def.origin && def.origin !== this.o.siteId ? `from site ${this.siteName(def.origin)}` : 'exposed here';
      this.o.events?.record('Normal', 'ServiceAdded', `service ${def.address} (${def.protocol} ${def.ports.join(',')}) ${where}`);
    }
    for (const address of this.knownAddresses) {
      if (!now.has(address)) {
        this.o.events?.record('Normal', 'ServiceRemoved', `service ${address} is no longer in the network`);
      }
    }
    this.knownAddresses = now;
  }

  private siteName(id: string): string {
    return this.remote.announcements().find((a) => a.site.id === id)?.site.name ?? id;
  }

  private async ownerUid(): Promise<string | undefined> {
    if (this.siteUid || !this.o.kube) return this.siteUid;
    try {
      const cm = await this.o.kube.core.readNamespacedConfigMap({ name: SITE_CONFIGMAP, namespace: this.o.namespace });
      this.siteUid = cm.metadata?.uid;
    } catch {
      // No owner: Services are still made, and removed by the agent when unneeded.
    }
    return this.siteUid;
  }

  private serviceBody(d: DesiredService, uid: string | undefined, existing?: any): any {
    return {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        ...(existing?.metadata ?? {}),
        name: d.name,
        namespace: this.o.namespace,
        labels: { ...(existing?.metadata?.labels ?? {}), ...d.labels },
        annotations: { ...(existing?.metadata?.annotations ?? {}), ...d.annotations },
        ...(uid ? { ownerReferences: [siteOwner(uid)] } : {}),
      },
      spec: { ...(existing?.spec ?? {}), type: existing?.spec?.type ?? 'ClusterIP', selector: d.selector, ports: d.ports },
    };
  }

  private async syncKubeServices(merged: ServiceDefinition[]): Promise<void> {
    const { namespace } = this.o;
    const kube = this.o.kube!;
    const list = await kube.core.listNamespacedService({ namespace });
    const existing = list.items.map(existingService);
    const changes = planServiceChanges(desiredServices(merged, this.ports), existing);
    const uid = await this.ownerUid();
    // An annotated Service (skupper.io/proxy) is the local end of its own address: no conflict to report.
    const annotated = new Set(existing.filter((s) => s.annotations?.[PROXY_ANNOTATION] !== undefined).map((s) => s.name));
    for (const c of changes.conflicts) {
      if (this.conflicts.has(c.name) || annotated.has(c.name)) continue;
      this.conflicts.add(c.name);
      this.o.events?.record('Warning', 'ServiceConflict', c.reason);
    }
    for (const name of [...this.conflicts]) if (!changes.conflicts.some((c) => c.name === name)) this.conflicts.delete(name);
    for (const d of changes.create) {
      try {
        await kube.core.createNamespacedService({ namespace, body: this.serviceBody(d, uid) });
      } catch (error) {
        if (statusCode(error) !== 409) throw error; // another router replica made it
      }
    }
    for (const d of changes.update) {
      const current = await kube.core.readNamespacedService({ name: d.name, namespace });
      if (!isOurs(existingService(current))) continue;
      await kube.core.replaceNamespacedService({ name: d.name, namespace, body: this.serviceBody(d, uid, current) }).catch((error) => {
        if (statusCode(error) !== 409) throw error;
        this.pending = true;
      });
    }
    // A freshly started agent (a restarted or additional router replica) has not heard the other
    // sites yet: it removes no Service it has not seen go away until a full expiry window has passed,
    // so Services elsewhere-exposed do not blink (and change their ClusterIP) on a restart.
    const young = this.now() - this.startedAt < expiryFor(this.o.announceIntervalMs ?? ANNOUNCE_INTERVAL_MS);
    for (const name of changes.delete) {
      if (young && !this.everSeen.has(name)) continue;
      await kube.core.deleteNamespacedService({ name, namespace }).catch((error) => {
        if (statusCode(error) !== 404) throw error;
      });
    }
    // Keep the port of a Service that survives a restart of the agent.
    for (const s of existing) {
      if (!isOurs(s)) continue;
      for (const p of s.ports ?? []) {
        const key = portKey(s.labels?.[ADDRESS_LABEL] ?? s.name, p.port);
        if (!this.ports.has(key) && typeof p.targetPort === 'number') this.ports.set(key, p.targetPort);
      }
    }
  }

  /** Seeds port choices from the Services of a previous run, so their target ports do not move. */
  async loadPreviousPorts(): Promise<void> {
    if (!this.o.kube) return;
    try {
      const list = await this.o.kube.core.listNamespacedService({ namespace: this.o.namespace, labelSelector: ADDRESS_LABEL });
      for (const svc of list.items.map(existingService)) {
        if (!isOurs(svc)) continue;
        for (const p of svc.ports ?? [])
          if (typeof p.targetPort === 'number') this.ports.set(portKey(svc.labels![ADDRESS_LABEL], p.port), p.targetPort);
      }
    } catch {
      // Best effort.
    }
  }

  /** This site's announcement: who it is, its routers and links, its services, its counters. */
  announcement(): Announcement {
    let links: AnnouncedLink[] = [];
    let routers: Announcement['routers'];
    const counters: AnnouncedCounters = {};
    let traffic: PublishedTraffic | undefined;
    try {
      const st = this.o.router.status();
      routers = [{ id: st.id, mode: st.mode }];
      links = st.connections
        .filter((c) => c.direction === 'outgoing' && (c.role === 'inter-router' || c.role === 'edge'))
        .map((c) => ({
          name: c.name ?? `${c.remoteSiteName ?? 'link'}`,
          ...(c.remoteSiteId ? { toSiteId: c.remoteSiteId } : {}),
          ...(c.remoteSiteName ? { toSiteName: c.remoteSiteName } : {}),
          state: c.state === 'up' ? 'up' : c.state === 'connecting' ? 'connecting' : 'down',
          since: c.since,
          cost: c.cost,
          ...(c.lastError ? { error: c.lastError } : {}),
        }));
      for (const l of st.tcpListeners) {
        const c = (counters[l.address] ??= { flows: 0, bytes: 0 });
        c.flows += l.flowsTotal;
        c.bytes += l.bytesIn + l.bytesOut;
        if (l.flowsTotal > 0) c.consumed = true;
      }
      if (this.o.router.traffic) traffic = publishTraffic(this.o.router.traffic());
    } catch {
      // A router that cannot report yet still announces its services.
    }
    return {
      kind: 'service-sync',
      version: 1,
      site: { id: this.o.siteId, name: this.o.siteName, namespace: this.o.namespace, platform: this.o.platform ?? 'kubernetes' },
      routers,
      links,
      services: this.local,
      counters,
      ...(traffic ? { traffic } : {}),
      intervalMs: this.o.announceIntervalMs ?? ANNOUNCE_INTERVAL_MS,
      sentAt: new Date(this.now()).toISOString(),
    };
  }

  announce(): void {
    if (this.stopped) return;
    try {
      this.o.router.publish(SERVICE_SYNC_ADDRESS, JSON.stringify(this.announcement()));
    } catch (error) {
      const message = `announcing services failed: ${errorMessage(error)}`;
      if (message !== this.lastError) this.o.events?.record('Warning', 'ServiceSyncError', message);
      this.lastError = message;
    }
  }
}
