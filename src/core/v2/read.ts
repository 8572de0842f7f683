// The Skupper 2.x resources of a namespace as rows for the views: kind, name, state, what they say.
import type { KubeClient } from '../kube/client';
import { V2Api } from './api';
import { type V2Kind, type V2Object, V2_KINDS } from './types';

export interface V2Row {
  kind: V2Kind;
  name: string;
  /** Ready, Pending or Error (Pending until the controller wrote a status). */
  status: 'Ready' | 'Pending' | 'Error';
  message: string;
  /** The spec in a few words: "tcp-go-echo:9090 → application=tcp-go-echo". */
  summary: string;
}

function summaryOf(o: V2Object<Record<string, any>>): string {
  const s = o.spec ?? {};
  switch (o.kind) {
    case 'Site':
      return [s.linkAccess ? `link access ${s.linkAccess}` : 'links out only', s.edge ? 'edge' : undefined, s.ha ? 'ha' : undefined]
        .filter(Boolean)
        .join(' · ');
    case 'Connector':
      return `${s.routingKey} → ${s.selector ?? s.host}:${s.port}`;
    case 'Listener':
      return `${s.host}:${s.port} → ${s.routingKey}`;
    case 'Link':
      return `${o.status?.remoteSiteName ? `to ${String(o.status.remoteSiteName)}` : 'link'}${s.cost ? ` · cost ${s.cost}` : ''}`;
    case 'AccessGrant':
      return `${o.status?.redemptions ?? 0}/${s.redemptionsAllowed ?? 1} redeemed`;
    case 'AccessToken':
      return o.status?.redeemed ? 'redeemed' : 'not redeemed';
  }
}

export function rowsOf(objects: V2Object<Record<string, any>>[]): V2Row[] {
  return objects
    .map((o) => ({
      kind: o.kind,
      name: o.metadata.name,
      status: o.status?.status ?? 'Pending',
      message: o.status?.message ?? 'No status yet: is the controller running? (van crds install --controller-only)',
      summary: summaryOf(o),
    }))
    .sort((a, b) => V2_KINDS.indexOf(a.kind) - V2_KINDS.indexOf(b.kind) || a.name.localeCompare(b.name));
}

/** Every Skupper 2.x resource of the namespace; kinds the cluster does not serve are skipped. */
export async function readV2Rows(client: KubeClient, namespace = client.namespace): Promise<V2Row[]> {
  const api = new V2Api(client);
  const installed = await api.installedKinds();
  const lists = await Promise.all(installed.map((kind) => api.list<Record<string, any>>(kind, namespace)));
  return rowsOf(lists.flat());
}
