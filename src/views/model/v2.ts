// A site managed by Skupper 2.x resources shows them in a folder of their own, read when it is opened.
// Pure builders (no vscode import).
import type { SiteRecord } from '../../core/network/types';
import type { V2Row } from '../../core/v2/read';
import { Ctx, errorNode, type NodeDesc, type NodeRef } from './nodes';

const ICON: Record<V2Row['kind'], string> = {
  Site: 'circuit-board',
  Link: 'link',
  AccessGrant: 'key',
  AccessToken: 'key',
  Listener: 'plug',
  Connector: 'broadcast',
};

export function v2FolderNode(site: SiteRecord, siteId: string): NodeDesc {
  const ref: NodeRef = { context: site.context, namespace: site.namespace, siteId: site.id, siteName: site.name, platform: site.platform };
  return {
    id: `${siteId}/v2`,
    label: 'Skupper 2.x resources',
    description: 'skupper.io/v2alpha1',
    tooltip: `This site is managed by Skupper 2.x resources in namespace ${site.namespace}: change them (Apply to context…), not the site.`,
    contextValue: Ctx.V2Folder,
    icon: { id: 'symbol-class' },
    collapsible: 'collapsed',
    ref,
    lazy: 'v2',
  };
}

export type V2Result = { rows: V2Row[] } | { error: string };

export function v2Nodes(folder: NodeDesc, result: V2Result): NodeDesc[] {
  if ('error' in result) return [errorNode(`${folder.id}/error`, result.error, folder.ref)];
  if (result.rows.length === 0) {
    return [
      {
        id: `${folder.id}/none`,
        label: 'No Skupper 2.x resources',
        contextValue: Ctx.Info,
        icon: { id: 'info' },
        collapsible: 'none',
        ref: folder.ref,
      },
    ];
  }
  return result.rows.map((r) => ({
    id: `${folder.id}/${r.kind}/${encodeURIComponent(r.name)}`,
    label: `${r.kind} ${r.name}`,
    description: [r.summary, r.status].filter(Boolean).join(' · '),
    tooltip: `${r.kind} ${r.name}: ${r.status}\n${r.summary}\n${r.message}`,
    contextValue: `${Ctx.V2Resource}.${r.kind.toLowerCase()}`,
    icon: {
      id: ICON[r.kind],
      color: r.status === 'Error' ? 'list.errorForeground' : r.status === 'Pending' ? 'list.warningForeground' : 'charts.green',
    },
    collapsible: 'none' as const,
    ref: { ...folder.ref, name: r.name },
  }));
}
