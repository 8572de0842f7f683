// One TreeDataProvider for the three views: it renders NodeDesc trees built by src/views/model.
import * as vscode from 'vscode';
import type { NodeDesc } from './model/nodes';

const COLLAPSE = {
  none: vscode.TreeItemCollapsibleState.None,
  collapsed: vscode.TreeItemCollapsibleState.Collapsed,
  expanded: vscode.TreeItemCollapsibleState.Expanded,
};

export class NodeTreeProvider implements vscode.TreeDataProvider<NodeDesc>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<NodeDesc | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private roots: NodeDesc[] = [];
  private parents = new Map<string, NodeDesc | undefined>();
  private byId = new Map<string, NodeDesc>();
  /**
   * `build` gives the whole tree, except nodes marked `lazy`: their children come from `loadLazy`,
   * called each time VS Code asks for them (when expanded, and again on each refresh while expanded).
   */
  constructor(
    private readonly build: () => NodeDesc[],
    private readonly loadLazy?: (n: NodeDesc) => Promise<NodeDesc[]>,
  ) {}

  private signature = '';

  /**
   * Rebuilds the tree and tells VS Code, unless nothing it shows changed. Each refresh makes VS Code drop
   * and re-read the elements it holds, and a context-menu command that arrives meanwhile gets no element:
   * refreshing only on real changes keeps that window rare (the models rebuild every few seconds).
   * `force` (an explicit refresh, or after an action) also re-reads lazy folders.
   */
  refresh(force = false): void {
    const roots = this.build();
    // tooltips are not part of it: VS Code asks for them on hover (resolveTreeItem), from the latest build
    const signature = JSON.stringify(roots, (key, value) => (key === 'tooltip' ? undefined : value));
    if (!force && signature === this.signature && this.roots.length > 0) {
      // same rows: keep the elements VS Code holds, with the new tooltips for the next hover
      const update = (nodes: NodeDesc[]) =>
        nodes.forEach((n) => {
          const held = this.byId.get(n.id);
          if (held) held.tooltip = n.tooltip;
          if (n.children) update(n.children);
        });
      update(roots);
      return;
    }
    this.signature = signature;
    this.roots = roots;
    this.parents.clear();
    this.byId.clear();
    const walk = (nodes: NodeDesc[], parent?: NodeDesc) => {
      for (const n of nodes) {
        this.parents.set(n.id, parent);
        this.byId.set(n.id, n);
        if (n.children) walk(n.children, n);
      }
    };
    walk(this.roots);
    this.changed.fire(undefined);
  }

  /** The built roots (lazy children not included). */
  rootNodes(): NodeDesc[] {
    return this.roots;
  }

  get(id: string): NodeDesc | undefined {
    return this.byId.get(id);
  }

  all(): NodeDesc[] {
    return [...this.byId.values()];
  }

  getTreeItem(n: NodeDesc): vscode.TreeItem {
    const item = new vscode.TreeItem(n.label, COLLAPSE[n.collapsible]);
    item.id = n.id;
    item.description = n.description;
    item.contextValue = n.contextValue;
    if (n.icon) item.iconPath = new vscode.ThemeIcon(n.icon.id, n.icon.color ? new vscode.ThemeColor(n.icon.color) : undefined);
    if (n.command) item.command = n.command;
    return item;
  }

  /** Tooltips on hover, from the latest build (they change often: status times, counters, last errors). */
  resolveTreeItem(item: vscode.TreeItem, n: NodeDesc): vscode.TreeItem {
    item.tooltip = (this.byId.get(n.id) ?? n).tooltip;
    return item;
  }

  getChildren(n?: NodeDesc): NodeDesc[] | Promise<NodeDesc[]> {
    if (!n) return this.roots;
    // look up the current version: the element may be from an older build
    const current = this.byId.get(n.id) ?? n;
    if (current.lazy && this.loadLazy) return this.loadLazy(current).then((children) => this.adopt(current, children));
    return current.children ?? [];
  }

  /** Lazily read children join the id maps (for getParent/reveal) until the next refresh. */
  private adopt(parent: NodeDesc, children: NodeDesc[]): NodeDesc[] {
    for (const c of children) {
      this.parents.set(c.id, parent);
      this.byId.set(c.id, c);
    }
    return children;
  }

  getParent(n: NodeDesc): NodeDesc | undefined {
    return this.parents.get(n.id);
  }

  dispose(): void {
    this.changed.dispose();
  }
}
