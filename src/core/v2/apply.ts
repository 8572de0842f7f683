// "Apply to context...": the Skupper 2.x documents of a YAML file, created or updated in one namespace
// as `kubectl apply -f` would (spec replaced, status left to the controller).
import { parseAllDocuments } from 'yaml';
import { UserError } from '../errors';
import type { KubeClient } from '../kube/client';
import { V2Api } from './api';
import { API_VERSION, type V2Kind, type V2Object, isV2Kind } from './types';

export interface V2Document {
  kind: V2Kind;
  name: string;
  namespace?: string;
  object: V2Object<Record<string, unknown>>;
  /** Offsets of the document in the text. */
  start: number;
  end: number;
}

/** The skupper.io/v2alpha1 documents of a YAML text (others are skipped; a broken document is skipped too). */
export function v2DocumentsIn(text: string): V2Document[] {
  let docs;
  try {
    docs = parseAllDocuments(text);
  } catch {
    return [];
  }
  const out: V2Document[] = [];
  for (const d of Array.isArray(docs) ? docs : [docs]) {
    let obj: Record<string, any> | undefined;
    try {
      obj = d.errors.length ? undefined : (d.toJS() as Record<string, any>);
    } catch {
      obj = undefined;
    }
    if (!obj || obj.apiVersion !== API_VERSION || !isV2Kind(obj.kind) || typeof obj.metadata?.name !== 'string') continue;
    const range = d.range ?? [0, text.length, text.length];
    out.push({
      kind: obj.kind,
      name: obj.metadata.name,
      namespace: typeof obj.metadata.namespace === 'string' ? obj.metadata.namespace : undefined,
      object: obj as V2Object<Record<string, unknown>>,
      start: range[0],
      end: range[2] ?? range[1],
    });
  }
  return out;
}

export interface AppliedDocument {
  kind: V2Kind;
  name: string;
  namespace: string;
  action: 'created' | 'configured';
}

/** Applies every document to `client`'s namespace (a document naming another namespace is refused first). */
export async function applyV2Documents(client: KubeClient, docs: V2Document[]): Promise<AppliedDocument[]> {
  if (docs.length === 0)
    throw new UserError('no skupper.io/v2alpha1 resource (Site, Link, AccessGrant, AccessToken, Listener, Connector) in this file');
  const other = docs.find((d) => d.namespace && d.namespace !== client.namespace);
  if (other) {
    throw new UserError(
      `${other.kind} ${other.name} names namespace ${other.namespace}, not ${client.namespace}: remove metadata.namespace or choose that namespace`,
    );
  }
  const api = new V2Api(client);
  const installed = await api.installedKinds();
  const missing = [...new Set(docs.map((d) => d.kind))].filter((k) => !installed.includes(k));
  if (missing.length) {
    throw new UserError(
      `cluster ${client.contextName} does not serve ${missing.join(', ')} (skupper.io/v2alpha1): a cluster admin runs "van crds install" there first`,
    );
  }
  // Sites first: the controller makes the site the others need.
  const ordered = [...docs].sort((a, b) => Number(b.kind === 'Site') - Number(a.kind === 'Site'));
  const done: AppliedDocument[] = [];
  for (const d of ordered) {
    const existed = (await api.get(d.kind, d.name)) !== undefined;
    const { status: _status, ...rest } = d.object;
    void _status;
    await api.apply({
      ...rest,
      metadata: { name: d.name, labels: rest.metadata.labels, annotations: rest.metadata.annotations },
    } as V2Object<unknown>);
    done.push({ kind: d.kind, name: d.name, namespace: client.namespace, action: existed ? 'configured' : 'created' });
  }
  return done;
}
