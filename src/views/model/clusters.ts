// Clusters view: context → namespaces (with a site, and the context's own namespace) → site → links, services,
// workloads (lazy: see ./workloads.ts).
import type { ClusterModel, ContextRecord, NamespaceRecord, NetworkStatus, SiteRecord, SiteService } from '../../core/network/types';
import {
  Ctx,
  STATE_ICON,
  ago,
  contextId,
  errorNode,
  localSiteId,
  namespaceId,
  plural,
  siteNodeId,
  type NodeDesc,
  agoCoarse,
} from './nodes';
export { errorNode } from './nodes';
import { workloadsFolderNode } from './workloads';
import { v2FolderNode } from './v2';

export function clusterRoots(model: ClusterModel, network?: NetworkStatus): NodeDesc[] {
  if (model.kubeconfigError && model.contexts.length === 0 && model.local.length === 0) return [];
  const roots = model.contexts.map((c) => contextNode(c, network));
  roots.push(laptopNode(model, network));
  return roots;
}

export function contextNode(c: ContextRecord, network?: NetworkStatus): NodeDesc {
  const id = contextId(c.name);
  const ref = { context: c.name, namespace: c.namespace };
  const sites = c.namespaces.filter((n) => n.site).length;
  const tooltip = [
    `Context ${c.name}`,
    c.server && `Server: ${c.server}`,
    c.user && `User: ${c.user}`,
    `Namespace: ${c.namespace}`,
    c.current ? 'Current context in the kubeconfig' : undefined,
    c.error && `Error: ${c.error}`,
  ]
    .filter(Boolean)
    .join('\n');
  const base = { id, label: c.name, tooltip, ref };
  if (c.phase === 'error') {
    return {
      ...base,
      description: 'unreachable',
      contextValue: Ctx.ContextError,
      icon: { id: 'warning', color: 'list.warningForeground' },
      collapsible: 'expanded',
      children: [errorNode(`${id}/error`, c.error ?? 'unknown error', ref)],
    };
  }
  const children: NodeDesc[] =
    c.phase === 'idle' || (c.phase === 'loading' && c.namespaces.length === 0)
      ? [{ id: `${id}/loading`, label: 'Loading…', contextValue: Ctx.Loading, icon: { id: 'loading~spin' }, collapsible: 'none', ref }]
      : c.namespaces.map((n) => namespaceNode(c, n, network));
  return {
    ...base,
    description:
      c.phase === 'ok'
        ? [plural(sites, 'site'), c.current ? 'current' : undefined].filter(Boolean).join(' · ')
        : c.current
          ? 'current'
          : undefined,
    contextValue: Ctx.Context,
    icon: { id: 'server-environment' },
    // contexts with a site open; the others stay folded so many contexts fit (and can be opened)
    collapsible: c.phase === 'ok' && sites === 0 ? 'collapsed' : 'expanded',
    children,
  };
}

/** "This machine": the laptop sites (router processes here), or an offer to start one. */
export function laptopNode(model: ClusterModel, network?: NetworkStatus): NodeDesc {
  const ref = { platform: 'local' as const };
  const children = model.local.length
    ? model.local.map((site) => siteNode(site, localSiteId(site.name), network))
    : [
        {
          id: 'local/start',
          label: 'Start a laptop site',
          contextValue: Ctx.Info,
          icon: { id: 'debug-start' },
          collapsible: 'none' as const,
          ref,
          command: { command: 'skupper.startLocalSite', title: 'Start Laptop Site' },
        },
      ];
  return {
    id: 'local',
    label: 'This machine',
    description: model.local.length ? plural(model.local.length, 'laptop site') : 'no laptop site',
    tooltip: 'Sites that run as a router process on this machine (laptop sites). They link to cluster sites with the same tokens.',
    contextValue: 'laptop',
    icon: { id: 'device-desktop' },
    collapsible: model.local.length ? 'expanded' : 'collapsed',
    ref,
    children,
  };
}

export function namespaceNode(c: ContextRecord, n: NamespaceRecord, network?: NetworkStatus): NodeDesc {
  const id = namespaceId(c.name, n.name);
  const ref = { context: c.name, namespace: n.name };
  if (n.error) {
    return {
      id,
      label: n.name,
      description: 'error',
      contextValue: Ctx.NamespaceSite,
      icon: { id: 'symbol-namespace' },
      collapsible: 'expanded',
      ref,
      children: [errorNode(`${id}/error`, n.error, ref)],
    };
  }
  if (!n.site) {
    return {
      id,
      label: n.name,
      description: 'no site',
      tooltip: `Namespace ${n.name} has no Skupper site. Right-click → Initialize Site, or use the inline +.`,
      contextValue: Ctx.Namespace,
      icon: { id: 'symbol-namespace' },
      collapsible: 'expanded',
      ref,
      children: [
        {
          id: `${id}/init`,
          label: 'Initialize site here',
          contextValue: Ctx.Info,
          icon: { id: 'add' },
          collapsible: 'none',
          ref,
          command: { command: 'skupper.init', title: 'Initialize Site', arguments: [{ ref }] },
        },
      ],
    };
  }
  const site = siteNode(n.site, siteNodeId(c.name, n.name, n.site.name), network);
  return {
    id,
    label: n.name,
    description: `site ${n.site.name}`,
    contextValue: Ctx.NamespaceSite,
    icon: { id: 'symbol-namespace' },
    collapsible: 'expanded',
    ref,
    children: [site],
  };
}

export function siteNode(site: SiteRecord, id: string, network?: NetworkStatus): NodeDesc {
  const ref = { context: site.context, namespace: site.namespace, siteId: site.id, siteName: site.name, platform: site.platform };
  const up = site.links.filter((l) => l.state === 'up').length;
  const linksNode: NodeDesc = {
    id: `${id}/links`,
    label: 'Links',
    description: site.links.length ? `${up}/${site.links.length} up` : 'none',
    contextValue: Ctx.LinksFolder,
    icon: { id: 'link' },
    collapsible: site.links.length ? 'expanded' : 'none',
    ref,
    children: site.links.map((l) => {
      const remote = l.remoteSiteName ?? (l.remoteSiteId ? network?.sites.find((s) => s.id === l.remoteSiteId)?.name : undefined);
      const since = agoCoarse(l.since);
      return {
        id: `${id}/${l.incoming ? 'in' : 'link'}/${encodeURIComponent(l.name)}`,
        label: l.incoming ? `from ${remote ?? l.name}` : l.name,
        description: [l.state, remote && !l.incoming ? `→ ${remote}` : undefined, `cost ${l.cost}`, since ? `for ${since}` : undefined]
          .filter(Boolean)
          .join(' · '),
        tooltip: linkTooltip(l.name, l.state, remote, l.cost, l.error, l.since, l.expires, l.incoming),
        contextValue: l.incoming ? Ctx.LinkIncoming : `link.${l.state}`,
        icon: STATE_ICON[l.state],
        collapsible: 'none' as const,
        ref: { ...ref, link: l.name },
      };
    }),
  };
  const servicesNode: NodeDesc = {
    id: `${id}/services`,
    label: 'Services',
    description: site.services.length
      ? `${site.services.filter((s) => s.exposedHere).length} exposed here, ${site.services.length} reachable`
      : 'none',
    contextValue: Ctx.ServicesFolder,
    icon: { id: 'broadcast' },
    collapsible: site.services.length ? 'expanded' : 'none',
    ref,
    children: site.services.map((s) =>
      serviceNode(s, `${id}/svc/${encodeURIComponent(s.address)}`, site.platform, { ...ref, address: s.address }),
    ),
  };
  const state = site.ready === false ? 'router not ready' : undefined;
  return {
    id,
    label: site.name,
    description: [
      site.platform === 'local' ? 'local' : undefined,
      plural(site.links.filter((l) => !l.incoming).length, 'link'),
      plural(site.services.length, 'service'),
      state,
    ]
      .filter(Boolean)
      .join(' · '),
    tooltip: [
      `Site ${site.name}`,
      `Id: ${site.id}`,
      `Platform: ${site.platform}`,
      site.platform === 'kubernetes' ? `Namespace: ${site.namespace} (context ${site.context})` : undefined,
      site.ingress && `Ingress: ${site.ingress}`,
      site.statusUpdated && `Status published ${ago(site.statusUpdated)} ago`,
    ]
      .filter(Boolean)
      .join('\n'),
    contextValue: site.platform !== 'local' ? Ctx.SiteKube : site.ready ? Ctx.SiteLocalRunning : Ctx.SiteLocalStopped,
    icon: {
      id: site.platform === 'local' ? 'device-desktop' : 'circuit-board',
      color: site.ready === false ? 'list.warningForeground' : undefined,
    },
    collapsible: 'expanded',
    ref,
    // Kubernetes sites: the namespace's Deployments/StatefulSets, read when the folder is opened
    children:
      site.platform !== 'kubernetes'
        ? [linksNode, servicesNode]
        : [linksNode, servicesNode, workloadsFolderNode(site, id), ...(site.mode === 'v2' ? [v2FolderNode(site, id)] : [])],
  };
}

/** A service under a site. On a laptop site a network service offers Forward, and shows where it is forwarded. */
export function serviceNode(s: SiteService, id: string, platform: SiteRecord['platform'], ref: NodeDesc['ref']): NodeDesc {
  const laptop = platform === 'local';
  const where = s.exposedHere
    ? `exposed here${s.targets.length ? ` (${s.targets.join(', ')})` : ''}`
    : s.forwardedTo
      ? `→ ${s.forwardedTo}`
      : laptop
        ? 'not forwarded'
        : 'reachable here';
  const contextValue = s.exposedHere
    ? Ctx.ServiceExposed
    : !laptop
      ? Ctx.ServiceReachable
      : s.forwardedTo
        ? Ctx.ServiceForwarded
        : Ctx.ServiceForwardable;
  const reach = s.exposedHere
    ? `Exposed here by ${s.targets.join(', ') || 'a workload'}`
    : s.forwardedTo
      ? `Reachable on this machine at ${s.forwardedTo}`
      : laptop
        ? 'In the network; not forwarded to this machine (Forward to Local Port…)'
        : 'Reachable here (exposed in another site)';
  return {
    id,
    label: s.address,
    description: [s.ports.length ? `${s.protocol} ${s.ports.join(',')}` : s.protocol, where].join(' · '),
    tooltip: `Service ${s.address}\nProtocol: ${s.protocol}\nPorts: ${s.ports.join(', ') || 'not known yet'}\n${reach}`,
    contextValue,
    icon: {
      id: s.exposedHere ? 'broadcast' : s.forwardedTo ? 'arrow-right' : 'plug',
      color: s.exposedHere ? 'charts.blue' : s.forwardedTo ? 'charts.green' : undefined,
    },
    collapsible: 'none',
    ref,
  };
}

export function linkTooltip(
  name: string,
  state: string,
  remote: string | undefined,
  cost: number,
  error?: string,
  since?: string,
  expires?: string,
  incoming?: boolean,
): string {
  return [
    `${incoming ? 'Incoming link' : 'Link'} ${name}: ${state}`,
    remote ? `${incoming ? 'From' : 'To'} site: ${remote}` : undefined,
    `Cost: ${cost}`,
    since ? `Since: ${since}` : undefined,
    error ? `Last error: ${error}` : undefined,
    expires ? `Certificate expires: ${expires}` : undefined,
  ]
    .filter(Boolean)
    .join('\n');
}

/** Find a node by id in a built tree (for reveal). */
export function findNode(roots: NodeDesc[], pred: (n: NodeDesc) => boolean): NodeDesc[] | undefined {
  for (const r of roots) {
    if (pred(r)) return [r];
    const sub = r.children ? findNode(r.children, pred) : undefined;
    if (sub) return [r, ...sub];
  }
  return undefined;
}
