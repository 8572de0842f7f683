// Links and Services views (network-wide) and the status bar text, from the merged NetworkStatus.
import type { TrafficSummary } from '../../core/network/traffic';
import { serviceTrafficText, serviceTrafficTooltip } from './traffic';
import type { NetworkStatus } from '../../core/network/types';
import { Ctx, STATE_ICON, formatBytes, type NodeDesc, agoCoarse } from './nodes';
import { linkTooltip } from './clusters';

export function linkRoots(net: NetworkStatus): NodeDesc[] {
  const name = (id?: string) => (id ? net.sites.find((s) => s.id === id)?.name : undefined);
  return net.links.map((l) => {
    const from = name(l.fromSiteId) ?? l.fromSiteId;
    const to = l.toSiteName ?? name(l.toSiteId) ?? '?';
    const since = agoCoarse(l.since);
    const site = net.sites.find((s) => s.id === l.fromSiteId);
    return {
      id: `net/link/${encodeURIComponent(l.fromSiteId)}/${encodeURIComponent(l.name)}`,
      label: `${from} → ${to}`,
      description: [l.state, `cost ${l.cost}`, since ? `for ${since}` : undefined, l.name].filter(Boolean).join(' · '),
      tooltip: linkTooltip(l.name, l.state, to, l.cost, l.error, l.since) + `\nFrom site: ${from}`,
      contextValue: `${Ctx.NetLink}.${l.state}`,
      icon: STATE_ICON[l.state],
      collapsible: 'none' as const,
      ref: {
        siteId: l.fromSiteId,
        siteName: from,
        link: l.name,
        context: site?.context,
        namespace: site?.namespace,
        platform: site?.platform,
      },
    };
  });
}

/** A service's traffic (rates, connections) for the Services view; absent before any site published some. */
export type ServiceTrafficOf = (address: string, ports: number[]) => TrafficSummary & { bytesPerSecond: number };

export function serviceRoots(net: NetworkStatus, trafficOf?: ServiceTrafficOf): NodeDesc[] {
  const name = (id: string) => net.sites.find((s) => s.id === id)?.name ?? id;
  return net.services.map((s) => {
    const exposed = s.exposedIn.map(name);
    const consumed = (s.consumedIn ?? []).map(name);
    const id = `net/svc/${encodeURIComponent(s.address)}`;
    const traffic = trafficOf?.(s.address, s.ports);
    const children: NodeDesc[] = [
      ...s.exposedIn.map((sid) => siteChild(id, 'exposed', sid, name(sid), s.address, net)),
      ...(s.consumedIn ?? [])
        .filter((sid) => !s.exposedIn.includes(sid))
        .map((sid) => siteChild(id, 'reachable', sid, name(sid), s.address, net)),
    ];
    return {
      id,
      label: s.address,
      description: [
        `${s.protocol} ${s.ports.join(',')}`,
        traffic && serviceTrafficText(traffic),
        exposed.length ? `exposed in ${exposed.join(', ')}` : 'no targets',
        consumed.length ? `reachable in ${consumed.length}` : undefined,
      ]
        .filter(Boolean)
        .join(' · '),
      tooltip: [
        `Service ${s.address}`,
        `Protocol: ${s.protocol}`,
        `Ports: ${s.ports.join(', ')}`,
        `Exposed in: ${exposed.join(', ') || 'none'}`,
        `Reachable in: ${consumed.join(', ') || 'none'}`,
        s.flows !== undefined ? `Flows: ${s.flows}` : undefined,
        s.bytes !== undefined ? `Bytes: ${formatBytes(s.bytes)}` : undefined,
        ...(traffic && traffic.flowsTotal + traffic.errors > 0 ? serviceTrafficTooltip(traffic) : []),
      ]
        .filter(Boolean)
        .join('\n'),
      contextValue: Ctx.NetService,
      icon: { id: 'broadcast', color: exposed.length ? 'charts.blue' : 'list.warningForeground' },
      collapsible: children.length ? ('collapsed' as const) : ('none' as const),
      children,
      ref: { address: s.address },
    };
  });
}

function siteChild(
  parent: string,
  kind: 'exposed' | 'reachable',
  siteId: string,
  siteName: string,
  address: string,
  net: NetworkStatus,
): NodeDesc {
  const site = net.sites.find((s) => s.id === siteId);
  return {
    id: `${parent}/${kind}/${encodeURIComponent(siteId)}`,
    label: siteName,
    description: kind === 'exposed' ? 'exposed here' : 'reachable here',
    contextValue: kind === 'exposed' ? Ctx.ServiceExposed : Ctx.ServiceReachable,
    icon: { id: kind === 'exposed' ? 'broadcast' : 'plug' },
    collapsible: 'none',
    ref: { siteId, siteName, address, context: site?.context, namespace: site?.namespace, platform: site?.platform },
  };
}

export interface StatusBarModel {
  text: string;
  tooltip: string;
  severity: 'ok' | 'warning' | 'error' | 'none';
}

export function statusBar(net: NetworkStatus, loading = false): StatusBarModel {
  if (net.sites.length === 0)
    return {
      text: loading ? '$(sync~spin) Skupper' : '$(type-hierarchy) Skupper: no sites',
      tooltip: 'No Skupper site found in any context. Click to open the topology.',
      severity: 'none',
    };
  const up = net.links.filter((l) => l.state === 'up').length;
  const total = net.links.length;
  const severity = total === 0 || up === total ? 'ok' : up === 0 ? 'error' : 'warning';
  const icon = severity === 'ok' ? '$(type-hierarchy)' : '$(warning)';
  const down = net.links.filter((l) => l.state !== 'up');
  return {
    text: `${icon} ${net.sites.length} ${net.sites.length === 1 ? 'site' : 'sites'} · ${up}/${total} links`,
    tooltip: [
      `Skupper network: ${net.sites.length} sites, ${up} of ${total} links up, ${net.services.length} services`,
      ...down.map((l) => `${l.name}: ${l.state}${l.error ? ` (${l.error})` : ''}`),
      'Click to open the topology',
    ].join('\n'),
    severity,
  };
}
