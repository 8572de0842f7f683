// The site lifecycle on Kubernetes: init, status, delete. The objects come from build.ts; this file
// only applies, waits, reads back and removes them.
import { Cancelled, UserError, errorMessage } from '../errors';
import type { KubeClient, KubeObject, Kind } from '../kube/client';
import { type KeyPair, createCA, issueCertificate, splitHostNames } from '../pki';
import {
  type ResolvedSiteOptions,
  SITE_KINDS,
  type SiteOptions,
  type SiteRecord,
  bundleConfigMap,
  controllerRole,
  controllerRoleBinding,
  controllerServiceAccount,
  networkStatusConfigMap,
  resolveOptions,
  routerDeployment,
  routerService,
  serverCertificateNames,
  servicesConfigMap,
  siteCASecret,
  siteConfigMap,
  siteOwner,
  siteRecordFrom,
  siteServerSecret,
} from './build';
import { readRouterBundleGzip } from './bundle';
import { adoptedConfigMap, declaredAsWritten, declaredSettings, isDeclaredOnly } from './declared';
import {
  LINK_SELECTOR,
  NETWORK_STATUS_CONFIGMAP,
  PART_OF,
  PART_OF_LABEL,
  ROUTER,
  SERVICES_CONFIGMAP,
  SITE_CA_SECRET,
  SITE_CONFIGMAP,
  SITE_SERVER_SECRET,
} from './names';

export type Progress = (line: string) => void;

export interface InitOptions extends SiteOptions {
  /** Re-apply the objects of an existing site (keeps its id and CA). */
  update?: boolean;
  /** Path of router.js (found next to the running program by default) or its gzip content. */
  bundlePath?: string;
  bundleGzip?: Buffer;
  ingressTimeoutMs?: number;
  readyTimeoutMs?: number;
  /** Do not wait for the router to be ready. */
  noWait?: boolean;
  progress?: Progress;
  /** Cancels init: it stops before the next step and removes what it created (throws Cancelled). */
  signal?: AbortSignal;
  /** Test hook: called after each object is applied (e.g. to interrupt init part-way). */
  afterApply?: (object: KubeObject) => Promise<void> | void;
}

export interface InitResult {
  site: SiteRecord;
  created: string[];
  ingressAddress?: string;
  ready: boolean;
  elapsedMs: number;
  bytes: number;
}

/** Init failed or was cancelled, and what it had created could not all be removed: the user must act. */
export class InitCleanupFailed extends UserError {}

/** Waits `ms`; an abort ends the wait early (the caller checks the signal next). */
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

function checkCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new Cancelled('site initialization cancelled');
}
const objectName = (o: KubeObject) => `${o.kind}/${o.metadata.name}`;

export async function readSite(client: KubeClient): Promise<SiteRecord | undefined> {
  const cm = await client.get<KubeObject>('ConfigMap', SITE_CONFIGMAP);
  return cm ? siteRecordFrom(cm) : undefined;
}

export async function initSite(client: KubeClient, options: InitOptions): Promise<InitResult> {
  const started = Date.now();
  const signal = options.signal;
  // A reporter that throws (a closed notification) must stop neither init nor its clean-up.
  const progress: Progress = (line) => {
    try {
      options.progress?.(line);
    } catch {
      // the line is lost, nothing else
    }
  };
  checkCancelled(signal);
  const found = await client.get<KubeObject>('ConfigMap', SITE_CONFIGMAP);
  // A skupper-site ConfigMap written by hand before init (Skupper 1.x's declarative way) is adopted:
  // its settings are the site's, and it stays when init fails or is cancelled.
  const declared = found && !options.update && (await isDeclaredOnly(client, found)) ? found : undefined;
  const existing = declared ? undefined : found;
  if (existing && !options.update) {
    const site = siteRecordFrom(existing);
    throw new UserError(
      `site ${site.name} already exists in namespace ${client.namespace} (id ${site.id}); use \`van delete\` first or \`--update\``,
    );
  }
  let settings: SiteOptions = options;
  if (declared) {
    const { settings: fromConfigMap, problems } = declaredSettings(declared.data as Record<string, string> | undefined);
    if (problems.length) throw new UserError(`ConfigMap ${SITE_CONFIGMAP} in namespace ${client.namespace}: ${problems.join('; ')}`);
    for (const [key, value] of Object.entries(fromConfigMap)) {
      const asked = options[key as keyof SiteOptions];
      if (asked !== undefined && asked !== value)
        progress(`${SITE_CONFIGMAP} sets ${key} ${String(value)}: used instead of ${String(asked)}`);
    }
    settings = { ...options, ...fromConfigMap };
    progress(`adopting the ${SITE_CONFIGMAP} ConfigMap found in namespace ${client.namespace}`);
  }
  const o = resolveOptions({ ...settings, namespace: client.namespace });
  const bundle = options.bundleGzip ?? readRouterBundleGzip(options.bundlePath).gzip;
  const created: string[] = [];
  let bytes = 0;
  const apply = async (object: KubeObject) => {
    checkCancelled(signal);
    const result = await client.createOrUpdate(object);
    created.push(objectName(object));
    bytes += JSON.stringify(object).length;
    await options.afterApply?.(object);
    return result;
  };

  const siteCm = await apply(declared ? adoptedConfigMap(declared, siteConfigMap(o)) : siteConfigMap(o));
  const siteId = siteCm.metadata.uid!;
  const site = siteRecordFrom(siteCm);
  const owner = siteOwner(siteId);
  try {
    progress(`site ${o.siteName} (id ${siteId}) in namespace ${o.namespace}`);
    await apply(controllerServiceAccount(o, owner));
    await apply(controllerRole(o, owner));
    await apply(controllerRoleBinding(o, owner));
    const ca = await siteCA(client, o, existing !== undefined);
    await apply(siteCASecret(o, owner, ca));
    if (!(await client.get('ConfigMap', SERVICES_CONFIGMAP))) await apply(servicesConfigMap(o, owner));
    if (!(await client.get('ConfigMap', NETWORK_STATUS_CONFIGMAP))) await apply(networkStatusConfigMap(o, owner));
    await apply(bundleConfigMap(o, owner, bundle));
    await apply(routerService(o, owner));
    const ingressAddress = await waitForIngress(client, o, options.ingressTimeoutMs ?? 60_000, progress, signal);
    const names = serverCertificateNames(o, ingressAddress ? [ingressAddress] : []);
    const { dnsNames, ipAddresses } = splitHostNames(names);
    const server = issueCertificate(ca, { commonName: ROUTER, dnsNames, ipAddresses, usage: 'both' });
    await apply(siteServerSecret(o, owner, server, ca));
    await apply(routerDeployment(o, owner, siteId));
    if (existing) await removeFormerRouterAccount(client, siteId, progress);
    let ready = false;
    if (!options.noWait) {
      await waitForRouter(client, o, options.readyTimeoutMs ?? 120_000, progress, signal);
      ready = true;
    }
    // Cancelled while the last step ran: still cancelled.
    checkCancelled(signal);
    return { site, created, ingressAddress, ready, elapsedMs: Date.now() - started, bytes };
  } catch (error) {
    if (!existing) {
      const why = error instanceof Cancelled ? 'cancelled' : `init failed (${errorMessage(error)})`;
      progress(`${why}; removing what was created`);
      const left = await removeSite(client, siteId, { keepSiteConfigMap: declared !== undefined })
        // the declaration goes back to what its author wrote, so that init can adopt it again
        .then(() => (declared ? client.createOrUpdate(declaredAsWritten(declared)) : undefined))
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      if (left !== undefined) {
        throw new InitCleanupFailed(
          `${why}, and removing what it created failed too (${errorMessage(left)}): run "van delete" (Skupper: Delete Site) in namespace ${client.namespace}`,
        );
      }
    }
    throw error;
  }
}

/** The existing CA when updating a site (links made with its tokens keep working), else a new one. */
async function siteCA(client: KubeClient, o: ResolvedSiteOptions, reuse: boolean): Promise<KeyPair> {
  if (reuse) {
    const secret = await client.get<KubeObject>('Secret', SITE_CA_SECRET);
    const data = secret?.data as Record<string, string> | undefined;
    if (data?.['tls.crt'] && data['tls.key']) {
      return { certPem: Buffer.from(data['tls.crt'], 'base64').toString(), keyPem: Buffer.from(data['tls.key'], 'base64').toString() };
    }
  }
  return createCA(`${o.siteName} site CA`);
}

export function ingressAddressOf(service: KubeObject | undefined): string | undefined {
  const status = service?.status as { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } } | undefined;
  const first = status?.loadBalancer?.ingress?.[0];
  return first?.ip || first?.hostname || undefined;
}

async function waitForIngress(
  client: KubeClient,
  o: ResolvedSiteOptions,
  timeoutMs: number,
  progress: Progress,
  signal?: AbortSignal,
): Promise<string | undefined> {
  if (o.ingress !== 'loadbalancer') return o.ingressHost;
  progress('waiting for the ingress address (LoadBalancer)…');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    checkCancelled(signal);
    const address = ingressAddressOf(await client.get<KubeObject>('Service', ROUTER));
    if (address) {
      progress(`ingress address ${address}`);
      return address;
    }
    if (Date.now() > deadline) {
      throw new UserError(
        `service ${ROUTER} got no LoadBalancer address within ${Math.round(timeoutMs / 1000)} s: the cluster may have no load balancer; use --ingress nodeport or --ingress none`,
      );
    }
    await sleep(300, signal);
  }
}

interface DeploymentLike {
  spec?: { replicas?: number };
  status?: { readyReplicas?: number; availableReplicas?: number; replicas?: number };
}

/** Why the router pods are not ready, from their status (image, crash, scheduling). */
async function podProblem(client: KubeClient): Promise<string | undefined> {
  const pods = await client.list<KubeObject>('Pod', `application=${ROUTER}`).catch(() => []);
  for (const pod of pods) {
    const status = pod.status as
      | {
          phase?: string;
          reason?: string;
          message?: string;
          conditions?: { type: string; status: string; reason?: string; message?: string }[];
          containerStatuses?: {
            state?: {
              waiting?: { reason?: string; message?: string };
              terminated?: { reason?: string; message?: string; exitCode?: number };
            };
            lastState?: { terminated?: { reason?: string; message?: string; exitCode?: number } };
          }[];
        }
      | undefined;
    for (const c of status?.containerStatuses ?? []) {
      const waiting = c.state?.waiting;
      const terminated = c.state?.terminated ?? c.lastState?.terminated;
      if (terminated && terminated.exitCode !== 0)
        return `pod ${pod.metadata.name}: router exited ${terminated.exitCode}${terminated.message ? `: ${terminated.message.trim().split('\n').pop()}` : ''}`;
      if (waiting?.reason && waiting.reason !== 'ContainerCreating')
        return `pod ${pod.metadata.name}: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}`;
    }
    if (status?.reason || status?.message) return `pod ${pod.metadata.name}: ${status.reason ?? ''} ${status.message ?? ''}`.trim();
    const unscheduled = status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
    if (unscheduled) return `pod ${pod.metadata.name} not scheduled: ${unscheduled.message ?? unscheduled.reason}`;
  }
  return pods.length === 0 ? 'no router pod was created' : undefined;
}

const FATAL_POD_PROBLEM = /ErrImagePull|ImagePullBackOff|InvalidImageName|CreateContainerConfigError/;

async function waitForRouter(
  client: KubeClient,
  o: ResolvedSiteOptions,
  timeoutMs: number,
  progress: Progress,
  signal?: AbortSignal,
): Promise<void> {
  progress(`waiting for the router (${o.routers} replica${o.routers === 1 ? '' : 's'}) to be ready…`);
  const deadline = Date.now() + timeoutMs;
  let last = '';
  let polls = 0;
  for (;;) {
    checkCancelled(signal);
    const deployment = await client.get<DeploymentLike>('Deployment', ROUTER);
    const ready = deployment?.status?.readyReplicas ?? 0;
    const want = deployment?.spec?.replicas ?? o.routers;
    if (ready >= want) {
      progress(`router ready (${ready}/${want})`);
      return;
    }
    const line = `router ${ready}/${want} ready`;
    if (line !== last) progress(line);
    last = line;
    if (Date.now() > deadline) {
      const problem = await podProblem(client);
      throw new UserError(`the router was not ready within ${Math.round(timeoutMs / 1000)} s${problem ? ` (${problem})` : ''}`);
    }
    // Problems that waiting does not cure: fail now rather than at the deadline.
    if (++polls % 5 === 0) {
      const problem = await podProblem(client);
      if (problem && FATAL_POD_PROBLEM.test(problem)) throw new UserError(`the router cannot start (${problem})`);
    }
    await sleep(300, signal);
  }
}

export interface SiteStatus {
  enabled: boolean;
  ready: boolean;
  platform: 'kubernetes' | 'local';
  namespace?: string;
  site: { name: string; id: string; mode: string } | null;
  links: number;
  services: number;
  ingress?: string;
  ingressAddress?: string;
  routers?: { ready: number; total: number };
  problems: string[];
}

export async function siteStatus(client: KubeClient): Promise<SiteStatus> {
  const cm = await client.get<KubeObject>('ConfigMap', SITE_CONFIGMAP);
  if (!cm)
    return {
      enabled: false,
      ready: false,
      platform: 'kubernetes',
      namespace: client.namespace,
      site: null,
      links: 0,
      services: 0,
      problems: [],
    };
  const site = siteRecordFrom(cm);
  const [deployment, service, server, links, services] = await Promise.all([
    client.get<DeploymentLike>('Deployment', ROUTER),
    client.get<KubeObject>('Service', ROUTER),
    client.get<KubeObject>('Secret', SITE_SERVER_SECRET),
    client.list<KubeObject>('Secret', LINK_SELECTOR),
    client.get<KubeObject>('ConfigMap', SERVICES_CONFIGMAP),
  ]);
  const problems: string[] = [];
  if (!deployment) problems.push(`deployment ${ROUTER} is missing (an interrupted init? run \`van delete\` then \`van init\`)`);
  if (!server) problems.push(`secret ${SITE_SERVER_SECRET} is missing`);
  if (!service) problems.push(`service ${ROUTER} is missing`);
  const total = deployment?.spec?.replicas ?? 0;
  const readyReplicas = deployment?.status?.readyReplicas ?? 0;
  if (deployment && readyReplicas < total) {
    const problem = await podProblem(client);
    problems.push(`router ${readyReplicas}/${total} ready${problem ? `: ${problem}` : ''}`);
  }
  const address = ingressAddressOf(service) ?? site.ingressHost;
  if (site.ingress === 'loadbalancer' && service && !ingressAddressOf(service)) problems.push('the LoadBalancer has no address yet');
  return {
    enabled: true,
    ready: problems.length === 0 && total > 0 && readyReplicas >= total,
    platform: 'kubernetes',
    namespace: client.namespace,
    site: { name: site.name, id: site.id, mode: site.routerMode },
    links: links.length,
    services: Object.keys((services?.data as object) ?? {}).length,
    ingress: site.ingress,
    ...(address ? { ingressAddress: address } : {}),
    routers: { ready: readyReplicas, total },
    problems,
  };
}

/**
 * Sites made before the router pod had a controller container gave the router's own account
 * (skupper-router) write rights on every Secret, ConfigMap and Service: an update removes it.
 */
async function removeFormerRouterAccount(client: KubeClient, siteId: string, progress: Progress): Promise<void> {
  for (const kind of ['RoleBinding', 'Role', 'ServiceAccount'] as const) {
    const former = await client.get<KubeObject>(kind, ROUTER);
    if (!former?.metadata.ownerReferences?.some((r) => r.uid === siteId)) continue;
    await client.delete(kind, ROUTER);
    progress(`removed ${kind}/${ROUTER}, the router's former account`);
  }
}

/** Removes the site: every object of the site's kinds owned by the site ConfigMap or labelled as part
 * of Skupper, workloads first (so the agent stops before what it manages goes), then the site
 * ConfigMap itself (the garbage collector catches anything the sweep missed), then one more sweep
 * for what was created meanwhile. An interrupted delete leaves the site ConfigMap, so `status` still
 * shows the site and `delete` can run again. Returns what was removed. */
export async function removeSite(client: KubeClient, siteUid?: string, opts: { keepSiteConfigMap?: boolean } = {}): Promise<string[]> {
  const removed: string[] = [];
  const sweep = async () => {
    for (const kind of SITE_KINDS) {
      const items = await client.list<KubeObject>(kind as Kind);
      for (const item of items) {
        if (kind === 'ConfigMap' && item.metadata.name === SITE_CONFIGMAP) continue;
        const owned = siteUid !== undefined && (item.metadata.ownerReferences ?? []).some((r) => r.uid === siteUid);
        const labelled = item.metadata.labels?.[PART_OF_LABEL] === PART_OF;
        if (!owned && !labelled) continue;
        const name = `${kind}/${item.metadata.name}`;
        // Gone already (the garbage collector may be quicker than us) counts as removed.
        await client.delete(kind as Kind, item.metadata.name!);
        if (!removed.includes(name)) removed.push(name);
      }
    }
  };
  await sweep();
  if (opts.keepSiteConfigMap) return removed;
  if (await client.delete('ConfigMap', SITE_CONFIGMAP)) removed.push(`ConfigMap/${SITE_CONFIGMAP}`);
  await sweep();
  return removed;
}

export interface DeleteResult {
  existed: boolean;
  site?: SiteRecord;
  removed: string[];
  podsGone: boolean;
}

export async function deleteSite(client: KubeClient, options: { waitMs?: number; progress?: Progress } = {}): Promise<DeleteResult> {
  const cm = await client.get<KubeObject>('ConfigMap', SITE_CONFIGMAP);
  const site = cm ? siteRecordFrom(cm) : undefined;
  const removed = await removeSite(client, site?.id);
  // Router pods go with their ReplicaSet through the garbage collector: wait a little for them.
  const deadline = Date.now() + (options.waitMs ?? 30_000);
  let podsGone = false;
  for (;;) {
    const pods = await client.list<KubeObject>('Pod', `application=${ROUTER}`);
    if (pods.length === 0) {
      podsGone = true;
      break;
    }
    if (Date.now() > deadline) break;
    await sleep(300);
  }
  return { existed: cm !== undefined || removed.length > 0, site, removed, podsGone };
}
