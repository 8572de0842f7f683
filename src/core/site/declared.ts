// A site declared the Skupper 1.x way: a `skupper-site` ConfigMap written by hand (kept in Git,
// applied with kubectl) before any site exists. `init` adopts it: its settings are the site's.
// Pure functions plus one read; kube.ts's initSite uses them.
import type { KubeClient, KubeObject } from '../kube/client';
import { CONTROLLED_ANNOTATION, INGRESS_TYPES, type Ingress, ROUTER, type RouterMode, SITE_CONFIGMAP } from './names';

/** What a declared site ConfigMap sets, in init's terms. */
export interface DeclaredSettings {
  siteName?: string;
  ingress?: Ingress;
  ingressHost?: string;
  routerMode?: RouterMode;
  routers?: number;
}

/** 1.x ingress types this site has no equivalent for (OpenShift routes, ingress controllers). */
const UNSUPPORTED_INGRESS = ['route', 'nginx-ingress-v1', 'contour-http-proxy', 'ingress', 'kubernetes.io/ingress'];

const isTrue = (v: string | undefined) => v !== undefined && v.trim().toLowerCase() === 'true';

/**
 * The settings of a declared `skupper-site` ConfigMap's data (1.x keys: name, ingress, ingress-host,
 * router-mode, routers, and the older cluster-local and edge), with the problems that stop init, each
 * saying what to change. Keys it does not know (console, flow-collector, ...) are left as they are.
 */
export function declaredSettings(data: Record<string, string> | undefined): { settings: DeclaredSettings; problems: string[] } {
  const d = data ?? {};
  const settings: DeclaredSettings = {};
  const problems: string[] = [];
  if (d.name?.trim()) settings.siteName = d.name.trim();
  const ingress = d.ingress?.trim();
  if (ingress) {
    if ((INGRESS_TYPES as readonly string[]).includes(ingress)) settings.ingress = ingress as Ingress;
    else if (UNSUPPORTED_INGRESS.includes(ingress))
      problems.push(`ingress "${ingress}" is not available here: set ingress to loadbalancer, nodeport or none in skupper-site`);
    else problems.push(`ingress "${ingress}" is unknown: set ingress to loadbalancer, nodeport or none in skupper-site`);
  }
  if (isTrue(d['cluster-local'])) {
    if (settings.ingress && settings.ingress !== 'none')
      problems.push(`cluster-local is true but ingress is ${settings.ingress}: remove one of them from skupper-site`);
    settings.ingress = 'none';
  }
  if (d['ingress-host']?.trim()) settings.ingressHost = d['ingress-host'].trim();
  const mode = d['router-mode']?.trim();
  if (mode) {
    if (mode === 'interior' || mode === 'edge') settings.routerMode = mode;
    else problems.push(`router-mode "${mode}" is unknown: set it to interior or edge in skupper-site`);
  } else if (isTrue(d.edge)) settings.routerMode = 'edge';
  const routers = d.routers?.trim();
  if (routers) {
    const n = Number(routers);
    if (/^\d+$/.test(routers) && n >= 1 && n <= 16) settings.routers = n;
    else problems.push(`routers "${routers}" must be a whole number from 1 to 16 in skupper-site`);
  }
  return { settings, problems };
}

/**
 * Whether the existing site ConfigMap is a declaration only: not written by init (which marks its own,
 * so a site whose init was killed part-way is reported as existing, not adopted) and no router
 * Deployment belongs to it yet.
 */
export async function isDeclaredOnly(client: KubeClient, siteConfigMap: KubeObject): Promise<boolean> {
  if (siteConfigMap.metadata.annotations?.[CONTROLLED_ANNOTATION] === 'true') return false;
  const deployment = await client.get<KubeObject>('Deployment', ROUTER);
  const uid = siteConfigMap.metadata.uid;
  return !deployment?.metadata.ownerReferences?.some((r) => r.uid === uid);
}

/** The site ConfigMap init writes over a declared one: its own keys added, everything the user wrote kept. */
export function adoptedConfigMap(declared: KubeObject, built: KubeObject): KubeObject {
  return {
    ...built,
    metadata: {
      ...built.metadata,
      labels: { ...(declared.metadata.labels ?? {}), ...(built.metadata.labels ?? {}) },
      annotations: { ...(declared.metadata.annotations ?? {}), ...(built.metadata.annotations ?? {}) },
    },
    data: {
      ...((declared.data as Record<string, string> | undefined) ?? {}),
      ...((built.data as Record<string, string> | undefined) ?? {}),
    },
  };
}

/** A declared ConfigMap as its author wrote it (what a failed or cancelled init puts back). */
export function declaredAsWritten(declared: KubeObject): KubeObject {
  const { name, namespace, labels, annotations } = declared.metadata;
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, labels, annotations }, data: declared.data };
}

/** The name of the site a hand-written `skupper-site` ConfigMap declares here, when no site is installed yet. */
export async function findDeclaredSite(client: KubeClient): Promise<string | undefined> {
  const cm = await client.get<KubeObject>('ConfigMap', SITE_CONFIGMAP);
  if (!cm || !(await isDeclaredOnly(client, cm))) return undefined;
  return declaredSettings(cm.data as Record<string, string> | undefined).settings.siteName ?? client.namespace;
}
