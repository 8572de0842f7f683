// The site's Workloads folder: the namespace's Deployments and StatefulSets, read when the folder is
// expanded. Pure builders (no vscode import): the folder, then its children from what the read returned.
import type { SiteRecord, WorkloadRecord } from '../../core/network/types';
import { Ctx, errorNode, type NodeDesc, type NodeRef } from './nodes';

/** The folder under a Kubernetes site; its children come from `workloadNodes` once it is opened. */
export function workloadsFolderNode(site: SiteRecord, siteId: string): NodeDesc {
  const ref: NodeRef = { context: site.context, namespace: site.namespace, siteId: site.id, siteName: site.name, platform: site.platform };
  return {
    id: `${siteId}/workloads`,
    label: 'Workloads',
    description: 'deployments, statefulsets',
    tooltip: `Deployments and StatefulSets in namespace ${site.namespace}. Right-click one → Expose to make it a service of the network.`,
    contextValue: Ctx.WorkloadsFolder,
    icon: { id: 'package' },
    collapsible: 'collapsed',
    ref,
    lazy: 'workloads',
  };
}

/** The services of the site that send traffic to this workload (targets are the workload's name). */
export function exposedAs(site: SiteRecord | undefined, w: Pick<WorkloadRecord, 'name'>): string[] {
  return (site?.services ?? []).filter((s) => s.exposedHere && s.targets.includes(w.name)).map((s) => s.address);
}

export function workloadNode(folder: NodeDesc, site: SiteRecord | undefined, w: WorkloadRecord): NodeDesc {
  const annotated = w.annotation;
  const addresses = [...new Set([...(annotated ? [annotated.address] : []), ...exposedAs(site, w)])];
  const exposed = addresses.length > 0;
  const how = annotated ? ' by annotation' : '';
  const contextValue =
    w.kind === 'deployment' ? (exposed ? Ctx.DeploymentExposed : Ctx.Deployment) : exposed ? Ctx.StatefulSetExposed : Ctx.StatefulSet;
  const ports = w.ports.length ? `port${w.ports.length === 1 ? '' : 's'} ${w.ports.join(', ')}` : 'no ports';
  const replicas = w.replicas === undefined ? undefined : `${w.readyReplicas ?? 0}/${w.replicas} ready`;
  const kindLabel = w.kind === 'deployment' ? 'Deployment' : 'StatefulSet';
  return {
    id: `${folder.id}/${w.kind}/${encodeURIComponent(w.name)}`,
    label: w.name,
    description: [ports, exposed ? `exposed${how} as ${addresses.join(', ')}` : undefined].filter(Boolean).join(' · '),
    tooltip: [
      `${kindLabel} ${w.name}`,
      `Namespace: ${w.namespace}`,
      `Container ports: ${w.ports.join(', ') || 'none declared'}`,
      replicas && `Replicas: ${replicas}`,
      annotated
        ? `Exposed by annotation as ${annotated.address} (skupper.io/proxy: ${annotated.protocol}): remove the annotation to unexpose`
        : exposed
          ? `Exposed as ${addresses.join(', ')}`
          : 'Not exposed: right-click → Expose',
    ]
      .filter(Boolean)
      .join('\n'),
    contextValue,
    icon: { id: w.kind === 'deployment' ? 'rocket' : 'database', color: exposed ? 'charts.blue' : undefined },
    collapsible: 'none',
    ref: { ...folder.ref, kind: w.kind, name: w.name, ports: [...w.ports], address: addresses[0] },
  };
}

export type WorkloadsResult = { workloads: WorkloadRecord[] } | { error: string };

/** The folder's children: one node per workload, an info node when there are none, an error node on failure. */
export function workloadNodes(folder: NodeDesc, site: SiteRecord | undefined, result: WorkloadsResult): NodeDesc[] {
  if ('error' in result) return [errorNode(`${folder.id}/error`, result.error, folder.ref)];
  if (result.workloads.length === 0) {
    return [
      {
        id: `${folder.id}/none`,
        label: `No deployments or statefulsets in ${folder.ref.namespace ?? 'this namespace'}`,
        contextValue: Ctx.Info,
        icon: { id: 'info' },
        collapsible: 'none',
        ref: folder.ref,
      },
    ];
  }
  return result.workloads.map((w) => workloadNode(folder, site, w));
}
