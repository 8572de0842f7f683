// The traffic panel host: one webview (no script) that shows a service's or a site pair's traffic. It is
// redrawn when the network is read again and only while visible; hidden, it does nothing (no timer).
import * as vscode from 'vscode';
import type { NetworkStatus } from '../core/network/types';
import type { TrafficHistory } from './model/traffic';
import { type TrafficSelection, selectionTitle, trafficPanelHtml } from './model/trafficPanelHtml';

export const TRAFFIC_VIEW_TYPE = 'skupper.traffic';

export class TrafficPanel implements vscode.Disposable {
  private panel?: vscode.WebviewPanel;
  private selection?: TrafficSelection;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly source: { network(): NetworkStatus; history: TrafficHistory },
  ) {}

  show(sel: TrafficSelection): void {
    this.selection = sel;
    if (!this.panel) {
      this.panel = vscode.window.createWebviewPanel(TRAFFIC_VIEW_TYPE, selectionTitle(sel), vscode.ViewColumn.Beside, {
        enableScripts: false,
        localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'media')],
      });
      this.panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'skupper.svg');
      this.panel.onDidDispose(() => (this.panel = undefined));
      this.panel.onDidChangeViewState((e) => e.webviewPanel.visible && this.update());
    } else this.panel.reveal(undefined, true);
    this.panel.title = selectionTitle(sel);
    this.update();
  }

  /** Redraws with the latest figures; nothing while hidden. */
  update(): void {
    if (!this.panel || !this.selection || !this.panel.visible) return;
    const webview = this.panel.webview;
    const style = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'media', 'traffic.css'));
    const head = `<meta charset="UTF-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${webview.cspSource}; img-src ${webview.cspSource};"><link rel="stylesheet" href="${style}">`;
    webview.html = trafficPanelHtml(this.selection, this.source.network(), this.source.history, head);
  }

  dispose(): void {
    this.panel?.dispose();
  }
}
