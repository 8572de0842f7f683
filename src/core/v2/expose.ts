// Expose on a site managed by Skupper 2.x resources: a Connector for the workload (its pods' labels, one
// port), and, where asked, the Listener that makes it a Service on another 2.x site.
import { UserError } from '../errors';
import type { KubeClient } from '../kube/client';
import { readWorkload } from '../service/expose';
import type { WorkloadKind } from '../service/plan';
import { V2Api } from './api';
import { API_VERSION, type ConnectorSpec, type ListenerSpec, type V2Object } from './types';
import { connectorProblems, listenerProblems } from './validate';

export function connectorObject(name: string, selector: Record<string, string>, port: number, routingKey = name): V2Object<ConnectorSpec> {
  const spec: ConnectorSpec = {
    routingKey,
    port,
    selector: Object.entries(selector)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
  };
  const problems = connectorProblems(spec);
  if (problems.length) throw new UserError(`cannot make Connector ${name}: ${problems.join('; ')}`);
  return { apiVersion: API_VERSION, kind: 'Connector', metadata: { name }, spec };
}

export function listenerObject(name: string, routingKey: string, port: number, host = routingKey): V2Object<ListenerSpec> {
  const spec: ListenerSpec = { routingKey, host, port };
  const problems = listenerProblems(spec);
  if (problems.length) throw new UserError(`cannot make Listener ${name}: ${problems.join('; ')}`);
  return { apiVersion: API_VERSION, kind: 'Listener', metadata: { name }, spec };
}

/** Writes (creates or updates) a Connector for deployment|statefulset NAME on `port` of its pods. */
export async function exposeAsConnector(
  client: KubeClient,
  request: { kind: WorkloadKind; name: string; port: number; routingKey?: string },
): Promise<V2Object<ConnectorSpec>> {
  const workload = await readWorkload({ core: client.core, apps: client.apps, namespace: client.namespace }, request.kind, request.name);
  if (Object.keys(workload.selector).length === 0)
    throw new UserError(`${request.kind}/${request.name} has no pod labels to select: add a selector`);
  const connector = connectorObject(request.name, workload.selector, request.port, request.routingKey ?? request.name);
  return new V2Api(client).apply(connector);
}

export async function createListener(
  client: KubeClient,
  routingKey: string,
  port: number,
  host = routingKey,
): Promise<V2Object<ListenerSpec>> {
  return new V2Api(client).apply(listenerObject(routingKey, routingKey, port, host));
}
