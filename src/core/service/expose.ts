// `expose`, `unexpose` and `service status` against the Kubernetes API: read the workload, decide
// (plan.ts), record the definition in the site's services ConfigMap (definition.ts).
import type { AppsV1Api, CoreV1Api, V1ConfigMap } from '@kubernetes/client-node';
import { NotFound, UserError, errorMessage } from '../errors';
import { statusCode } from '../kube/errors';
import {
  SERVICES_CONFIGMAP,
  type ServiceDefinition,
  addDefinition,
  parseServicesData,
  removeDefinition,
  rewriteDefinitionJson,
} from './definition';
import { PROXY_ANNOTATION, isAnnotationValue } from './annotations';
import { type ExposeOptions, type WorkloadInfo, type WorkloadKind, planExpose } from './plan';

import { NETWORK_STATUS_CONFIGMAP } from '../site/names';
export { NETWORK_STATUS_CONFIGMAP, SITE_CONFIGMAP } from '../site/names';

/** The API clients one namespace's service operations need. */
export interface ServiceApi {
  core: CoreV1Api;
  apps: AppsV1Api;
  namespace: string;
}

export function isNotFound(error: unknown): boolean {
  return statusCode(error) === 404;
}

export function isConflict(error: unknown): boolean {
  return statusCode(error) === 409;
}

/** One line out of an API error: the Status message when there is one. */
export function apiMessage(error: unknown): string {
  const body = (error as { body?: unknown })?.body;
  let parsed: unknown = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      parsed = undefined;
    }
  }
  const message = (parsed as { message?: unknown })?.message;
  const text = typeof message === 'string' ? message : errorMessage(error);
  return text.split('\n')[0];
}

function apiError(what: string, error: unknown): Error {
  if (error instanceof UserError) return error;
  const code = statusCode(error);
  if (code === 403) return new UserError(`not allowed to ${what}: ${apiMessage(error)}`);
  return new UserError(`cannot ${what}: ${apiMessage(error)}`);
}

/** The services ConfigMap, or a UserError saying there is no site here. */
export async function readServicesConfigMap(api: ServiceApi): Promise<V1ConfigMap> {
  try {
    return await api.core.readNamespacedConfigMap({ name: SERVICES_CONFIGMAP, namespace: api.namespace });
  } catch (error) {
    if (isNotFound(error)) throw new UserError(`no site in namespace ${api.namespace}: run "van init" first`);
    throw apiError(`read ConfigMap ${SERVICES_CONFIGMAP} in ${api.namespace}`, error);
  }
}

export async function readDefinitions(api: ServiceApi): Promise<ServiceDefinition[]> {
  const cm = await readServicesConfigMap(api);
  return parseServicesData(cm.data ?? {}).definitions;
}

async function listNames(api: ServiceApi, kind: WorkloadKind): Promise<string[]> {
  try {
    const list =
      kind === 'deployment'
        ? await api.apps.listNamespacedDeployment({ namespace: api.namespace })
        : kind === 'statefulset'
          ? await api.apps.listNamespacedStatefulSet({ namespace: api.namespace })
          : await api.core.listNamespacedService({ namespace: api.namespace });
    return list.items
      .map((i) => i.metadata?.name ?? '')
      .filter(Boolean)
      .sort();
  } catch {
    return [];
  }
}

function containerPorts(template: { spec?: { containers?: { ports?: { containerPort: number }[] }[] } } | undefined): number[] {
  const ports = new Set<number>();
  for (const c of template?.spec?.containers ?? []) for (const p of c.ports ?? []) ports.add(p.containerPort);
  return [...ports].sort((a, b) => a - b);
}

/** Reads the workload's selector and ports; an unknown workload lists the ones that exist. */
export async function readWorkload(api: ServiceApi, kind: WorkloadKind, name: string): Promise<WorkloadInfo> {
  try {
    if (kind === 'deployment' || kind === 'statefulset') {
      const w =
        kind === 'deployment'
          ? await api.apps.readNamespacedDeployment({ name, namespace: api.namespace })
          : await api.apps.readNamespacedStatefulSet({ name, namespace: api.namespace });
      const selector = { ...(w.spec?.selector?.matchLabels ?? {}) };
      if (Object.keys(selector).length === 0) Object.assign(selector, w.spec?.template?.metadata?.labels ?? {});
      return { kind, name, namespace: api.namespace, selector, ports: containerPorts(w.spec?.template) };
    }
    const svc = await api.core.readNamespacedService({ name, namespace: api.namespace });
    const serviceTargetPorts: Record<number, number> = {};
    for (const p of svc.spec?.ports ?? []) {
      const t = p.targetPort as unknown;
      if (typeof t === 'number') serviceTargetPorts[p.port] = t;
      else if (typeof t === 'string' && /^\d+$/.test(t)) serviceTargetPorts[p.port] = Number(t);
    }
    return {
      kind,
      name,
      namespace: api.namespace,
      selector: { ...(svc.spec?.selector ?? {}) },
      ports: (svc.spec?.ports ?? []).map((p) => p.port),
      serviceTargetPorts,
    };
  } catch (error) {
    if (isNotFound(error)) {
      const names = await listNames(api, kind);
      const plural = kind === 'deployment' ? 'deployments' : kind === 'statefulset' ? 'statefulsets' : 'services';
      throw new NotFound(`no ${kind} ${name} in namespace ${api.namespace}; ${plural} there: ${names.join(', ') || 'none'}`);
    }
    throw apiError(`read ${kind} ${name} in ${api.namespace}`, error);
  }
}

/** Read-modify-write of the services ConfigMap with optimistic concurrency (retries on conflict). */
async function updateDefinitions(
  api: ServiceApi,
  change: (defs: ServiceDefinition[], data: Record<string, string>) => { next: ServiceDefinition[]; touched: string[] },
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const cm = await readServicesConfigMap(api);
    const defs = parseServicesData(cm.data ?? {}).definitions;
    const { next, touched } = change(defs, cm.data ?? {});
    const data: Record<string, string> = { ...(cm.data ?? {}) };
    const keep = new Set(next.map((d) => d.address));
    for (const address of touched) if (!keep.has(address)) delete data[address];
    for (const def of next) if (touched.includes(def.address)) data[def.address] = rewriteDefinitionJson(data[def.address], def);
    try {
      await api.core.replaceNamespacedConfigMap({ name: SERVICES_CONFIGMAP, namespace: api.namespace, body: { ...cm, data } });
      return;
    } catch (error) {
      if (isConflict(error) && attempt < 5) continue;
      throw apiError(`update ConfigMap ${SERVICES_CONFIGMAP} in ${api.namespace}`, error);
    }
  }
}

export interface ExposeRequest extends ExposeOptions {
  kind: WorkloadKind;
  name: string;
}

export async function expose(api: ServiceApi, request: ExposeRequest): Promise<ServiceDefinition> {
  await readServicesConfigMap(api); // "no site here" before anything else
  const workload = await readWorkload(api, request.kind, request.name);
  const def = planExpose(workload, request);
  await updateDefinitions(api, (defs) => ({ next: addDefinition(defs, def), touched: [def.address] }));
  return def;
}

/** Removes the definitions whose targets name this workload (any kind: definitions are keyed by name), or just `address`. */
export async function unexpose(
  api: ServiceApi,
  request: { kind?: WorkloadKind; name: string; address?: string },
): Promise<ServiceDefinition[]> {
  let removed: ServiceDefinition[] = [];
  await updateDefinitions(api, (defs, data) => {
    const result = removeDefinition(defs, request.name, request.address);
    // The site agent writes these back while the annotation is there: the annotation is what to remove.
    const annotated = result.removed.filter((d) => isAnnotationValue(data[d.address]));
    if (annotated.length) {
      const from = annotated.flatMap((d) => d.targets.map((t) => t.name ?? t.service ?? d.address));
      throw new UserError(
        `${annotated.map((d) => d.address).join(', ')} is exposed by the ${PROXY_ANNOTATION} annotation on ${from.join(', ')}: remove the annotation to unexpose`,
      );
    }
    removed = result.removed;
    return { next: result.remaining, touched: result.removed.map((d) => d.address) };
  });
  return removed;
}

export interface ServiceStatusEntry {
  address: string;
  protocol: string;
  ports: number[];
  /** Defined in this site (it has targets here). */
  local: boolean;
  /** Workloads behind it here, e.g. deployment/tcp-go-echo. */
  targets?: string[];
  /** Names of the sites where it has targets, when the network status knows them. */
  exposedIn?: string[];
}

/** The site's own definitions plus the network's services from the published network status. */
export async function serviceStatus(api: ServiceApi): Promise<ServiceStatusEntry[]> {
  const local = await readDefinitions(api);
  const entries = new Map<string, ServiceStatusEntry>();
  for (const def of local) {
    entries.set(def.address, {
      address: def.address,
      protocol: def.protocol,
      ports: def.ports,
      local: true,
      targets: def.targets.map((t) => (t.service ? `service/${t.service}` : (t.name ?? t.selector ?? '?'))),
    });
  }
  // The Services the site agent made for the network's services: there as soon as the agent
  // learns a service, while network.json is published a moment later (rate-limited).
  try {
    const list = await api.core.listNamespacedService({ namespace: api.namespace, labelSelector: 'internal.skupper.io/address' });
    for (const svc of list.items) {
      const address = svc.metadata?.labels?.['internal.skupper.io/address'];
      if (!address || entries.has(address) || svc.metadata?.annotations?.['internal.skupper.io/controlled'] !== 'true') continue;
      entries.set(address, {
        address,
        protocol: svc.metadata?.annotations?.['internal.skupper.io/protocol'] ?? 'tcp',
        ports: (svc.spec?.ports ?? []).map((p) => p.port),
        local: false,
      });
    }
  } catch {
    // Listing Services may be forbidden: network.json is enough.
  }
  const network = await readNetworkJson(api);
  const siteNames = new Map((network?.sites ?? []).map((s) => [s.id, s.name]));
  for (const s of network?.services ?? []) {
    const exposedIn = (s.exposedIn ?? []).map((id) => siteNames.get(id) ?? id);
    const existing = entries.get(s.address);
    if (existing) existing.exposedIn = exposedIn;
    else entries.set(s.address, { address: s.address, protocol: s.protocol, ports: s.ports, local: false, exposedIn });
  }
  return [...entries.values()].sort((a, b) => a.address.localeCompare(b.address));
}

interface NetworkJson {
  updated?: string;
  sites?: { id: string; name: string; namespace?: string; platform?: string }[];
  links?: unknown[];
  services?: { address: string; protocol: string; ports: number[]; exposedIn?: string[] }[];
}

/** The `network.json` the site agent publishes, or undefined when it has not yet. */
export async function readNetworkJson(api: ServiceApi): Promise<NetworkJson | undefined> {
  try {
    const cm = await api.core.readNamespacedConfigMap({ name: NETWORK_STATUS_CONFIGMAP, namespace: api.namespace });
    const text = cm.data?.['network.json'];
    return text ? (JSON.parse(text) as NetworkJson) : undefined;
  } catch (error) {
    if (isNotFound(error) || error instanceof SyntaxError) return undefined;
    throw apiError(`read ConfigMap ${NETWORK_STATUS_CONFIGMAP} in ${api.namespace}`, error);
  }
}
