// Tree node descriptions built from the core read model. Pure: no vscode import, so they are unit tested
// under node:test. The vscode TreeDataProvider (src/views/tree.ts) turns them into TreeItems.

/** Context values: menus in package.json match them with anchored regexes, e.g. /^site(\.|$)/. */
export const enum Ctx {
  Context = 'context',
  ContextError = 'context.error',
  Namespace = 'namespace.nosite',
  NamespaceSite = 'namespace.site',
  SiteKube = 'site.kubernetes',
  /** a laptop site whose router runs (Stop offered) */
  SiteLocalRunning = 'site.local.running',
  /** a laptop site whose router does not run (Start offered) */
  SiteLocalStopped = 'site.local.stopped',
  LinksFolder = 'folder.links',
  ServicesFolder = 'folder.services',
  WorkloadsFolder = 'folder.workloads',
  /** a site managed by Skupper 2.x resources: its Sites, Connectors, Listeners... (read when opened) */
  V2Folder = 'folder.v2',
  V2Resource = 'v2resource',
  Deployment = 'workload.deployment',
  DeploymentExposed = 'workload.deployment.exposed',
  StatefulSet = 'workload.statefulset',
  StatefulSetExposed = 'workload.statefulset.exposed',
  LinkUp = 'link.up',
  LinkDown = 'link.down',
  LinkConnecting = 'link.connecting',
  LinkIncoming = 'linkIncoming',
  ServiceExposed = 'service.exposed',
  ServiceReachable = 'service.reachable',
  /** a laptop site: a network service it can forward to a local port */
  ServiceForwardable = 'service.forwardable',
  /** a laptop site: a network service forwarded to a local port */
  ServiceForwarded = 'service.forwarded',
  NetService = 'netService',
  NetLink = 'netLink',
  Error = 'error',
  Loading = 'loading',
  Info = 'info',
}

export interface NodeRef {
  context?: string;
  namespace?: string;
  siteId?: string;
  siteName?: string;
  link?: string;
  address?: string;
  platform?: 'kubernetes' | 'local';
  /** a workload node: what Expose needs without asking */
  kind?: 'deployment' | 'statefulset';
  name?: string;
  ports?: number[];
}

export interface NodeIcon {
  /** codicon id */
  id: string;
  /** theme colour id */
  color?: string;
}

export interface NodeDesc {
  /** stable, from the parent chain: ctx/<context>/ns/<ns>/site/<site>/... */
  id: string;
  label: string;
  description?: string;
  tooltip?: string;
  contextValue: string;
  icon?: NodeIcon;
  collapsible: 'none' | 'collapsed' | 'expanded';
  children?: NodeDesc[];
  ref: NodeRef;
  /** children are read when the node is expanded (by the tree provider's loader), not built here */
  lazy?: 'workloads' | 'v2';
  /** a command run on click (e.g. reveal) */
  command?: { command: string; title: string; arguments?: unknown[] };
}

export const enc = (s: string) => encodeURIComponent(s);

export const contextId = (context: string) => `ctx/${enc(context)}`;
export const namespaceId = (context: string, ns: string) => `${contextId(context)}/ns/${enc(ns)}`;
export const siteNodeId = (context: string, ns: string, site: string) => `${namespaceId(context, ns)}/site/${enc(site)}`;
export const localSiteId = (site: string) => `local/site/${enc(site)}`;

export const STATE_ICON: Record<string, NodeIcon> = {
  up: { id: 'pass-filled', color: 'testing.iconPassed' },
  down: { id: 'error', color: 'testing.iconFailed' },
  connecting: { id: 'sync', color: 'charts.yellow' },
};

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function ago(iso: string | undefined, now = Date.now()): string | undefined {
  if (!iso) return undefined;
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return undefined;
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.round(s / 60)}m`;
  if (s < 86400) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

/**
 * How long, for a row's description: nothing under a minute, then minutes, hours, days. Coarse on
 * purpose: a description that changes every second makes the tree refresh every second (tooltips
 * carry the exact time).
 */
export function agoCoarse(iso: string | undefined, now = Date.now()): string | undefined {
  const t = iso ? Date.parse(iso) : NaN;
  if (!Number.isFinite(t) || now - t < 60_000) return undefined;
  return ago(iso, now);
}

export function formatBytes(n: number | undefined): string | undefined {
  if (n === undefined) return undefined;
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

/** A row that shows an error in place of what could not be read. */
export function errorNode(id: string, message: string, ref: NodeDesc['ref']): NodeDesc {
  return {
    id,
    label: message,
    tooltip: message,
    contextValue: Ctx.Error,
    icon: { id: 'error', color: 'errorForeground' },
    collapsible: 'none',
    ref,
  };
}
