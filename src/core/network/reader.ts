// Reads the network from every kubeconfig context at once. Each context is read on its own, through the
// same Kubernetes access as the actions (src/core/kube: kubeconfig merge, context resolution, per-call
// timeout, error wording), so a dead or slow cluster shows its error within seconds and never holds the
// others up; the tree and an action on the same context always agree. Watches (not polling, reconnecting
// with back-off) on the objects that make up a site drive re-reads, debounced.
import { EventEmitter } from 'node:events';
import type { KubeConfig } from '@kubernetes/client-node';
import { errorMessage, UserError } from '../errors';
import { KubeClient } from '../kube/client';
import { type Kubeconfig, kubeConfigFor, kubeconfigFiles, loadKubeconfig, resolveContext } from '../kube/config';
import { type CallContext, kubeError, statusCode } from '../kube/errors';
import { type WatchHandle, watchWithReconnect } from '../kube/watch';
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
  listWorkloads?: (client: KubeClient, namespace: string) => Promise<WorkloadRecord[]>;
  /** the clock of the workloads cache (default Date.now); for tests */
  now?: () => number;
}

/** One read of a namespace's workloads, shared by every caller until it expires. */
interface WorkloadsRead {
  at: number;
  read: Promise<WorkloadRecord[]>;
}

/** The workloads cache key: the server too, so a kubeconfig that moves a context never gets another cluster's list. */
const workloadsKey = (context: string, namespace: string, server: string | undefined) => [context, namespace, server ?? ''].join('\0');

/**
 * The kubeconfig as the actions load it (src/core/kube/config.ts: kubectl's merge rules, its errors), except
 * that an explicit list is read like KUBECONFIG (a missing file is skipped): the tree shows what loads.
 */
function loadConfig(kubeconfig: string | undefined): { config?: Kubeconfig; files: string[]; error?: string } {
  const env = kubeconfig === undefined ? process.env : { ...process.env, KUBECONFIG: kubeconfig };
  try {
    const config = loadKubeconfig(undefined, env);
    return { config, files: config.files, error: config.contexts.length === 0 ? 'the kubeconfig has no contexts' : undefined };
  } catch (e) {
    return { files: kubeconfigFiles(undefined, env), error: errorMessage(e) };
  }
}

/**
 * One context's sites, through a KubeClient (per-call timeout, errors worded as for the actions). Never
 * throws: a failure is the context's (or a namespace's) error line.
 */
async function readContext(client: KubeClient, rec: ContextRecord): Promise<ContextRecord> {
  const started = Date.now();
  const failed = (e: unknown, verb: string, resource: string, namespace?: string): string =>
    kubeError(e, client.callContext(verb, resource, undefined, namespace)).message;
  let siteNamespaces: string[] = [];
  let namespaceScoped = false;
  const siteCms = new Map<string, KubeObject>();
  try {
    const list = await client.core.listConfigMapForAllNamespaces({ fieldSelector: `metadata.name=${SITE_CONFIGMAP}` });
    for (const cm of list.items) {
      const ns = cm.metadata?.namespace;
      if (ns) siteCms.set(ns, cm as KubeObject);
    }
    siteNamespaces = [...siteCms.keys()];
  } catch (e) {
    if (statusCode(e) !== 403)
      return { ...rec, phase: 'error', error: failed(e, 'list', 'configmaps'), namespaces: [], elapsedMs: Date.now() - started };
    // a namespace-only user: their own namespace is all they may read
    namespaceScoped = true;
    try {
      const cm = await client.get('ConfigMap', SITE_CONFIGMAP, rec.namespace);
      if (cm) {
        siteCms.set(rec.namespace, cm);
        siteNamespaces = [rec.namespace];
      }
    } catch (e2) {
      return { ...rec, phase: 'error', error: errorMessage(e2), namespaces: [], elapsedMs: Date.now() - started };
    }
  }
  const namespaces: NamespaceRecord[] = await Promise.all(
    siteNamespaces.sort().map(async (namespace): Promise<NamespaceRecord> => {
      try {
        const site = await readSite(client, rec.name, namespace, siteCms.get(namespace)!);
        return { name: namespace, site, own: namespace === rec.namespace };
      } catch (e) {
        return { name: namespace, own: namespace === rec.namespace, error: errorMessage(e) };
      }
    }),
  );
  if (!namespaces.some((n) => n.name === rec.namespace)) namespaces.unshift({ name: rec.namespace, own: true });
  return { ...rec, phase: 'ok', error: undefined, namespaceScoped, namespaces, elapsedMs: Date.now() - started };
}

async function readSite(client: KubeClient, context: string, namespace: string, site: KubeObject): Promise<SiteRecord> {
  const [secrets, services, status] = await Promise.all([
    client.core.listNamespacedSecret({ namespace, labelSelector: LINK_LABEL }).then(
      (l) => l.items as KubeObject[],
      (e) => {
        // a user who may read ConfigMaps but not Secrets still sees the site, without its links
        if (statusCode(e) === 403) return [] as KubeObject[];
        throw kubeError(e, client.callContext('list', 'secrets', undefined, namespace));
      },
    ),
    client.get('ConfigMap', SERVICES_CONFIGMAP, namespace),
    client.get('ConfigMap', STATUS_CONFIGMAP, namespace),
  ]);
  return buildSite({ context, namespace, site, linkSecrets: secrets, services, status });
}

export interface NetworkEvents {
  change: [ClusterModel];
}

/**
 * Holds the ClusterModel and keeps it current. `start()` reads every context; watches per context then
 * emit `change` (debounced) when a site, its links, services or published status change.
 */
export class NetworkReader extends EventEmitter<NetworkEvents> {
  private config?: Kubeconfig;
  private model: ClusterModel = { contexts: [], kubeconfigFiles: [], local: [] };
  private watches = new Map<string, WatchHandle[]>();
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
    const info = loadConfig(this.opts.kubeconfig);
    this.config = info.config;
    const current = info.config?.currentContext;
    const old = new Map(this.model.contexts.map((c) => [c.name, c]));
    const contexts: ContextRecord[] = (info.config?.contexts ?? []).map((c) => {
      const namespace = this.opts.namespaceFor?.(c.name) ?? c.namespace;
      const server = c.server || undefined;
      const prev = old.get(c.name);
      const same = prev && prev.server === server && prev.namespace === namespace && prev.user === c.user;
      return same
        ? { ...prev, current: c.name === current }
        : { name: c.name, cluster: c.cluster, server, user: c.user, namespace, current: c.name === current, phase: 'idle', namespaces: [] };
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
    const next = await this.read(rec);
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

  /**
   * The client the actions would make for this context (src/core/kube: same kubeconfig merge, same
   * resolution, same error wording), with the reader's namespace and per-call timeout.
   */
  clientFor(context: string): KubeClient {
    if (!this.config) throw new UserError(this.model.kubeconfigError ?? 'no kubeconfig loaded');
    const rec = this.model.contexts.find((c) => c.name === context);
    const info = resolveContext(this.config, context);
    return new KubeClient(kubeConfigFor(this.config, info), info.name, info.server, rec?.namespace ?? info.namespace, this.timeoutMs);
  }

  private get timeoutMs(): number {
    return this.opts.timeoutMs ?? 5000;
  }

  private async read(rec: ContextRecord): Promise<ContextRecord> {
    const started = Date.now();
    let client: KubeClient;
    try {
      client = this.clientFor(rec.name);
    } catch (e) {
      return { ...rec, phase: 'error', error: errorMessage(e), namespaces: [], elapsedMs: Date.now() - started };
    }
    return readContext(client, { ...rec });
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
    const entry: WorkloadsRead = { at: now, read: this.listWorkloads(context, namespace) };
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

  private async listWorkloads(context: string, namespace: string): Promise<WorkloadRecord[]> {
    const list = this.opts.listWorkloads ?? listWorkloadsFromApi;
    const client = this.clientFor(context);
    try {
      return await list(client, namespace);
    } catch (e) {
      throw kubeError(e, client.callContext('list', 'deployments', undefined, namespace));
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
    let kc: KubeConfig;
    try {
      kc = this.clientFor(rec.name).kc;
    } catch {
      return;
    }
    const scope = rec.namespaceScoped ? `/api/v1/namespaces/${rec.namespace}` : '/api/v1';
    const targets: [string, Record<string, string>][] = [
      [`${scope}/configmaps`, { fieldSelector: `metadata.name=${SITE_CONFIGMAP}` }],
      [`${scope}/configmaps`, { fieldSelector: `metadata.name=${SERVICES_CONFIGMAP}` }],
      [`${scope}/configmaps`, { fieldSelector: `metadata.name=${STATUS_CONFIGMAP}` }],
      [`${scope}/secrets`, { labelSelector: LINK_LABEL }],
    ];
    // Each event, and each (re)connect (the server ends watches every few minutes; a reconnect may have
    // missed changes), schedules one debounced re-read: the first events replay what was just read.
    const reread = () => this.scheduleReread(rec.name);
    this.watches.set(
      rec.name,
      targets.map(([path, query]) =>
        watchWithReconnect(kc, path, {
          query: { ...query, allowWatchBookmarks: false },
          onEvent: reread,
          onConnect: reread,
          onError: (err) => this.opts.log?.(`watch ${rec.name} ${path}: ${errorMessage(kubeError(err, this.watchContext(rec, path)))}`),
          minBackoffMs: 1000,
          maxBackoffMs: 30_000,
        }),
      ),
    );
  }

  private watchContext(rec: ContextRecord, path: string): CallContext {
    return {
      verb: 'watch',
      resource: path.split('/').pop() ?? path,
      cluster: rec.name,
      server: rec.server ?? '',
      timeoutMs: this.timeoutMs,
    };
  }

  private stopWatches(context: string): void {
    const list = this.watches.get(context);
    this.watches.delete(context);
    for (const w of list ?? []) w.stop();
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
