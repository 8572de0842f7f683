// A client for one context (or for the pod's own service account), with a per-call timeout and
// errors mapped to one line. The typed APIs of @kubernetes/client-node are reached through a small
// table of the kinds a site uses, so create-or-update and sweeps can be written once.
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  RbacAuthorizationV1Api,
  type RequestContext,
  ServerConfiguration,
  createConfiguration,
  type V1ObjectMeta,
} from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { UserError } from '../errors';
import { type ContextInfo, type Kubeconfig, kubeConfigFor, loadKubeconfig, resolveContext } from './config';
import { type CallContext, kubeError, statusCode } from './errors';

export const DEFAULT_TIMEOUT_MS = 10_000;

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: V1ObjectMeta;
  [field: string]: unknown;
}

export type Kind =
  'ConfigMap' | 'Secret' | 'Service' | 'ServiceAccount' | 'Pod' | 'Event' | 'Role' | 'RoleBinding' | 'Deployment' | 'StatefulSet';

interface KindOps {
  apiVersion: string;
  resource: string;
  read(name: string, namespace: string): Promise<unknown>;
  create(namespace: string, body: KubeObject): Promise<unknown>;
  replace(name: string, namespace: string, body: KubeObject): Promise<unknown>;
  remove(name: string, namespace: string): Promise<unknown>;
  list(namespace: string, labelSelector?: string): Promise<{ items: unknown[] }>;
}

export interface ClientOptions {
  /** Kubeconfig file(s): a colon-separated string or a list. KUBECONFIG (or ~/.kube/config) by default. */
  kubeconfig?: string | string[];
  context?: string;
  namespace?: string;
  timeoutMs?: number;
}

export class KubeClient {
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly rbac: RbacAuthorizationV1Api;
  private readonly kinds: Record<Kind, KindOps>;

  constructor(
    readonly kc: KubeConfig,
    /** A name for messages: the context name, or "in-cluster". */
    readonly contextName: string,
    readonly server: string,
    readonly namespace: string,
    readonly timeoutMs: number = DEFAULT_TIMEOUT_MS,
  ) {
    // The generated clients take their auth from an object with applySecurityAuthentication: wrap the
    // KubeConfig's so every call also gets an abort signal (watches use their own path, without it).
    const auth = {
      getName: () => 'van',
      applySecurityAuthentication: async (request: RequestContext) => {
        await kc.applySecurityAuthentication(request);
        request.setSignal(AbortSignal.timeout(this.timeoutMs));
      },
    };
    const configuration = createConfiguration({ baseServer: new ServerConfiguration(server, {}), authMethods: { default: auth } });
    this.core = new CoreV1Api(configuration);
    this.apps = new AppsV1Api(configuration);
    this.rbac = new RbacAuthorizationV1Api(configuration);
    const core = this.core;
    const apps = this.apps;
    const rbac = this.rbac;
    type B = never;
    this.kinds = {
      ConfigMap: {
        apiVersion: 'v1',
        resource: 'configmaps',
        read: (name, namespace) => core.readNamespacedConfigMap({ name, namespace }),
        create: (namespace, body) => core.createNamespacedConfigMap({ namespace, body: body as B }),
        replace: (name, namespace, body) => core.replaceNamespacedConfigMap({ name, namespace, body: body as B }),
        remove: (name, namespace) => core.deleteNamespacedConfigMap({ name, namespace }),
        list: (namespace, labelSelector) => core.listNamespacedConfigMap({ namespace, labelSelector }),
      },
      Secret: {
        apiVersion: 'v1',
        resource: 'secrets',
        read: (name, namespace) => core.readNamespacedSecret({ name, namespace }),
        create: (namespace, body) => core.createNamespacedSecret({ namespace, body: body as B }),
        replace: (name, namespace, body) => core.replaceNamespacedSecret({ name, namespace, body: body as B }),
        remove: (name, namespace) => core.deleteNamespacedSecret({ name, namespace }),
        list: (namespace, labelSelector) => core.listNamespacedSecret({ namespace, labelSelector }),
      },
      Service: {
        apiVersion: 'v1',
        resource: 'services',
        read: (name, namespace) => core.readNamespacedService({ name, namespace }),
        create: (namespace, body) => core.createNamespacedService({ namespace, body: body as B }),
        replace: (name, namespace, body) => core.replaceNamespacedService({ name, namespace, body: body as B }),
        remove: (name, namespace) => core.deleteNamespacedService({ name, namespace }),
        list: (namespace, labelSelector) => core.listNamespacedService({ namespace, labelSelector }),
      },
      ServiceAccount: {
        apiVersion: 'v1',
        resource: 'serviceaccounts',
        read: (name, namespace) => core.readNamespacedServiceAccount({ name, namespace }),
        create: (namespace, body) => core.createNamespacedServiceAccount({ namespace, body: body as B }),
        replace: (name, namespace, body) => core.replaceNamespacedServiceAccount({ name, namespace, body: body as B }),
        remove: (name, namespace) => core.deleteNamespacedServiceAccount({ name, namespace }),
        list: (namespace, labelSelector) => core.listNamespacedServiceAccount({ namespace, labelSelector }),
      },
      Pod: {
        apiVersion: 'v1',
        resource: 'pods',
        read: (name, namespace) => core.readNamespacedPod({ name, namespace }),
        create: (namespace, body) => core.createNamespacedPod({ namespace, body: body as B }),
        replace: (name, namespace, body) => core.replaceNamespacedPod({ name, namespace, body: body as B }),
        remove: (name, namespace) => core.deleteNamespacedPod({ name, namespace }),
        list: (namespace, labelSelector) => core.listNamespacedPod({ namespace, labelSelector }),
      },
      Event: {
        apiVersion: 'v1',
        resource: 'events',
        read: (name, namespace) => core.readNamespacedEvent({ name, namespace }),
        create: (namespace, body) => core.createNamespacedEvent({ namespace, body: body as B }),
        replace: (name, namespace, body) => core.replaceNamespacedEvent({ name, namespace, body: body as B }),
        remove: (name, namespace) => core.deleteNamespacedEvent({ name, namespace }),
        list: (namespace, labelSelector) => core.listNamespacedEvent({ namespace, labelSelector }),
      },
      Role: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        resource: 'roles',
        read: (name, namespace) => rbac.readNamespacedRole({ name, namespace }),
        create: (namespace, body) => rbac.createNamespacedRole({ namespace, body: body as B }),
        replace: (name, namespace, body) => rbac.replaceNamespacedRole({ name, namespace, body: body as B }),
        remove: (name, namespace) => rbac.deleteNamespacedRole({ name, namespace }),
        list: (namespace, labelSelector) => rbac.listNamespacedRole({ namespace, labelSelector }),
      },
      RoleBinding: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        resource: 'rolebindings',
        read: (name, namespace) => rbac.readNamespacedRoleBinding({ name, namespace }),
        create: (namespace, body) => rbac.createNamespacedRoleBinding({ namespace, body: body as B }),
        replace: (name, namespace, body) => rbac.replaceNamespacedRoleBinding({ name, namespace, body: body as B }),
        remove: (name, namespace) => rbac.deleteNamespacedRoleBinding({ name, namespace }),
        list: (namespace, labelSelector) => rbac.listNamespacedRoleBinding({ namespace, labelSelector }),
      },
      Deployment: {
        apiVersion: 'apps/v1',
        resource: 'deployments',
        read: (name, namespace) => apps.readNamespacedDeployment({ name, namespace }),
        create: (namespace, body) => apps.createNamespacedDeployment({ namespace, body: body as B }),
        replace: (name, namespace, body) => apps.replaceNamespacedDeployment({ name, namespace, body: body as B }),
        // Background: the ReplicaSets and pods go with it through the garbage collector.
        remove: (name, namespace) => apps.deleteNamespacedDeployment({ name, namespace, propagationPolicy: 'Background' }),
        list: (namespace, labelSelector) => apps.listNamespacedDeployment({ namespace, labelSelector }),
      },
      StatefulSet: {
        apiVersion: 'apps/v1',
        resource: 'statefulsets',
        read: (name, namespace) => apps.readNamespacedStatefulSet({ name, namespace }),
        create: (namespace, body) => apps.createNamespacedStatefulSet({ namespace, body: body as B }),
        replace: (name, namespace, body) => apps.replaceNamespacedStatefulSet({ name, namespace, body: body as B }),
        remove: (name, namespace) => apps.deleteNamespacedStatefulSet({ name, namespace, propagationPolicy: 'Background' }),
        list: (namespace, labelSelector) => apps.listNamespacedStatefulSet({ namespace, labelSelector }),
      },
    };
  }

  /** A client for a kubeconfig context (the current one by default). The user's files are only read. */
  static forContext(options: ClientOptions = {}): KubeClient {
    const config: Kubeconfig = loadKubeconfig(options.kubeconfig);
    const context: ContextInfo = resolveContext(config, options.context);
    const kc = kubeConfigFor(config, context);
    return new KubeClient(kc, context.name, context.server, options.namespace || context.namespace, options.timeoutMs);
  }

  /** The client of a pod: its service account and its own namespace. */
  static inCluster(options: { namespace?: string; timeoutMs?: number; pathPrefix?: string } = {}): KubeClient {
    const kc = new KubeConfig();
    kc.loadFromCluster(options.pathPrefix);
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new UserError('no in-cluster configuration (KUBERNETES_SERVICE_HOST is not set)');
    let namespace = options.namespace || process.env.POD_NAMESPACE;
    if (!namespace) {
      try {
        namespace = readFileSync(`${options.pathPrefix ?? ''}/var/run/secrets/kubernetes.io/serviceaccount/namespace`, 'utf8').trim();
      } catch {
        namespace = 'default';
      }
    }
    return new KubeClient(kc, 'in-cluster', cluster.server, namespace, options.timeoutMs);
  }

  ops(kind: Kind): KindOps {
    return this.kinds[kind];
  }

  /** Runs one API call, mapping its errors to a UserError naming what was attempted. */
  async call<T>(verb: string, kind: Kind, fn: () => Promise<T>, name?: string, namespace: string = this.namespace): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw kubeError(error, this.callContext(verb, this.kinds[kind].resource, name, namespace));
    }
  }

  callContext(verb: string, resource: string, name?: string, namespace: string = this.namespace): CallContext {
    return { verb, resource, name, namespace, cluster: this.contextName, server: this.server, timeoutMs: this.timeoutMs };
  }

  /** The object, or undefined when it does not exist. */
  async get<T = KubeObject>(kind: Kind, name: string, namespace: string = this.namespace): Promise<T | undefined> {
    try {
      return (await this.kinds[kind].read(name, namespace)) as T;
    } catch (error) {
      if (statusCode(error) === 404) return undefined;
      throw kubeError(error, this.callContext('get', this.kinds[kind].resource, name, namespace));
    }
  }

  async list<T = KubeObject>(kind: Kind, labelSelector?: string, namespace: string = this.namespace): Promise<T[]> {
    const result = await this.call('list', kind, () => this.kinds[kind].list(namespace, labelSelector), undefined, namespace);
    return result.items as T[];
  }

  async create<T = KubeObject>(object: KubeObject): Promise<T> {
    const namespace = object.metadata.namespace ?? this.namespace;
    return (await this.call(
      'create',
      object.kind as Kind,
      () => this.kinds[object.kind as Kind].create(namespace, object),
      object.metadata.name,
      namespace,
    )) as T;
  }

  /** Deletes; false when it was already gone. */
  async delete(kind: Kind, name: string, namespace: string = this.namespace): Promise<boolean> {
    try {
      await this.kinds[kind].remove(name, namespace);
      return true;
    } catch (error) {
      if (statusCode(error) === 404) return false;
      throw kubeError(error, this.callContext('delete', this.kinds[kind].resource, name, namespace));
    }
  }

  /**
   * Creates the object, or replaces the existing one keeping its resourceVersion; retries on 409
   * (someone else changed it between our read and our write) up to `attempts` times.
   * `merge` may combine the existing object with the wanted one (e.g. keep fields another owner set).
   */
  async createOrUpdate<T = KubeObject>(
    object: KubeObject,
    merge?: (existing: KubeObject, wanted: KubeObject) => KubeObject,
    attempts = 5,
  ): Promise<T> {
    const kind = object.kind as Kind;
    const namespace = object.metadata.namespace ?? this.namespace;
    const name = object.metadata.name!;
    for (let attempt = 1; ; attempt++) {
      try {
        const existing = (await this.get(kind, name, namespace)) as KubeObject | undefined;
        if (!existing) return (await this.kinds[kind].create(namespace, object)) as T;
        const wanted = merge ? merge(existing, object) : object;
        const body = { ...wanted, metadata: { ...wanted.metadata, resourceVersion: existing.metadata.resourceVersion } };
        return (await this.kinds[kind].replace(name, namespace, body)) as T;
      } catch (error) {
        if (statusCode(error) === 409 && attempt < attempts) {
          await new Promise((r) => setTimeout(r, 50 * attempt));
          continue;
        }
        throw kubeError(error, this.callContext(attempt === 1 ? 'create' : 'update', this.kinds[kind].resource, name, namespace));
      }
    }
  }
}

export { ApiException };
