// Every Kubernetes object of a site, built by pure functions from the options (no API calls here).
// init applies them in the order of `siteObjects`; the site ConfigMap comes first because its UID is
// the site id and every other object names it as owner, so deleting it removes the whole site.
import type { V1OwnerReference } from '@kubernetes/client-node';
import type { KubeObject } from '../kube/client';
import type { KeyPair } from '../pki';
import { UserError } from '../errors';
import { imageReferenceProblem } from './image';
import {
  APPLICATION_LABEL,
  BUNDLE_CONFIGMAP,
  BUNDLE_DIR,
  BUNDLE_KEY,
  CERTS_DIR,
  CHANNEL_DIR,
  CLAIMS_PORT,
  CONTROLLED_ANNOTATION,
  CONTROLLER,
  EDGE_PORT,
  GATE_PORT,
  HEALTH_PORT,
  type Ingress,
  INTER_ROUTER_PORT,
  NETWORK_STATUS_CONFIGMAP,
  PART_OF,
  PART_OF_LABEL,
  ROUTER,
  ROUTER_SELECTOR,
  type RouterMode,
  SERVICES_CONFIGMAP,
  SITE_CA_SECRET,
  SITE_CONFIGMAP,
  SITE_SERVER_SECRET,
  acceptsLinks,
} from './names';

export interface ResourceOptions {
  requests?: { cpu?: string; memory?: string };
  limits?: { cpu?: string; memory?: string };
}

export interface SiteOptions {
  namespace: string;
  /** Default: the namespace name. */
  siteName?: string;
  ingress?: Ingress;
  /** A host name or IP the site is reached at, added to the server certificate (nodeport, or a known LB name). */
  ingressHost?: string;
  routerMode?: RouterMode;
  /** Router replicas. */
  routers?: number;
  /** Extra labels and annotations for every object of the site. */
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  routerImage?: string;
  resources?: ResourceOptions;
}

export type ResolvedSiteOptions = Required<Omit<SiteOptions, 'ingressHost' | 'resources'>> & Pick<SiteOptions, 'ingressHost' | 'resources'>;

export const DEFAULT_ROUTER_IMAGE = 'node:20-alpine';

export function resolveOptions(options: SiteOptions): ResolvedSiteOptions {
  const routers = options.routers ?? 1;
  if (!Number.isInteger(routers) || routers < 1 || routers > 16)
    throw new RangeError(`routers must be an integer from 1 to 16 (got ${routers})`);
  const imageProblem = options.routerImage ? imageReferenceProblem(options.routerImage) : undefined;
  if (imageProblem) throw new UserError(`router image ${imageProblem}`);
  return {
    namespace: options.namespace,
    siteName: options.siteName || options.namespace,
    ingress: options.ingress ?? 'loadbalancer',
    ingressHost: options.ingressHost,
    routerMode: options.routerMode ?? 'interior',
    routers,
    labels: options.labels ?? {},
    annotations: options.annotations ?? {},
    routerImage: options.routerImage || DEFAULT_ROUTER_IMAGE,
    resources: options.resources,
  };
}

/** What the site ConfigMap says about the site (Skupper 1.x keys). */
export interface SiteRecord {
  name: string;
  id: string;
  namespace: string;
  ingress: Ingress;
  routerMode: RouterMode;
  routers: number;
  ingressHost?: string;
}

export function siteLabels(o: ResolvedSiteOptions, extra: Record<string, string> = {}): Record<string, string> {
  return { ...o.labels, [PART_OF_LABEL]: PART_OF, ...extra };
}

function meta(o: ResolvedSiteOptions, name: string, owner: V1OwnerReference, extraLabels: Record<string, string> = {}) {
  return {
    name,
    namespace: o.namespace,
    labels: siteLabels(o, extraLabels),
    annotations: { ...o.annotations, [CONTROLLED_ANNOTATION]: 'true' },
    ownerReferences: [owner],
  };
}

/** The owner reference every object of the site carries: the site ConfigMap, as controller. */
export function siteOwner(siteUid: string): V1OwnerReference {
  return { apiVersion: 'v1', kind: 'ConfigMap', name: SITE_CONFIGMAP, uid: siteUid, controller: true };
}

/** The site ConfigMap `skupper-site`: the record of the site and the owner of everything else. */
export function siteConfigMap(o: ResolvedSiteOptions): KubeObject {
  const data: Record<string, string> = {
    name: o.siteName,
    ingress: o.ingress,
    'router-mode': o.routerMode,
    routers: String(o.routers),
  };
  if (o.ingressHost) data['ingress-host'] = o.ingressHost;
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    // marked as init's own: a site ConfigMap without the mark is a declaration (declared.ts) init adopts
    metadata: {
      name: SITE_CONFIGMAP,
      namespace: o.namespace,
      labels: siteLabels(o),
      annotations: { ...o.annotations, [CONTROLLED_ANNOTATION]: 'true' },
    },
    data,
  };
}

/** Reads the site ConfigMap back (undefined fields take the defaults). */
export function siteRecordFrom(configMap: KubeObject): SiteRecord {
  const data = (configMap.data ?? {}) as Record<string, string>;
  const ingress = (['loadbalancer', 'nodeport', 'none'].includes(data.ingress) ? data.ingress : 'loadbalancer') as Ingress;
  return {
    name: data.name || configMap.metadata.namespace || '',
    id: configMap.metadata.uid ?? '',
    namespace: configMap.metadata.namespace ?? '',
    ingress,
    routerMode: data['router-mode'] === 'edge' ? 'edge' : 'interior',
    routers: Number(data.routers) || 1,
    ...(data['ingress-host'] ? { ingressHost: data['ingress-host'] } : {}),
  };
}

/**
 * The router pod's account. Only its controller container gets a token (the pod mounts none by
 * default): the router container, which accepts connections from other sites and from claimants,
 * reaches the API through the controller's gate and holds no credential of its own.
 */
export function controllerServiceAccount(o: ResolvedSiteOptions, owner: V1OwnerReference): KubeObject {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(o, CONTROLLER, owner), automountServiceAccountToken: false };
}

/**
 * What the controller container may do in the site's namespace, by name where the name is known:
 * - configmaps: read the site, the services and the status ConfigMap; merge-patch the status (init
 *   creates it, so no create) and the services (the definitions made from skupper.io/proxy
 *   annotations: the gate lets through no other key). Nothing on the router bundle.
 * - secrets: read and update, for link secrets (watched by label) and claim records (named after
 *   their tokens), whose names are not known ahead; no create, no delete. The CA is read to sign
 *   the certificates of redeemed claims; it never leaves this container.
 * - services: one Service per exposed address, named after the address.
 * - pods: read, to find the targets of exposed workloads. events: create/patch.
 * - deployments and statefulsets: read (their skupper.io/proxy annotations; is the router Deployment
 *   being deleted?). Names are not known ahead, so not by name.
 * Every right here is one that ClusterRole admin holds in the namespace, so a namespace admin can
 * grant it; nothing cluster-scoped.
 */
export function controllerRole(o: ResolvedSiteOptions, owner: V1OwnerReference): KubeObject {
  const read = ['get', 'list', 'watch'];
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: meta(o, CONTROLLER, owner),
    rules: [
      {
        apiGroups: [''],
        resources: ['configmaps'],
        resourceNames: [SITE_CONFIGMAP, SERVICES_CONFIGMAP, NETWORK_STATUS_CONFIGMAP],
        verbs: read,
      },
      { apiGroups: [''], resources: ['configmaps'], resourceNames: [NETWORK_STATUS_CONFIGMAP, SERVICES_CONFIGMAP], verbs: ['patch'] },
      { apiGroups: [''], resources: ['secrets'], verbs: [...read, 'update'] },
      { apiGroups: [''], resources: ['services'], verbs: [...read, 'create', 'update', 'delete'] },
      { apiGroups: [''], resources: ['pods'], verbs: read },
      { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
      { apiGroups: ['apps'], resources: ['deployments', 'statefulsets'], verbs: read },
    ],
  };
}

export function controllerRoleBinding(o: ResolvedSiteOptions, owner: V1OwnerReference): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: meta(o, CONTROLLER, owner),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: CONTROLLER },
    subjects: [{ kind: 'ServiceAccount', name: CONTROLLER, namespace: o.namespace }],
  };
}

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

export function siteCASecret(o: ResolvedSiteOptions, owner: V1OwnerReference, ca: KeyPair): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: meta(o, SITE_CA_SECRET, owner),
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': b64(ca.certPem), 'tls.key': b64(ca.keyPem) },
  };
}

/** The names the router's server certificate must carry: its Service's DNS names and every ingress host or IP. */
export function serverCertificateNames(o: ResolvedSiteOptions, ingressHosts: string[] = []): string[] {
  const names = [ROUTER, `${ROUTER}.${o.namespace}`, `${ROUTER}.${o.namespace}.svc`, `${ROUTER}.${o.namespace}.svc.cluster.local`];
  return [...new Set([...names, ...(o.ingressHost ? [o.ingressHost] : []), ...ingressHosts].filter(Boolean))];
}

export function siteServerSecret(o: ResolvedSiteOptions, owner: V1OwnerReference, server: KeyPair, ca: KeyPair): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: meta(o, SITE_SERVER_SECRET, owner),
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': b64(server.certPem), 'tls.key': b64(server.keyPem), 'ca.crt': b64(ca.certPem) },
  };
}

/** Skupper 1.x service definitions, one JSON value per address; empty at init. */
export function servicesConfigMap(o: ResolvedSiteOptions, owner: V1OwnerReference): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(o, SERVICES_CONFIGMAP, owner), data: {} };
}

/** The status ConfigMap the router pod publishes into, made here so that its account needs no create right. */
export function networkStatusConfigMap(o: ResolvedSiteOptions, owner: V1OwnerReference): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(o, NETWORK_STATUS_CONFIGMAP, owner), data: {} };
}

/** The router bundle (dist/router.js, gzipped) the pod runs: the code of the extension that installed it. */
export function bundleConfigMap(o: ResolvedSiteOptions, owner: V1OwnerReference, bundleGzip: Buffer, version = ''): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      ...meta(o, BUNDLE_CONFIGMAP, owner),
      annotations: { ...o.annotations, [CONTROLLED_ANNOTATION]: 'true', ...(version ? { 'skupper.io/bundle-version': version } : {}) },
    },
    binaryData: { [BUNDLE_KEY]: bundleGzip.toString('base64') },
  };
}

/**
 * The container's program: gunzip the mounted bundle and run it as a CommonJS module, without
 * writing it anywhere (the root filesystem may be read-only).
 */
export const LOADER = [
  "const z=require('zlib'),f=require('fs'),M=require('module');",
  `const p=(process.env.SKUPPER_BUNDLE_DIR||'${BUNDLE_DIR}')+'/${BUNDLE_KEY}';`,
  'const m=new M(p,null);m.filename=p;m.paths=[];',
  "m._compile(z.gunzipSync(f.readFileSync(p)).toString('utf8'),p);",
].join('');

function routerPorts(o: ResolvedSiteOptions): { name: string; port: number }[] {
  const ports = [{ name: 'claims', port: CLAIMS_PORT }];
  if (acceptsLinks(o.routerMode, o.ingress)) {
    ports.unshift({ name: 'inter-router', port: INTER_ROUTER_PORT }, { name: 'edge', port: EDGE_PORT });
  }
  return ports;
}

/**
 * One Service `skupper-router` whose type follows the ingress (LoadBalancer, NodePort, or ClusterIP
 * for none): Skupper 1.x's name for the inter-router and edge ports; the claims port rides along.
 */
export function routerService(o: ResolvedSiteOptions, owner: V1OwnerReference): KubeObject {
  const type = o.ingress === 'loadbalancer' ? 'LoadBalancer' : o.ingress === 'nodeport' ? 'NodePort' : 'ClusterIP';
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(o, ROUTER, owner, { [APPLICATION_LABEL]: ROUTER }),
    spec: {
      type,
      selector: { ...ROUTER_SELECTOR },
      ports: routerPorts(o).map((p) => ({ name: p.name, port: p.port, targetPort: p.port, protocol: 'TCP' })),
    },
  };
}

/** The uid (and gid) the router pod's containers run as: not root, not a uid an image is likely to own files as. */
export const RUN_AS_USER = 10000;

/** Every container of the router pod: not root, read-only root filesystem, no privilege, no capability. */
export function containerSecurityContext(): Record<string, unknown> {
  return {
    runAsNonRoot: true,
    runAsUser: RUN_AS_USER,
    runAsGroup: RUN_AS_USER,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Where the controller container finds its token, as the API server's own projection would put it. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * The router pod: two containers running the same bundle.
 * - `router`: the router, the site agent and the claims front: everything that accepts connections
 *   from outside. No service-account token, no CA: it reaches the API only through the controller's
 *   gate on the pod's loopback, which forwards a fixed list of requests (controller/gate.ts), and
 *   hands claim redemptions to the controller.
 * - `controller`: holds the token (projected into this container only) and the rights of the
 *   skupper-controller Role; reads the CA to sign redeemed claims. Listens on loopback only.
 */
export function routerDeployment(o: ResolvedSiteOptions, owner: V1OwnerReference, siteId: string): KubeObject {
  const labels = siteLabels(o, { ...ROUTER_SELECTOR, 'app.kubernetes.io/name': ROUTER });
  const fieldEnv = (name: string, fieldPath: string) => ({ name, valueFrom: { fieldRef: { fieldPath } } });
  const containerPorts = [...routerPorts(o), { name: 'health', port: HEALTH_PORT }].map((p) => ({
    name: p.name,
    containerPort: p.port,
    protocol: 'TCP',
  }));
  const probe = (path: string, extra: object) => ({ httpGet: { path, port: HEALTH_PORT }, ...extra });
  const podEnv = [
    fieldEnv('POD_IP', 'status.podIP'),
    fieldEnv('POD_NAME', 'metadata.name'),
    fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
  ];
  const gateEnv = [
    { name: 'SKUPPER_GATE_PORT', value: String(GATE_PORT) },
    { name: 'SKUPPER_CHANNEL_DIR', value: CHANNEL_DIR },
  ];
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(o, ROUTER, owner, { ...ROUTER_SELECTOR }),
    spec: {
      replicas: o.routers,
      selector: { matchLabels: { ...ROUTER_SELECTOR } },
      template: {
        metadata: { labels, annotations: { ...o.annotations } },
        spec: {
          serviceAccountName: CONTROLLER,
          // No token in every container: the controller's volume below projects one into it alone.
          automountServiceAccountToken: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: RUN_AS_USER,
            runAsGroup: RUN_AS_USER,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'router',
              image: o.routerImage,
              command: ['node', '-e', LOADER],
              env: [
                ...podEnv,
                { name: 'SKUPPER_SITE_ID', value: siteId },
                { name: 'SKUPPER_SITE_NAME', value: o.siteName },
                { name: 'SKUPPER_BUNDLE_DIR', value: BUNDLE_DIR },
                { name: 'SKUPPER_CERTS_DIR', value: CERTS_DIR },
                { name: 'SKUPPER_HEALTH_PORT', value: String(HEALTH_PORT) },
                ...gateEnv,
              ],
              ports: containerPorts,
              readinessProbe: probe('/readyz', { initialDelaySeconds: 0, periodSeconds: 2, failureThreshold: 3 }),
              livenessProbe: probe('/healthz', { initialDelaySeconds: 10, periodSeconds: 10, failureThreshold: 6 }),
              // No default requests: the cluster's LimitRange (if any) decides; --resources sets them.
              ...(o.resources ? { resources: o.resources } : {}),
              securityContext: containerSecurityContext(),
              volumeMounts: [
                { name: 'router-bundle', mountPath: BUNDLE_DIR, readOnly: true },
                { name: 'router-certs', mountPath: CERTS_DIR, readOnly: true },
                { name: 'channel', mountPath: CHANNEL_DIR },
                // The link certificates and keys the agent writes for the router (a private folder).
                { name: 'tmp', mountPath: '/tmp' },
              ],
            },
            {
              name: 'controller',
              image: o.routerImage,
              command: ['node', '-e', LOADER],
              env: [
                ...podEnv,
                { name: 'SKUPPER_COMPONENT', value: 'controller' },
                { name: 'SKUPPER_BUNDLE_DIR', value: BUNDLE_DIR },
                ...gateEnv,
              ],
              securityContext: containerSecurityContext(),
              volumeMounts: [
                { name: 'router-bundle', mountPath: BUNDLE_DIR, readOnly: true },
                { name: 'channel', mountPath: CHANNEL_DIR, readOnly: true },
                { name: 'controller-token', mountPath: SERVICE_ACCOUNT_DIR, readOnly: true },
              ],
            },
          ],
          volumes: [
            { name: 'router-bundle', configMap: { name: BUNDLE_CONFIGMAP } },
            { name: 'router-certs', secret: { secretName: SITE_SERVER_SECRET } },
            { name: 'channel', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
            { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } },
            {
              // What the API server's kube-api-access volume holds, for the controller container only.
              name: 'controller-token',
              projected: {
                defaultMode: 0o444,
                sources: [
                  { serviceAccountToken: { path: 'token', expirationSeconds: 3607 } },
                  { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
                  { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
                ],
              },
            },
          ],
        },
      },
    },
  };
}

export interface SiteMaterial {
  ca: KeyPair;
  server: KeyPair;
  bundleGzip: Buffer;
  bundleVersion?: string;
}

/** Every object but the site ConfigMap, in the order init applies them (Service before the server
 * certificate, because the certificate names the Service's ingress address; Deployment last). */
export function siteObjects(o: ResolvedSiteOptions, siteUid: string, material: SiteMaterial): KubeObject[] {
  const owner = siteOwner(siteUid);
  return [
    controllerServiceAccount(o, owner),
    controllerRole(o, owner),
    controllerRoleBinding(o, owner),
    siteCASecret(o, owner, material.ca),
    servicesConfigMap(o, owner),
    networkStatusConfigMap(o, owner),
    bundleConfigMap(o, owner, material.bundleGzip, material.bundleVersion),
    routerService(o, owner),
    siteServerSecret(o, owner, material.server, material.ca),
    routerDeployment(o, owner, siteUid),
  ];
}

/** The kinds a site's objects may have, in the order a sweep deletes them (workloads first). */
export const SITE_KINDS = ['Deployment', 'Service', 'RoleBinding', 'Role', 'ServiceAccount', 'Secret', 'ConfigMap'] as const;
