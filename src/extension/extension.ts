// Activation is cheap: no cluster call until one of our views (or a command) needs the network.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { NetworkReader } from '../core/network/reader';
import { localSitesHome } from '../core/network/local';
import { allSites, mergeNetwork } from '../core/network/model';
import { mergeTrafficOf } from '../core/network/traffic';
import { TrafficHistory } from '../views/model/traffic';
import { trafficEdges } from '../views/model/trafficTopology';
import type { TrafficSelection } from '../views/model/trafficPanelHtml';
import { TrafficPanel } from '../views/trafficPanel';
import type { NetworkStatus } from '../core/network/types';
import { clusterRoots, findNode } from '../views/model/clusters';
import { linkRoots, serviceRoots } from '../views/model/network';
import type { NodeDesc } from '../views/model/nodes';
import { NetworkStatusBar } from '../views/statusBar';
import { TOPOLOGY_VIEW_TYPE, TopologyPanel } from '../views/topology';
import { NodeTreeProvider } from '../views/tree';
import { workloadNodes } from '../views/model/workloads';
import { registerCommands } from './commands/index';
import type { Ext } from './commands/shared';
import { initLog, log } from './log';
import { workloadAtCursor } from './yaml';
import { loadV2Folder, v2ResourcesIn } from './v2';

const NAMESPACES_KEY = 'skupper.namespaces';

class Extension implements Ext, vscode.Disposable {
  readonly reader: NetworkReader;
  private net: NetworkStatus = { updated: '', sites: [], links: [], services: [] };
  private startPromise?: Promise<void>;
  readonly clusters: NodeTreeProvider;
  readonly links: NodeTreeProvider;
  readonly services: NodeTreeProvider;
  readonly clustersView: vscode.TreeView<NodeDesc>;
  private readonly statusBar = new NetworkStatusBar();
  private readonly topology: TopologyPanel;
  /** Rates and sparklines from successive publications of the sites' traffic counters. */
  private readonly traffic = new TrafficHistory();
  private readonly trafficPanel: TrafficPanel;
  private kubeWatchers: fs.FSWatcher[] = [];
  private kubeTimer?: NodeJS.Timeout;
  readonly activatedAt = Date.now();
  firstFullRenderMs?: number;

  constructor(readonly context: vscode.ExtensionContext) {
    const namespaces = () => context.globalState.get<Record<string, string>>(NAMESPACES_KEY, {});
    this.reader = new NetworkReader({
      timeoutMs: vscode.workspace.getConfiguration('skupper').get<number>('contextTimeoutSeconds', 5) * 1000,
      namespaceFor: (c) => namespaces()[c],
      log: (l) => log.info(l),
    });
    this.clusters = new NodeTreeProvider(
      () => clusterRoots(this.reader.current, this.net),
      (n) => this.loadLazy(n),
    );
    this.links = new NodeTreeProvider(() => linkRoots(this.net));
    this.services = new NodeTreeProvider(() => serviceRoots(this.net, (address, ports) => this.traffic.service(address, ports)));
    this.clustersView = vscode.window.createTreeView('skupper.clusters', {
      treeDataProvider: this.clusters,
      showCollapseAll: true,
      canSelectMany: true,
    });
    const linksView = vscode.window.createTreeView('skupper.links', { treeDataProvider: this.links });
    const servicesView = vscode.window.createTreeView('skupper.services', { treeDataProvider: this.services, showCollapseAll: true });
    this.topology = new TopologyPanel(context.extensionUri, {
      network: () => this.net,
      onSelect: (kind, id) => void this.revealFromTopology(kind, id),
      log: (l) => log.info(l),
      traffic: (filter) => ({ edges: trafficEdges(this.net, this.traffic, filter), services: this.net.services.map((s) => s.address) }),
      openTraffic: (sel) => this.showTraffic(sel),
    });
    this.trafficPanel = new TrafficPanel(context.extensionUri, { network: () => this.net, history: this.traffic });
    for (const v of [this.clustersView, linksView, servicesView]) {
      context.subscriptions.push(
        v,
        v.onDidChangeVisibility((e) => e.visible && void this.ensureStarted()),
      );
      if (v.visible) void this.ensureStarted();
    }
    this.reader.on('change', () => this.render());
    this.reader.loadContexts();
    this.render();
    this.watchKubeconfig();
    this.watchLocalSites();
    context.subscriptions.push(
      this.clusters,
      this.links,
      this.services,
      this.statusBar,
      this.topology,
      this.trafficPanel,
      ...registerCommands(this),
      vscode.window.registerWebviewPanelSerializer(TOPOLOGY_VIEW_TYPE, {
        deserializeWebviewPanel: async (panel) => {
          this.topology.restore(panel);
          void this.ensureStarted();
        },
      }),
      vscode.commands.registerCommand('skupper.internal.state', () => ({
        activatedAt: this.activatedAt,
        firstFullRenderMs: this.firstFullRenderMs,
        topologyRenderMs: this.topology.lastRenderMs,
        contexts: this.reader.current.contexts.map((c) => ({ name: c.name, phase: c.phase, error: c.error, elapsedMs: c.elapsedMs })),
        network: this.net,
      })),
    );
  }

  ensureStarted(): Promise<void> {
    this.startPromise ??= (async () => {
      const t0 = Date.now();
      await this.reader.start();
      this.firstFullRenderMs = Date.now() - t0;
      log.info(`read ${this.reader.current.contexts.length} contexts in ${this.firstFullRenderMs} ms`);
      this.render();
    })();
    return this.startPromise;
  }

  /** Laptop sites are cheap to read; their folder may have just been made (first laptop site): watch it. */
  refreshLocal(): void {
    this.watchLocalSites();
    this.reader.refreshLocal();
  }

  async refresh(context?: string): Promise<void> {
    this.refreshLocal();
    if (context) await this.reader.refreshContext(context);
    else await this.reader.refreshAll();
    // an explicit refresh, or the end of an action: open Workloads folders read the API again
    this.reader.invalidateWorkloads(context);
    this.render(true);
  }

  /** Draws the views from the reader's model; `force` re-reads open lazy folders even when nothing changed. */
  private render(force = false): void {
    const model = this.reader.current;
    this.net = mergeNetwork(model);
    this.traffic.update(mergeTrafficOf(allSites(model).map((s) => s.network)), this.net.services);
    void vscode.commands.executeCommand('setContext', 'skupper.noKubeconfig', !!model.kubeconfigError && model.contexts.length === 0);
    void vscode.commands.executeCommand('setContext', 'skupper.noSites', this.reader.started && this.net.sites.length === 0);
    void vscode.commands.executeCommand('setContext', 'skupper.hasLocalSites', model.local.length > 0);
    this.clusters.refresh(force);
    this.links.refresh(force);
    this.services.refresh(force);
    const loading = model.contexts.some((c) => c.phase === 'loading' || c.phase === 'idle');
    this.statusBar.update(this.net, loading && this.reader.started);
    this.topology.update();
    this.trafficPanel.update();
  }

  /** The traffic panel of a service (picked when not given) or of a site pair. */
  async showTraffic(sel?: TrafficSelection | string): Promise<void> {
    await this.ensureStarted();
    let pick = typeof sel === 'string' ? ({ kind: 'service', address: sel } as const) : sel;
    if (!pick) {
      const address = await vscode.window.showQuickPick(
        this.net.services.map((s) => s.address),
        { placeHolder: 'Which service? (its traffic, last flows, and why it may be slow or failing)' },
      );
      if (!address) return;
      pick = { kind: 'service', address };
    }
    this.trafficPanel.show(pick);
  }

  /** Children of a lazy node: a site's Workloads folder reads its namespace's Deployments/StatefulSets. */
  private async loadLazy(n: NodeDesc): Promise<NodeDesc[]> {
    const { context, namespace } = n.ref;
    if (n.lazy === 'v2' && context && namespace) return loadV2Folder(n, { context, namespace });
    if (n.lazy !== 'workloads' || !context || !namespace) return [];
    const site = () => this.reader.current.contexts.find((c) => c.name === context)?.namespaces.find((x) => x.name === namespace)?.site;
    try {
      const workloads = await this.reader.readWorkloads(context, namespace);
      return workloadNodes(n, site(), { workloads });
    } catch (e) {
      const error = (e as Error).message ?? String(e);
      log.warn(`workloads in ${context}/${namespace}: ${error}`);
      return workloadNodes(n, site(), { error });
    }
  }

  showTopology(): void {
    this.topology.show();
    void this.ensureStarted();
  }

  async chooseNamespace(context: string, namespace: string): Promise<void> {
    const all = { ...this.context.globalState.get<Record<string, string>>(NAMESPACES_KEY, {}), [context]: namespace };
    await this.context.globalState.update(NAMESPACES_KEY, all);
    await this.reader.setNamespace(context, namespace);
  }

  async reveal(ref: NodeDesc['ref']): Promise<void> {
    await this.ensureStarted();
    const roots = this.clusters.rootNodes();
    const chain = findNode(roots, (n) =>
      ref.link
        ? n.ref.siteId === ref.siteId && n.ref.link === ref.link
        : ref.address
          ? n.ref.siteId === ref.siteId && n.ref.address === ref.address
          : n.ref.siteId === ref.siteId && /^site\./.test(n.contextValue),
    );
    const target = chain?.[chain.length - 1];
    if (target) await this.clustersView.reveal(target, { select: true, focus: true, expand: true });
  }

  private async revealFromTopology(kind: 'site' | 'link', id: string): Promise<void> {
    if (kind === 'site') return this.reveal({ siteId: id.replace(/^site:/, '') });
    const m = /^link:(.*)\/([^/]*)$/.exec(id);
    if (m) return this.reveal({ siteId: m[1], link: m[2] });
  }

  private watchKubeconfig(): void {
    for (const w of this.kubeWatchers.splice(0)) w.close();
    const files = this.reader.current.kubeconfigFiles;
    const dirs = new Map<string, Set<string>>();
    for (const f of files) {
      const dir = path.dirname(f);
      if (!dirs.has(dir)) dirs.set(dir, new Set());
      dirs.get(dir)!.add(path.basename(f));
    }
    for (const [dir, names] of dirs) {
      try {
        // watch the folder: editors and kubectl replace the file rather than write into it
        const w = fs.watch(dir, (_event, name) => {
          if (name && !names.has(name.toString())) return;
          clearTimeout(this.kubeTimer);
          this.kubeTimer = setTimeout(() => {
            log.info('kubeconfig changed: reloading contexts');
            void this.reader.reloadKubeconfig().then(() => this.render());
          }, 300);
        });
        w.on('error', () => undefined);
        this.kubeWatchers.push(w);
      } catch {
        // folder missing: the welcome view explains
      }
    }
  }

  private localWatcher?: fs.FSWatcher;
  private localTimer?: NodeJS.Timeout;

  /** Laptop sites live in folders: watch them (recursive) rather than poll. Again on each refresh until
   *  the folder exists (the first laptop site makes it). */
  private watchLocalSites(): void {
    if (this.localWatcher) return;
    const home = localSitesHome();
    try {
      if (!fs.existsSync(home)) return;
      this.localWatcher = fs.watch(home, { recursive: true }, () => {
        clearTimeout(this.localTimer);
        this.localTimer = setTimeout(() => this.reader.refreshLocal(), 300);
      });
      this.localWatcher.on('error', () => undefined);
    } catch (e) {
      log.warn(`cannot watch ${home}: ${(e as Error).message}`);
    }
  }

  dispose(): void {
    this.localWatcher?.close();
    clearTimeout(this.localTimer);
    for (const w of this.kubeWatchers) w.close();
    clearTimeout(this.kubeTimer);
    this.reader.dispose();
  }
}

function updateEditorContext(editor: vscode.TextEditor | undefined): void {
  let has = false;
  let v2 = false;
  if (editor && editor.document.languageId === 'yaml' && editor.document.lineCount < 20000) {
    has = !!workloadAtCursor(editor.document.getText(), editor.document.offsetAt(editor.selection.active));
    v2 = v2ResourcesIn(editor.document.getText());
  }
  void vscode.commands.executeCommand('setContext', 'skupper.editorHasWorkload', has);
  void vscode.commands.executeCommand('setContext', 'skupper.editorHasV2Resource', v2);
}

let ext: Extension | undefined;

export function activate(context: vscode.ExtensionContext): { activationMs: number } {
  const t0 = Date.now();
  context.subscriptions.push(initLog());
  ext = new Extension(context);
  context.subscriptions.push(ext);
  let timer: NodeJS.Timeout | undefined;
  const later = (e: vscode.TextEditor | undefined) => {
    clearTimeout(timer);
    timer = setTimeout(() => updateEditorContext(e), 150);
  };
  context.subscriptions.push(
    vscode.window.onDidChangeActiveTextEditor((e) => updateEditorContext(e)),
    vscode.window.onDidChangeTextEditorSelection((e) => later(e.textEditor)),
    vscode.workspace.onDidChangeTextDocument(
      (e) => e.document === vscode.window.activeTextEditor?.document && later(vscode.window.activeTextEditor),
    ),
  );
  updateEditorContext(vscode.window.activeTextEditor);
  const activationMs = Date.now() - t0;
  log.info(`activated in ${activationMs} ms`);
  return { activationMs };
}

export function deactivate(): void {
  ext = undefined;
}
