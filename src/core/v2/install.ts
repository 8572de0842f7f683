// What `van crds install` puts in a cluster: the six CRDs, a ClusterRole that adds the Skupper 2.x
// kinds to the built-in admin and edit roles (so a namespace admin may use them), and, when asked, the
// controller that reconciles them: a Deployment running this program's router bundle with
// SKUPPER_COMPONENT=v2-controller, in one namespace (watching it, or every namespace).
import { UserError } from '../errors';
import type { KubeClient, KubeObject } from '../kube/client';
import { kubeError, statusCode } from '../kube/errors';
import { DEFAULT_ROUTER_IMAGE, LOADER, containerSecurityContext } from '../site/build';
import { BUNDLE_DIR, BUNDLE_KEY, PART_OF, PART_OF_LABEL } from '../site/names';
import { V2Api } from './api';
import { GROUP, PLURALS, V2_KINDS } from './types';

export const V2_CONTROLLER = 'skupper-v2-controller';
export const V2_CONTROLLER_BUNDLE = 'skupper-v2-controller-bundle';
export const AGGREGATE_ROLE = 'skupper-v2-resources';

const labels = { [PART_OF_LABEL]: PART_OF, 'app.kubernetes.io/name': V2_CONTROLLER };

/** Adds the six kinds (and their status) to ClusterRoles admin and edit through aggregation. */
export function aggregateClusterRole(): KubeObject {
  const resources = V2_KINDS.map((k) => PLURALS[k]);
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: {
      name: AGGREGATE_ROLE,
      labels: {
        [PART_OF_LABEL]: PART_OF,
        'rbac.authorization.k8s.io/aggregate-to-admin': 'true',
        'rbac.authorization.k8s.io/aggregate-to-edit': 'true',
      },
    },
    rules: [
      { apiGroups: [GROUP], resources, verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'] },
      { apiGroups: [GROUP], resources: resources.map((r) => `${r}/status`), verbs: ['get', 'update', 'patch'] },
    ],
  };
}

export interface ControllerInstall {
  namespace: string;
  /** Watch every namespace (a ClusterRoleBinding to admin) instead of its own (a RoleBinding). */
  allNamespaces: boolean;
  image?: string;
  bundleGzip: Buffer;
}

/**
 * The controller's objects. Its rights are the built-in ClusterRole admin's (with the aggregated kinds
 * above): a site needs a Role and RoleBinding, and only a holder of every right they grant may make them.
 */
export function controllerObjects(o: ControllerInstall): KubeObject[] {
  const meta = (name: string, namespace: string | undefined = o.namespace) => ({
    name,
    ...(namespace ? { namespace } : {}),
    labels: { ...labels },
  });
  const subject = { kind: 'ServiceAccount', name: V2_CONTROLLER, namespace: o.namespace };
  const binding: KubeObject = o.allNamespaces
    ? {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: meta(`${V2_CONTROLLER}-${o.namespace}`, undefined),
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' },
        subjects: [subject],
      }
    : {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: meta(V2_CONTROLLER),
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' },
        subjects: [subject],
      };
  const selector = { 'app.kubernetes.io/name': V2_CONTROLLER };
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(V2_CONTROLLER) },
    binding,
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: meta(V2_CONTROLLER_BUNDLE),
      binaryData: { [BUNDLE_KEY]: o.bundleGzip.toString('base64') },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta(V2_CONTROLLER),
      spec: {
        replicas: 1,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels: { ...labels } },
          spec: {
            serviceAccountName: V2_CONTROLLER,
            securityContext: { runAsNonRoot: true, runAsUser: 10000, runAsGroup: 10000, seccompProfile: { type: 'RuntimeDefault' } },
            containers: [
              {
                name: 'controller',
                image: o.image || DEFAULT_ROUTER_IMAGE,
                command: ['node', '-e', LOADER],
                env: [
                  { name: 'SKUPPER_COMPONENT', value: 'v2-controller' },
                  { name: 'SKUPPER_BUNDLE_DIR', value: BUNDLE_DIR },
                  { name: 'SKUPPER_WATCH_NAMESPACES', value: o.allNamespaces ? '*' : o.namespace },
                  { name: 'SKUPPER_ROUTER_IMAGE', value: o.image || DEFAULT_ROUTER_IMAGE },
                  { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                ],
                securityContext: containerSecurityContext(),
                volumeMounts: [{ name: 'bundle', mountPath: BUNDLE_DIR, readOnly: true }],
              },
            ],
            volumes: [{ name: 'bundle', configMap: { name: V2_CONTROLLER_BUNDLE } }],
          },
        },
      },
    },
  ];
}

/** Applies an object of any kind the install needs (ClusterRole and ClusterRoleBinding are not site kinds). */
async function applyObject(client: KubeClient, object: KubeObject): Promise<void> {
  const rbac = client.rbac;
  const name = object.metadata.name!;
  const body = object as never;
  try {
    if (object.kind === 'ClusterRole') {
      const existing = await rbac.readClusterRole({ name }).catch((e) => (statusCode(e) === 404 ? undefined : Promise.reject(e)));
      if (existing)
        await rbac.replaceClusterRole({
          name,
          body: { ...object, metadata: { ...object.metadata, resourceVersion: existing.metadata?.resourceVersion } } as never,
        });
      else await rbac.createClusterRole({ body });
    } else if (object.kind === 'ClusterRoleBinding') {
      const existing = await rbac.readClusterRoleBinding({ name }).catch((e) => (statusCode(e) === 404 ? undefined : Promise.reject(e)));
      if (existing)
        await rbac.replaceClusterRoleBinding({
          name,
          body: { ...object, metadata: { ...object.metadata, resourceVersion: existing.metadata?.resourceVersion } } as never,
        });
      else await rbac.createClusterRoleBinding({ body });
    } else {
      await client.createOrUpdate(object);
    }
  } catch (error) {
    if (error instanceof UserError && !/forbidden|not allowed/i.test(error.message)) throw error;
    if (statusCode(error) === 403 || (error instanceof UserError && /forbidden|not allowed/i.test(error.message))) {
      throw new UserError(
        `not allowed to create ${object.kind} ${name}${object.metadata.namespace ? ` in namespace ${object.metadata.namespace}` : ''}: ` +
          (object.kind.startsWith('Cluster')
            ? 'this needs cluster-admin rights; ask a cluster admin, or install the controller for one namespace (leave out --all-namespaces)'
            : 'you need the admin role in this namespace'),
      );
    }
    throw kubeError(error, client.callContext('create', object.kind.toLowerCase(), name, object.metadata.namespace ?? ''));
  }
}

export interface InstallResult {
  crds: { name: string; action: 'created' | 'updated' }[];
  objects: string[];
}

/** `van crds install`: the CRDs and the aggregated ClusterRole (cluster-admin), then the controller if asked. */
export async function installCrds(client: KubeClient, controller?: Omit<ControllerInstall, 'namespace'>): Promise<InstallResult> {
  const api = new V2Api(client);
  const crds = await api.installCrds();
  await applyObject(client, aggregateClusterRole());
  await api.waitEstablished();
  const objects = [`ClusterRole/${AGGREGATE_ROLE}`];
  if (controller) objects.push(...(await installController(client, { ...controller, namespace: client.namespace })));
  return { crds, objects };
}

/** The controller alone (a namespace admin may install it for their namespace once the CRDs are there). */
export async function installController(client: KubeClient, o: ControllerInstall): Promise<string[]> {
  const done: string[] = [];
  for (const object of controllerObjects(o)) {
    await applyObject(client, object);
    done.push(`${object.kind}/${object.metadata.name}`);
  }
  return done;
}
