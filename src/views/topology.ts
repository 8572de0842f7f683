// The topology webview host: a panel that draws the network with cytoscape (bundled, see media/topology).
// The page says "ready" before the host posts data; positions live in the page's state (setState), and
// a serializer restores the panel after a reload.
import * as vscode from 'vscode';
import type { NetworkStatus } from '../core/network/types';
import { topologyGraph } from './model/topology';

export const TOPOLOGY_VIEW_TYPE = 'skupper.topology';

function nonce(): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let s = '';
  for (let i = 0; i < 32; i++) s += chars[Math.floor(Math.random() * chars.length)];
  return s;
}

export interface TopologyHost {
  network(): NetworkStatus;
  onSelect(kind: 'site' | 'link', id: string): void;
  log(line: string): void;
  /** Traffic edges between sites (all services, or the one `filter` names) and the services to filter by. */
  traffic?(filter?: string): { edges: unknown[]; services: string[] };
  /** A traffic edge was clicked: its panel. */
  openTraffic?(sel: { kind: 'pair'; sourceSite: string; destSite: string }): void;
}

export class TopologyPanel implements vscode.Disposable {
  private panel?: vscode.WebviewPanel;
  private ready = false;
  private disposables: vscode.Disposable[] = [];
  lastRenderMs?: number;
  /** The service the traffic edges are limited to (the page's filter). */
  private filter?: string;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly host: TopologyHost,
  ) {}

  show(): void {
    if (this.panel) {
      this.panel.reveal();
      return;
    }
    const panel = vscode.window.createWebviewPanel(TOPOLOGY_VIEW_TYPE, 'Skupper Topology', vscode.ViewColumn.Active, this.options());
    this.attach(panel);
  }

  /** Used by the serializer after a reload. */
  restore(panel: vscode.WebviewPanel): void {
    panel.webview.options = this.options();
    this.attach(panel);
  }

  private options(): vscode.WebviewOptions & vscode.WebviewPanelOptions {
    return {
      enableScripts: true,
      retainContextWhenHidden: false,
      localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist', 'media'), vscode.Uri.joinPath(this.extensionUri, 'media')],
    };
  }

  private attach(panel: vscode.WebviewPanel): void {
    this.panel = panel;
    this.ready = false;
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'skupper.svg');
    panel.webview.html = this.html(panel.webview);
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: any) => {
        if (m?.type === 'ready') {
          this.ready = true;
          this.post();
        } else if (m?.type === 'select' && typeof m.id === 'string') {
          this.host.onSelect(m.kind === 'link' ? 'link' : 'site', m.id);
        } else if (m?.type === 'filter') {
          this.filter = typeof m.address === 'string' && m.address ? m.address : undefined;
          this.post();
        } else if (m?.type === 'traffic' && typeof m.sourceSite === 'string' && typeof m.destSite === 'string') {
          this.host.openTraffic?.({ kind: 'pair', sourceSite: m.sourceSite, destSite: m.destSite });
        } else if (m?.type === 'rendered') {
          this.lastRenderMs = m.ms;
          this.host.log(`topology rendered ${m.nodes} nodes, ${m.edges} edges in ${m.ms} ms`);
        } else if (m?.type === 'command' && typeof m.command === 'string' && /^skupper\.(refresh|connectContexts|init)$/.test(m.command)) {
          void vscode.commands.executeCommand(m.command);
        }
      }),
      panel.onDidDispose(() => {
        this.panel = undefined;
        this.ready = false;
        for (const d of this.disposables.splice(0)) d.dispose();
      }),
      panel.onDidChangeViewState(() => {
        if (panel.visible) this.post();
      }),
    );
  }

  /** Posts the current network; called on every model change. */
  update(): void {
    this.post();
  }

  get isOpen(): boolean {
    return !!this.panel;
  }

  private post(): void {
    if (!this.panel || !this.ready || !this.panel.visible) return;
    const graph = topologyGraph(this.host.network());
    const traffic = this.host.traffic?.(this.filter);
    if (traffic) Object.assign(graph, { edges: [...graph.edges, ...traffic.edges] });
    void this.panel.webview.postMessage({ type: 'graph', graph, services: traffic?.services ?? [], filter: this.filter ?? '' });
  }

  private html(webview: vscode.Webview): string {
    const n = nonce();
    const script = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', 'media', 'topology.js'));
    const style = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'media', 'topology', 'topology.css'));
    const csp = `default-src 'none'; style-src ${webview.cspSource} 'nonce-${n}'; img-src ${webview.cspSource} data:; font-src ${webview.cspSource}; script-src 'nonce-${n}';`;
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style}">
<title>Skupper Topology</title>
</head>
<body>
<header id="toolbar">
  <span id="summary">Waiting for the network…</span>
  <label>Traffic of <select id="service" title="Traffic edges of one service, or of all"><option value="">all services</option></select></label>
  <button id="fit" title="Fit to window">Fit</button>
  <button id="relayout" title="Lay out again (forgets moved positions)">Re-layout</button>
  <button id="refresh" title="Refresh">Refresh</button>
</header>
<div id="cy" role="img" aria-label="Network topology"></div>
<div id="empty" hidden>No sites yet. <a href="#" id="connect">Connect two contexts…</a></div>
<aside id="details" hidden></aside>
<script nonce="${n}" src="${script}"></script>
</body>
</html>`;
  }

  dispose(): void {
    this.panel?.dispose();
  }
}
