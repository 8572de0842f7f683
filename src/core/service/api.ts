// API clients for one context and namespace, for the service verbs.
import { KubeClient } from '../kube/client';
import type { ServiceApi } from './expose';

export interface Target {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

/** A KubeClient (per-call timeouts) for the target; it carries the core and apps APIs the verbs use. */
export function serviceApiFor(target: Target): ServiceApi & KubeClient {
  return KubeClient.forContext({ kubeconfig: target.kubeconfig, context: target.context, namespace: target.namespace });
}
