// Finds the Deployment/StatefulSet under the cursor in a (multi-document) YAML file.
import { parseAllDocuments } from 'yaml';

export interface Workload {
  kind: 'deployment' | 'statefulset';
  name: string;
  namespace?: string;
  ports: number[];
}

export function workloadsIn(text: string): { start: number; end: number; w?: Workload }[] {
  let docs;
  try {
    docs = parseAllDocuments(text);
  } catch {
    return [];
  }
  const out: { start: number; end: number; w?: Workload }[] = [];
  for (const d of Array.isArray(docs) ? docs : [docs]) {
    const range = d.range ?? [0, text.length, text.length];
    let obj: any;
    try {
      obj = d.toJS();
    } catch {
      obj = undefined;
    }
    const kind = typeof obj?.kind === 'string' ? obj.kind.toLowerCase() : '';
    let w: Workload | undefined;
    if ((kind === 'deployment' || kind === 'statefulset') && typeof obj?.metadata?.name === 'string') {
      const containers: any[] = obj?.spec?.template?.spec?.containers ?? [];
      const ports = containers
        .flatMap((c) => (Array.isArray(c?.ports) ? c.ports : []))
        .map((p: any) => Number(p?.containerPort))
        .filter((p: number) => Number.isInteger(p) && p > 0);
      w = {
        kind,
        name: obj.metadata.name,
        namespace: typeof obj.metadata.namespace === 'string' ? obj.metadata.namespace : undefined,
        ports: [...new Set(ports)],
      };
    }
    out.push({ start: range[0], end: range[2] ?? range[1], w });
  }
  return out;
}

/** The workload of the document under `offset`, or the only workload of the file. */
export function workloadAtCursor(text: string, offset: number): Workload | undefined {
  const docs = workloadsIn(text);
  const here = docs.find((d) => offset >= d.start && offset <= d.end);
  if (here?.w) return here.w;
  const all = docs.filter((d) => d.w);
  return all.length === 1 ? all[0]!.w : undefined;
}
