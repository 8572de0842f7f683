// Skupper 2.x resources and their CRDs through the API: list, get, create, delete, write status.
// Built on a KubeClient (same kubeconfig, same per-call timeout, same error messages).
import {
  ApiextensionsV1Api,
  CustomObjectsApi,
  type RequestContext,
  ServerConfiguration,
  createConfiguration,
} from '@kubernetes/client-node';
import { UserError } from '../errors';
import type { KubeClient } from '../kube/client';
import { kubeError, statusCode } from '../kube/errors';
import { allCrds, crdName, type CrdObject } from './crds';
import { GROUP, PLURALS, type V2Kind, type V2Object, type V2Status, V2_KINDS, VERSION } from './types';

export class V2Api {
  readonly custom: CustomObjectsApi;
  readonly extensions: ApiextensionsV1Api;

  constructor(readonly client: KubeClient) {
    const auth = {
      getName: () => 'van',
      applySecurityAuthentication: async (request: RequestContext) => {
        await client.kc.applySecurityAuthentication(request);
        request.setSignal(AbortSignal.timeout(client.timeoutMs));
      },
    };
    const configuration = createConfiguration({ baseServer: new ServerConfiguration(client.server, {}), authMethods: { default: auth } });
    this.custom = new CustomObjectsApi(configuration);
    this.extensions = new ApiextensionsV1Api(configuration);
  }

  get namespace(): string {
    return this.client.namespace;
  }

  private fail(verb: string, kind: V2Kind, error: unknown, name?: string, namespace = this.namespace): Error {
    if (statusCode(error) === 404 && verb === 'list') {
      return new UserError(
        `the Skupper 2.x resources (${GROUP}/${VERSION}) are not installed in cluster ${this.client.contextName}: run "van crds install" as a cluster admin`,
      );
    }
    return kubeError(error, this.client.callContext(verb, `${PLURALS[kind]}.${GROUP}`, name, namespace));
  }

  async list<S>(kind: V2Kind, namespace: string = this.namespace): Promise<V2Object<S>[]> {
    try {
      const result = (await this.custom.listNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PLURALS[kind],
      })) as {
        items: V2Object<S>[];
      };
      return result.items.map((item) => ({ ...item, kind }));
    } catch (error) {
      throw this.fail('list', kind, error, undefined, namespace);
    }
  }

  async get<S>(kind: V2Kind, name: string, namespace: string = this.namespace): Promise<V2Object<S> | undefined> {
    try {
      return (await this.custom.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PLURALS[kind],
        name,
      })) as V2Object<S>;
    } catch (error) {
      if (statusCode(error) === 404) return undefined;
      throw this.fail('get', kind, error, name, namespace);
    }
  }

  async create<S>(object: V2Object<S>, namespace: string = object.metadata.namespace ?? this.namespace): Promise<V2Object<S>> {
    try {
      return (await this.custom.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PLURALS[object.kind],
        body: { ...object, metadata: { ...object.metadata, namespace } },
      })) as V2Object<S>;
    } catch (error) {
      throw this.fail('create', object.kind, error, object.metadata.name, namespace);
    }
  }

  /** Creates, or replaces the spec (and labels) of the existing one. */
  async apply<S>(object: V2Object<S>, namespace: string = object.metadata.namespace ?? this.namespace): Promise<V2Object<S>> {
    for (let attempt = 1; ; attempt++) {
      const existing = await this.get<S>(object.kind, object.metadata.name, namespace);
      if (!existing) return this.create(object, namespace);
      const body = {
        ...existing,
        metadata: { ...existing.metadata, labels: { ...existing.metadata.labels, ...object.metadata.labels } },
        spec: object.spec,
      };
      try {
        return (await this.custom.replaceNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace,
          plural: PLURALS[object.kind],
          name: object.metadata.name,
          body,
        })) as V2Object<S>;
      } catch (error) {
        if (statusCode(error) === 409 && attempt < 5) continue;
        throw this.fail('update', object.kind, error, object.metadata.name, namespace);
      }
    }
  }

  async delete(kind: V2Kind, name: string, namespace: string = this.namespace): Promise<boolean> {
    try {
      await this.custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURALS[kind], name });
      return true;
    } catch (error) {
      if (statusCode(error) === 404) return false;
      throw this.fail('delete', kind, error, name, namespace);
    }
  }

  /** Writes the status subresource; false when the object changed or went meanwhile (the next pass writes it). */
  async writeStatus(object: V2Object<unknown>, status: V2Status): Promise<boolean> {
    const namespace = object.metadata.namespace ?? this.namespace;
    try {
      await this.custom.replaceNamespacedCustomObjectStatus({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PLURALS[object.kind],
        name: object.metadata.name,
        body: { apiVersion: object.apiVersion, kind: object.kind, metadata: object.metadata, status },
      });
      return true;
    } catch (error) {
      if (statusCode(error) === 409 || statusCode(error) === 404) return false;
      throw this.fail('update status of', object.kind, error, object.metadata.name, namespace);
    }
  }

  /** Which of the six CRDs the cluster has (established ones). */
  async installedKinds(): Promise<V2Kind[]> {
    const found: V2Kind[] = [];
    for (const kind of V2_KINDS) {
      try {
        const crd = await this.extensions.readCustomResourceDefinition({ name: crdName(kind) });
        if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) found.push(kind);
      } catch (error) {
        if (statusCode(error) === 404) continue;
        if (statusCode(error) === 403) return this.probeKinds();
        throw kubeError(error, this.client.callContext('get', 'customresourcedefinitions', crdName(kind), ''));
      }
    }
    return found;
  }

  /** Without the right to read CRDs: a kind is there when listing it here is not a 404. */
  private async probeKinds(): Promise<V2Kind[]> {
    const found: V2Kind[] = [];
    for (const kind of V2_KINDS) {
      try {
        await this.custom.listNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace: this.namespace,
          plural: PLURALS[kind],
          limit: 1,
        });
        found.push(kind);
      } catch (error) {
        if (statusCode(error) !== 404) found.push(kind); // forbidden to list still means it exists
      }
    }
    return found;
  }

  /** Creates or updates the six CRDs; a 403 says who may do it. */
  async installCrds(crds: CrdObject[] = allCrds()): Promise<{ name: string; action: 'created' | 'updated' }[]> {
    const done: { name: string; action: 'created' | 'updated' }[] = [];
    for (const crd of crds) {
      try {
        let existing;
        try {
          existing = await this.extensions.readCustomResourceDefinition({ name: crd.metadata.name });
        } catch (error) {
          if (statusCode(error) !== 404) throw error;
        }
        if (!existing) {
          await this.extensions.createCustomResourceDefinition({ body: crd as never });
          done.push({ name: crd.metadata.name, action: 'created' });
        } else {
          const body = { ...crd, metadata: { ...crd.metadata, resourceVersion: existing.metadata?.resourceVersion } };
          await this.extensions.replaceCustomResourceDefinition({ name: crd.metadata.name, body: body as never });
          done.push({ name: crd.metadata.name, action: 'updated' });
        }
      } catch (error) {
        if (statusCode(error) === 403) {
          throw new UserError(
            `not allowed to install CustomResourceDefinition ${crd.metadata.name} in cluster ${this.client.contextName}: ` +
              'CRDs are cluster-wide and need cluster-admin rights; ask a cluster admin to run "van crds install" ' +
              '(or "kubectl apply -f crds/"), then use the Skupper 2.x resources as a namespace admin',
          );
        }
        throw kubeError(error, this.client.callContext('install', 'customresourcedefinitions', crd.metadata.name, ''));
      }
    }
    return done;
  }

  /** Waits until every CRD is Established (the API serves the kind). */
  async waitEstablished(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const kinds = await this.installedKinds();
      if (kinds.length === V2_KINDS.length) return;
      if (Date.now() > deadline) {
        const missing = V2_KINDS.filter((k) => !kinds.includes(k));
        throw new UserError(`the CRDs of ${missing.join(', ')} are not established after ${timeoutMs / 1000} s: see "kubectl get crd"`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
