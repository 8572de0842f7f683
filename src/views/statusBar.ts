import * as vscode from 'vscode';
import type { NetworkStatus } from '../core/network/types';
import { statusBar } from './model/network';

export class NetworkStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('skupper.status', vscode.StatusBarAlignment.Left, 10);
  constructor() {
    this.item.name = 'Skupper network';
    this.item.command = 'skupper.showTopology';
  }
  update(net: NetworkStatus, loading: boolean): void {
    const m = statusBar(net, loading);
    this.item.text = m.text;
    this.item.tooltip = m.tooltip;
    this.item.backgroundColor =
      m.severity === 'error'
        ? new vscode.ThemeColor('statusBarItem.errorBackground')
        : m.severity === 'warning'
          ? new vscode.ThemeColor('statusBarItem.warningBackground')
          : undefined;
    this.item.show();
  }
  dispose(): void {
    this.item.dispose();
  }
}
