// The editor's side of Skupper 2.x resources: whether a YAML holds some, and the tree folder's rows.
import { KubeClient } from '../core/kube/client';
import { v2DocumentsIn } from '../core/v2/apply';
import { readV2Rows } from '../core/v2/read';
import type { NodeDesc } from '../views/model/nodes';
import { v2Nodes } from '../views/model/v2';
import { log } from './log';

export function v2ResourcesIn(text: string): boolean {
  // cheap test first: most YAML files never mention the group
  return text.includes('skupper.io/v2alpha1') && v2DocumentsIn(text).length > 0;
}

export async function loadV2Folder(n: NodeDesc, t: { context: string; namespace: string }): Promise<NodeDesc[]> {
  try {
    const client = KubeClient.forContext({ context: t.context, namespace: t.namespace });
    return v2Nodes(n, { rows: await readV2Rows(client) });
  } catch (e) {
    const error = (e as Error).message ?? String(e);
    log.warn(`Skupper 2.x resources in ${t.context}/${t.namespace}: ${error}`);
    return v2Nodes(n, { error });
  }
}
