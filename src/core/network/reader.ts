// Reads the network from every kubeconfig context at once. Each context is read on its own with its own
// timeout, so a dead or slow cluster shows its error within seconds and never holds the others up.
// Watches (not polling) on the objects that make up a site drive re-reads, debounced.
import { EventEmitter } from 'node:events';
import * as k8s from '@kubernetes/client-node';
import { buildSite, LINK_LABEL, SERVICES_CONFIGMAP, SITE_CONFIGMAP, STATUS_CONFIGMAP, type KubeObject, mergeNetwork } from './model';
import type { ClusterModel, ContextRecord, NamespaceRecord, NetworkStatus, SiteRecord, WorkloadRecord } from './types';
import { readLocalSites } from './local';
import { listWorkloads as listWorkloadsFromApi } from './workloads';

export interface ReaderOptions {
  /** per-context read timeout */
  timeoutMs?: number;
  /** the namespace to use for a context (the user's choice), else the kubeconfig's, else "default" */
  namespaceFor?: (context: string) => string | undefined;
  /** KUBECONFIG-style path list; defaults to process.env.KUBECONFIG or ~/.kube/config */
  kubeconfig?: string;
  debounceMs?: number;
  log?: (line: string) => void;
  /** read local sites (default true) */
  local?: boolean;
  /** how long a namespace's workloads stay cached (default 10 s); see readWorkloads */
  workloadsTtlMs?: number;
  /** lists a namespace's workloads (default: the API server's Deployments and StatefulSets); for tests */
  listWorkloads?: (kc: k8s.KubeConfig, namespace: string) => Promise<WorkloadRecord[]>;
  /** the clock of the workloads cache (default Date.now); for tests */
  now?: () => number;
}

/** One read of a namespace's workloads, shared by every caller until it expires. */
interface WorkloadsRead {
  at: number;
  read: Promise<WorkloadRecord[]>;
}

export class TimeoutError extends Error {}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(`${what}: no answer within ${Math.round(ms / 1000)} s`)), ms);
    }),
  ]);
}

/** One line a person can act on, from whatever client-node or the network threw. */
export function describeKubeError(e: unknown, server?: string): string {
  const anyE = e as any;
  const code = anyE?.code ?? anyE?.statusCode ?? anyE?.response?.statusCode;
  const body = anyE?.body;
  let message: string | undefined;
  if (body) {
    try {
      message = (typeof body === 'string' ? JSON.parse(body) : body)?.message;
    } catch {
      message = undefined;
    }
  }
  const where = server ? ` (${server})` : '';
  const cause = anyE?.cause?.code ?? anyE?.code;
  if (cause === 'ECONNREFUSED') return `cannot reach the API server${where}: connection refused`;
  if (cause === 'ENOTFOUND' || cause === 'EAI_AGAIN') return `cannot resolve the API server's host${where}`;
  if (cause === 'ETIMEDOUT' || e instanceof TimeoutError)
    return e instanceof TimeoutError ? `${anyE.message}${where}` : `the API server${where} did not answer`;
  if (cause === 'ECONNRESET') return `the API server${where} closed the connection`;
  if (code === 401) return `not authorized: the credentials of this context were refused${where}`;
  if (code === 403) return `forbidden: ${message ?? 'the user of this context may not read this'}`;
  if (typeof code === 'number' && message) return `${message} (HTTP ${code})`;
  const text = anyE?.message ?? String(e);
  if (/ECONNREFUSED/.test(text)) return `cannot reach the API server${where}: connection refused`;
  return text.split('\n')[0];
}

const isStatus = (e: unknown, code: number) => (e as any)?.code === code || (e as any)?.statusCode === code;

/** The workloads cache key: the server too, so a kubeconfig that moves a context never gets another cluster's list. */
const workloadsKey = (context: string, namespace: string, server: string | undefined) => [context, namespace, server ?? ''].join('\0');

export interface KubeconfigInfo {
  config: k8s.KubeConfig;
  files: string[];
  error?: string;
}

export function kubeconfigFiles(kubeconfig?: string): string[] {
  const env = kubeconfig ?? process.env.KUBECONFIG;
  if (env) return env.split(process.platform === 'win32' ? ';' : ':').filter(Boolean);
  const home = process.env.HOME ?? process.env.USERPROFILE ?? '';
  return [`${home}/.kube/config`];
}

export function loadKubeconfig(kubeconfig?: string): KubeconfigInfo {
  const files = kubeconfigFiles(kubeconfig);
  const config = new k8s.KubeConfig();
  const merged = { clusters: [] as any[], users: [] as any[], contexts: [] as any[], currentContext: '' };
  const errors: string[] = [];
  for (const file of files) {
    try {
      const one = new k8s.KubeConfig();
      one.loadFromFile(file);
      // first file wins for duplicate names, like kubectl
      for (const c of one.clusters) if (!merged.clusters.some((x) => x.name === c.name)) merged.clusters.push(c);
      for (const u of one.users) if (!merged.users.some((x) => x.name === u.name)) merged.users.push(u);
      for (const c of one.contexts) if (!merged.contexts.some((x) => x.name === c.name)) merged.contexts.push(c);
      if (!merged.currentContext && one.currentContext) merged.currentContext = one.currentContext;
    } catch (e) {
      const m = (e as Error).message ?? String(e);
      errors.push(/ENOENT/.test(m) ? `${file}: no such file` : `${file}: ${m.split('\n')[0]}`);
    }
  }
  config.loadFromOptions(merged);
  const error = merged.contexts.length === 0 ? (errors.length ? errors.join('; ') : 'the kubeconfig has no contexts') : undefined;
  return { config, files, error };
}

/** A KubeConfig whose current context is `name`, without touching the user's file. */
export function configFor(base: k8s.KubeConfig, name: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({ clusters: base.clusters, users: base.users, contexts: base.contexts, currentContext: name });
  return kc;
}

async function readContext(base: k8s.KubeConfig, rec: ContextRecord, timeoutMs: number): Promise<ContextRecord> {
  const kc = configFor(base, rec.name);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const server = rec.server;
  const started = Date.now();
  const work = async (): Promise<ContextRecord> => {
    let siteNamespaces: string[] = [];
    let namespaceScoped = false;
    const siteCms = new Map<string, KubeObject>();
    try {
      const list = await core.listConfigMapForAllNamespaces({ fieldSelector: `metadata.name=${SITE_CONFIGMAP}` });
      for (const cm of list.items) {
        const ns = cm.metadata?.namespace;
        if (ns) siteCms.set(ns, cm as KubeObject);
      }
      siteNamespaces = [...siteCms.keys()];
    } catch (e) {
      if (!isStatus(e, 403)) throw e;
      namespaceScoped = true;
      try {
        const cm = await core.readNamespacedConfigMap({ name: SITE_CONFIGMAP, namespace: rec.namespace });
        siteCms.set(rec.namespace, cm as KubeObject);
        siteNamespaces = [rec.namespace];
      } catch (e2) {
        if (!isStatus(e2, 404)) throw e2;
      }
    }
    const namespaces: NamespaceRecord[] = await Promise.all(
      siteNamespaces.sort().map(async (namespace): Promise<NamespaceRecord> => {
        try {
          const site = await readSite(core, rec.name, namespace, siteCms.get(namespace)!);
          return { name: namespace, site, own: namespace === rec.namespace };
        } catch (e) {
          return { name: namespace, own: namespace === rec.namespace, error: describeKubeError(e, server) };
        }
      }),
    );
    if (!namespaces.some((n) => n.name === rec.namespace)) namespaces.unshift({ name: rec.namespace, own: true });
    return { ...rec, phase: 'ok', error: undefined, namespaceScoped, namespaces, elapsedMs: Date.now() - started };
  };
  try {
    return await withTimeout(work(), timeoutMs, 'the API server');
  } catch (e) {
    return { ...rec, phase: 'error', error: describeKubeError(e, server), namespaces: [], elapsedMs: Date.now() - started };
  }
}

const ignore404 = async <T>(p: Promise<T>): Promise<T | undefined> => {
  try {
    return await p;
  } catch (e) {
    if (isStatus(e, 404)) return undefined;
    throw e;
  }
};

async function readSite(core: k8s.CoreV1Api, context: string, namespace: string, site: KubeObject): Promise<SiteRecord> {
  const [secrets, services, status] = await Promise.all([
    core
      .listNamespacedSecret({ namespace, labelSelector: LINK_LABEL })
      .then((l) => l.items as KubeObject[])
      .catch((e) => {
        if (isStatus(e, 403)) return [] as KubeObject[];
        throw e;
      }),
    ignore404(core.readNamespacedConfigMap({ name: SERVICES_CONFIGMAP, namespace })),
    ignore404(core.readNamespacedConfigMap({ name: STATUS_CONFIGMAP, namespace })),
  ]);
  return buildSite({
    context,
    namespace,
    site,
    linkSecrets: secrets,
    services: services as KubeObject | undefined,
    status: status as KubeObject | undefined,
  });
}

export interface NetworkEvents {
  change: [ClusterModel];
}

/**
 * Holds the ClusterModel and keeps it current. `start()` reads every context; watches per context then
 * emit `change` (debounced) when a site, its links, services or published status change.
 */
export class NetworkReader extends EventEmitter<NetworkEvents> {
  private base: k8s.KubeConfig = new k8s.KubeConfig();
  private model: ClusterModel = { contexts: [], kubeconfigFiles: [], local: [] };
  private watches = new Map<string, AbortController[]>();
  private rereads = new Map<string, NodeJS.Timeout>();
  private emitTimer?: NodeJS.Timeout;
  private workloads = new Map<string, WorkloadsRead>();
  private disposed = false;
  private generation = 0;
  started = false;

  constructor(private readonly opts: ReaderOptions = {}) {
    super();
  }

  get current(): ClusterModel {
    return this.model;
  }

  get network(): NetworkStatus {
    return mergeNetwork(this.model);
  }

  setLocalSites(sites: SiteRecord[]): void {
    this.model = { ...this.model, local: sites };
    this.scheduleEmit();
  }

  /** (Re)load the kubeconfig and list its contexts, without calling any cluster. */
  loadContexts(): ClusterModel {
    const info = loadKubeconfig(this.opts.kubeconfig);
    this.base = info.config;
    const old = new Map(this.model.contexts.map((c) => [c.name, c]));
    const contexts: ContextRecord[] = info.config.contexts.map((c) => {
      const cluster = info.config.clusters.find((x) => x.name === c.cluster);
      const namespace = this.opts.namespaceFor?.(c.name) ?? c.namespace ?? 'default';
      const prev = old.get(c.name);
      const same = prev && prev.server === cluster?.server && prev.namespace === namespace && prev.user === c.user;
      return same
        ? { ...prev, current: c.name === info.config.currentContext }
        : {
            name: c.name,
            cluster: c.cluster,
            server: cluster?.server,
            user: c.user,
            namespace,
            current: c.name === info.config.currentContext,
            phase: 'idle',
            namespaces: [],
          };
    });
    for (const name of old.keys()) if (!contexts.some((c) => c.name === name)) this.stopWatches(name);
    this.model = { ...this.model, contexts, kubeconfigFiles: info.files, kubeconfigError: info.error };
    return this.model;
  }

  /** Read every context (in parallel); resolves when all have answered or timed out. */
  async start(): Promise<void> {
    this.started = true;
    if (this.model.contexts.length === 0 && !this.model.kubeconfigError) this.loadContexts();
    await this.refreshAll();
  }

  async refreshAll(): Promise<void> {
    this.refreshLocal();
    await Promise.all(this.model.contexts.map((c) => this.refreshContext(c.name)));
  }

  /** Local sites: read from their folders (cheap; the extension watches the folder). */
  refreshLocal(): void {
    if (this.opts.local === false) return;
    this.setLocalSites(readLocalSites());
  }

  async reloadKubeconfig(): Promise<void> {
    this.loadContexts();
    this.scheduleEmit();
    if (this.started) await Promise.all(this.model.contexts.filter((c) => c.phase === 'idle').map((c) => this.refreshContext(c.name)));
  }

  async refreshContext(name: string): Promise<void> {
    const rec = this.model.contexts.find((c) => c.name === name);
    if (!rec || this.disposed) return;
    const gen = this.generation;
    if (rec.phase === 'idle' || rec.phase === 'error') this.replace({ ...rec, phase: 'loading' });
    const next = await readContext(this.base, { ...rec }, this.opts.timeoutMs ?? 5000);
    if (this.disposed || gen !== this.generation) return;
    const still = this.model.contexts.find((c) => c.name === name);
    if (!still || still.server !== rec.server || still.namespace !== rec.namespace) return;
    this.replace(next);
    this.opts.log?.(`read ${name}: ${next.phase}${next.error ? ` (${next.error})` : ''} in ${next.elapsedMs} ms`);
    if (next.phase === 'ok') this.ensureWatches(next);
  }

  /** Change the namespace used for a context (kept by the caller, never written to the kubeconfig). */
  async setNamespace(context: string, namespace: string): Promise<void> {
    const rec = this.model.contexts.find((c) => c.name === context);
    if (!rec) return;
    this.stopWatches(context);
    this.replace({ ...rec, namespace, phase: 'loading', namespaces: [] });
    await this.refreshContext(context);
  }

  clientFor(context: string): k8s.KubeConfig {
    return configFor(this.base, context);
  }

  /**
   * The Deployments and StatefulSets of a namespace, through the context's own client and with the
   * per-context timeout. Rejects with one line a person can act on.
   *
   * Cached per context, API server and namespace for `workloadsTtlMs`: the Clusters tree asks again on
   * every refresh of an open Workloads folder, which is every ~2 s while a router publishes its status.
   * Concurrent callers share one read. A failed read is not kept, so the next ask tries again.
   */
  async readWorkloads(context: string, namespace: string): Promise<WorkloadRecord[]> {
    if (this.model.contexts.length === 0 && !this.model.kubeconfigError) this.loadContexts();
    const rec = this.model.contexts.find((c) => c.name === context);
    if (!rec) throw new Error(`no context ${context} in the kubeconfig`);
    const key = workloadsKey(context, namespace, rec.server);
    const now = this.opts.now?.() ?? Date.now();
    const cached = this.workloads.get(key);
    if (cached && now - cached.at < (this.opts.workloadsTtlMs ?? 10_000)) return cached.read;
    const entry: WorkloadsRead = { at: now, read: this.listWorkloads(context, namespace, rec.server) };
    this.workloads.set(key, entry);
    entry.read.catch(() => {
      // only this read's entry: an invalidation and a newer read may have replaced it meanwhile
      if (this.workloads.get(key) === entry) this.workloads.delete(key);
    });
    return entry.read;
  }

  /**
   * Forget cached workloads (of one namespace, of a context, or all), so the next read asks the API
   * server: after the person asked for a refresh, or changed a workload (expose, unexpose).
   */
  invalidateWorkloads(context?: string, namespace?: string): void {
    if (context === undefined) {
      this.workloads.clear();
      return;
    }
    for (const key of [...this.workloads.keys()]) {
      const [c, ns] = key.split('\0');
      if (c === context && (namespace === undefined || ns === namespace)) this.workloads.delete(key);
    }
  }

  private async listWorkloads(context: string, namespace: string, server: string | undefined): Promise<WorkloadRecord[]> {
    const list = this.opts.listWorkloads ?? listWorkloadsFromApi;
    try {
      return await withTimeout(list(this.clientFor(context), namespace), this.opts.timeoutMs ?? 5000, 'the API server');
    } catch (e) {
      throw new Error(describeKubeError(e, server), { cause: e });
    }
  }

  private replace(rec: ContextRecord): void {
    this.model = { ...this.model, contexts: this.model.contexts.map((c) => (c.name === rec.name ? rec : c)) };
    this.scheduleEmit();
  }

  private scheduleEmit(): void {
    if (this.emitTimer) return;
    this.emitTimer = setTimeout(() => {
      this.emitTimer = undefined;
      if (!this.disposed) this.emit('change', this.model);
    }, 50);
  }

  private scheduleReread(context: string): void {
    if (this.rereads.has(context)) return;
    this.rereads.set(
      context,
      setTimeout(() => {
        this.rereads.delete(context);
        void this.refreshContext(context);
      }, this.opts.debounceMs ?? 300),
    );
  }

  private ensureWatches(rec: ContextRecord): void {
    if (this.watches.has(rec.name) || this.disposed) return;
    const controllers: AbortController[] = [];
    this.watches.set(rec.name, controllers);
    const kc = configFor(this.base, rec.name);
    const watch = new k8s.Watch(kc);
    const scope = rec.namespaceScoped ? `/api/v1/namespaces/${rec.namespace}` : '/api/v1';
    const targets: [string, Record<string, string>][] = [
      [`${scope}/configmaps`, { fieldSelector: `metadata.name=${SITE_CONFIGMAP}` }],
      [`${scope}/configmaps`, { fieldSelector: `metadata.name=${SERVICES_CONFIGMAP}` }],
      [`${scope}/configmaps`, { fieldSelector: `metadata.name=${STATUS_CONFIGMAP}` }],
      [`${scope}/secrets`, { labelSelector: LINK_LABEL }],
    ];
    const startOne = (path: string, query: Record<string, string>, delay: number) => {
      setTimeout(() => {
        if (this.disposed || this.watches.get(rec.name) !== controllers) return;
        let opened = Date.now();
        watch
          .watch(
            path,
            { ...query, allowWatchBookmarks: 'false' },
            () => {
              // the first events replay what we just read; one debounced re-read absorbs them
              this.scheduleReread(rec.name);
            },
            (err) => {
              if (this.disposed || this.watches.get(rec.name) !== controllers) return;
              // server closes watches every few minutes: reconnect, backing off when it fails fast
              const quick = Date.now() - opened < 2000;
              if (err) this.opts.log?.(`watch ${rec.name} ${path}: ${describeKubeError(err)}`);
              startOne(path, query, err || quick ? 5000 : 0);
              if (err) this.scheduleReread(rec.name);
            },
          )
          .then((c) => {
            opened = Date.now();
            controllers.push(c);
          })
          .catch((err) => {
            this.opts.log?.(`watch ${rec.name} ${path}: ${describeKubeError(err)}`);
            if (!this.disposed && this.watches.get(rec.name) === controllers) startOne(path, query, 5000);
          });
      }, delay);
    };
    for (const [path, query] of targets) startOne(path, query, 0);
  }

  private stopWatches(context: string): void {
    const list = this.watches.get(context);
    this.watches.delete(context);
    for (const c of list ?? []) c.abort();
  }

  dispose(): void {
    this.disposed = true;
    this.generation++;
    for (const name of [...this.watches.keys()]) this.stopWatches(name);
    for (const t of this.rereads.values()) clearTimeout(t);
    if (this.emitTimer) clearTimeout(this.emitTimer);
    this.workloads.clear();
    this.removeAllListeners();
  }
}
