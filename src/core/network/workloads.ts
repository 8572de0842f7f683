// The Deployments and StatefulSets of one namespace, for the Clusters tree's Workloads folder. Read on
// demand (when the folder opens), through the network reader's client for the context (its per-call timeout).
import type { KubeClient } from '../kube/client';
import { ADDRESS_ANNOTATION, PROXY_ANNOTATION } from '../service/annotations';
import type { WorkloadRecord } from './types';

interface PodTemplateLike {
  spec?: { containers?: { ports?: { containerPort?: number }[] }[] };
}

export function containerPorts(template: PodTemplateLike | undefined): number[] {
  const ports = new Set<number>();
  for (const c of template?.spec?.containers ?? [])
    for (const p of c.ports ?? []) if (Number.isInteger(p.containerPort) && p.containerPort! > 0) ports.add(p.containerPort!);
  return [...ports].sort((a, b) => a - b);
}

/** Skupper's own objects (the router Deployment) carry this label; they are not the user's workloads. */
const PART_OF_LABEL = 'app.kubernetes.io/part-of';
const PART_OF = 'skupper';

interface WorkloadLike {
  metadata?: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { replicas?: number; template?: PodTemplateLike };
  status?: { readyReplicas?: number };
}

export function toWorkloadRecord(kind: WorkloadRecord['kind'], namespace: string, w: WorkloadLike): WorkloadRecord | undefined {
  const name = w.metadata?.name;
  if (!name || w.metadata?.labels?.[PART_OF_LABEL] === PART_OF) return undefined;
  return {
    kind,
    name,
    namespace,
    ports: containerPorts(w.spec?.template),
    replicas: w.spec?.replicas,
    readyReplicas: w.status?.readyReplicas ?? 0,
    ...annotationOf(name, w.metadata?.annotations),
  };
}

/** The workload's skupper.io/proxy exposure, as the site agent reads it (service/annotations.ts). */
function annotationOf(name: string, annotations: Record<string, string> | undefined): Pick<WorkloadRecord, 'annotation'> {
  const protocol = annotations?.[PROXY_ANNOTATION]?.trim();
  if (protocol === undefined) return {};
  return { annotation: { protocol, address: annotations?.[ADDRESS_ANNOTATION]?.trim() || name } };
}

/** Deployments then StatefulSets (not Skupper's own), each sorted by name. Throws what the API (or the timeout) threw. */
export async function listWorkloads(client: KubeClient, namespace: string): Promise<WorkloadRecord[]> {
  const [deployments, statefulsets] = await Promise.all([
    client.apps.listNamespacedDeployment({ namespace }),
    client.apps.listNamespacedStatefulSet({ namespace }),
  ]);
  const byName = (a: WorkloadRecord, b: WorkloadRecord) => a.name.localeCompare(b.name);
  const d = deployments.items
    .map((w) => toWorkloadRecord('deployment', namespace, w as WorkloadLike))
    .filter((w): w is WorkloadRecord => !!w)
    .sort(byName);
  const s = statefulsets.items
    .map((w) => toWorkloadRecord('statefulset', namespace, w as WorkloadLike))
    .filter((w): w is WorkloadRecord => !!w)
    .sort(byName);
  return [...d, ...s];
}
