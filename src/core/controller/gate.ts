// What the controller's gate forwards to the Kubernetes API for the router container, which has no
// credential of its own. A closed list, by method, resource and name, narrower than any Role can be:
// RBAC cannot tell a link Secret from the CA Secret when both are listed, nor an address Service
// from any other. Pure: the server (controller.ts) applies the decision and the body checks.
import { EVENTS_KEY, NETWORK_KEY } from '../agent/networkStatus';
import { ADDRESS_LABEL } from '../agent/servicesReconcile';
import { SKUPPER1_NETWORK_KEY } from '../agent/skupper1NetworkStatus';
import { SITE_STATUS_KEY } from '../link/kubeSite';
import { ANNOTATION_ORIGIN, isAnnotationValue } from '../service/annotations';
import {
  CONTROLLED_ANNOTATION,
  LINK_SELECTOR,
  NETWORK_STATUS_CONFIGMAP,
  ROUTER,
  ROUTER_SELECTOR,
  SERVICES_CONFIGMAP,
  SITE_CONFIGMAP,
  SITE_SERVER_SECRET,
} from '../site/names';

/** A body the server must look at (or an object it must read) before forwarding. */
export type GateCheck = 'service-create' | 'service-replace' | 'service-delete' | 'status-patch' | 'event-create' | 'annotations-patch';

export type GateDecision =
  { allow: true; resource: string; name?: string; path: string; query: string; check?: GateCheck } | { allow: false; reason: string };

/** The ConfigMaps the router reads: its site, the services exposed here, what it publishes. */
const READABLE_CONFIGMAPS = new Set([SITE_CONFIGMAP, SERVICES_CONFIGMAP, NETWORK_STATUS_CONFIGMAP]);
const STATUS_KEYS = new Set([SITE_STATUS_KEY, NETWORK_KEY, EVENTS_KEY, SKUPPER1_NETWORK_KEY]);
const READ_PARAMS = new Set([
  'watch',
  'resourceVersion',
  'resourceVersionMatch',
  'allowWatchBookmarks',
  'timeoutSeconds',
  'labelSelector',
  'fieldSelector',
  'limit',
  'continue',
  'sendInitialEvents',
]);
const WRITE_PARAMS = new Set(['fieldManager', 'fieldValidation']);
const PATH = /^\/(api\/v1|apis\/apps\/v1)\/namespaces\/([a-z0-9][a-z0-9-]{0,62})\/([a-z]+)(?:\/([a-z0-9][a-z0-9.-]{0,252}))?$/;

const deny = (reason: string): GateDecision => ({ allow: false, reason });

/**
 * The decision for one request of the router container. `url` is the request target as received
 * (path and query); the query forwarded is rebuilt from the parameters read here, never passed on
 * as received, so that the API server sees exactly what was checked.
 */
export function decide(method: string, url: string, namespace: string): GateDecision {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const m = PATH.exec(path);
  if (!m) return deny(`${path.slice(0, 200)} is not a resource the router reads or writes`);
  const [, group, ns, resource, name] = m;
  if (ns !== namespace) return deny(`namespace ${ns} is not the site's`);
  const params = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
  const keys = [...params.keys()];
  if (new Set(keys).size !== keys.length) return deny('a query parameter is repeated');
  const read = method === 'GET';
  const allowed = read ? READ_PARAMS : WRITE_PARAMS;
  const unknown = keys.find((k) => !allowed.has(k));
  if (unknown) return deny(`query parameter ${unknown.slice(0, 40)} is not forwarded`);
  const query = params.toString();
  const ok = (check?: GateCheck): GateDecision => ({
    allow: true,
    resource,
    ...(name ? { name } : {}),
    path,
    query,
    ...(check ? { check } : {}),
  });
  const selector = (key: string) => params.get(key) ?? undefined;
  const core = group === 'api/v1';

  if (core && resource === 'configmaps') {
    if (read && name) return READABLE_CONFIGMAPS.has(name) ? ok() : deny(`ConfigMap ${name} is not the router's to read`);
    if (read) {
      const field = /^metadata\.name=([a-z0-9.-]+)$/.exec(selector('fieldSelector') ?? '');
      return field && READABLE_CONFIGMAPS.has(field[1]) && !params.has('labelSelector')
        ? ok()
        : deny('ConfigMaps are listed one by name only (fieldSelector metadata.name=...)');
    }
    if (method === 'PATCH' && name === NETWORK_STATUS_CONFIGMAP) return ok('status-patch');
    // The definitions made from skupper.io/proxy annotations (agent/modules/annotations.ts), and no others.
    if (method === 'PATCH' && name === SERVICES_CONFIGMAP) return ok('annotations-patch');
    return deny(`${method} ${name ? `ConfigMap ${name}` : 'ConfigMaps'} is not forwarded`);
  }
  if (core && resource === 'secrets') {
    if (read && name) return name === SITE_SERVER_SECRET ? ok() : deny(`Secret ${name} is not the router's to read`);
    if (read)
      return selector('labelSelector') === LINK_SELECTOR && !params.has('fieldSelector')
        ? ok()
        : deny(`Secrets are listed by the link label only (${LINK_SELECTOR})`);
    return deny('the router writes no Secret');
  }
  if (core && resource === 'services') {
    if (read) return ok();
    if (name === ROUTER) return deny(`Service ${ROUTER} is the site's own`);
    if (method === 'POST' && !name) return ok('service-create');
    if (method === 'PUT' && name) return ok('service-replace');
    if (method === 'DELETE' && name) return ok('service-delete');
    return deny(`${method} on Services is not forwarded`);
  }
  if (core && resource === 'pods') return read ? ok() : deny('the router writes no Pod');
  if (core && resource === 'events') return method === 'POST' && !name ? ok('event-create') : deny(`${method} on Events is not forwarded`);
  // Deployments and StatefulSets are read for their skupper.io/proxy annotations; none is written.
  if (!core && (resource === 'deployments' || resource === 'statefulsets')) return read ? ok() : deny(`the router writes no ${resource}`);
  return deny(`${resource} are not forwarded`);
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function sameMap(a: unknown, b: Record<string, string>): boolean {
  if (!isObj(a)) return false;
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}

/** Whether `svc` is a Service the router may make: an exposed address's, selecting the router pods, cluster-internal. */
export function addressServiceProblem(svc: unknown, namespace: string): string | undefined {
  if (!isObj(svc) || svc.kind !== 'Service' || svc.apiVersion !== 'v1') return 'not a v1 Service';
  const meta = isObj(svc.metadata) ? svc.metadata : {};
  const spec = isObj(svc.spec) ? svc.spec : {};
  const labels = isObj(meta.labels) ? meta.labels : {};
  const annotations = isObj(meta.annotations) ? meta.annotations : {};
  if (typeof meta.name !== 'string' || meta.name === ROUTER) return "no name, or the site's own Service";
  if (meta.namespace !== undefined && meta.namespace !== namespace) return 'another namespace';
  if (typeof labels[ADDRESS_LABEL] !== 'string' || annotations[CONTROLLED_ANNOTATION] !== 'true')
    return `not labelled as an exposed address (${ADDRESS_LABEL}, ${CONTROLLED_ANNOTATION})`;
  const owners = Array.isArray(meta.ownerReferences) ? meta.ownerReferences : meta.ownerReferences === undefined ? [] : undefined;
  if (!owners || !owners.every((r) => isObj(r) && r.kind === 'ConfigMap' && r.name === SITE_CONFIGMAP))
    return 'owned by something other than the site';
  if (spec.type !== undefined && spec.type !== 'ClusterIP')
    return `type ${String(spec.type)}: exposed addresses get ClusterIP Services only`;
  if (!sameMap(spec.selector, ROUTER_SELECTOR)) return "a selector other than the router pods'";
  for (const field of [
    'externalIPs',
    'externalName',
    'loadBalancerIP',
    'loadBalancerSourceRanges',
    'loadBalancerClass',
    'externalTrafficPolicy',
    'healthCheckNodePort',
  ]) {
    const v = spec[field];
    if (v !== undefined && !(Array.isArray(v) && v.length === 0)) return `spec.${field} is not for an exposed address`;
  }
  const ports = Array.isArray(spec.ports) ? spec.ports : [];
  if (ports.some((p) => !isObj(p) || (p.protocol !== undefined && p.protocol !== 'TCP') || p.nodePort !== undefined))
    return 'ports other than TCP cluster ports';
  return undefined;
}

/** Whether a merge patch of the status ConfigMap writes only its data keys. */
export function statusPatchProblem(patch: unknown): string | undefined {
  if (!isObj(patch) || Object.keys(patch).some((k) => k !== 'data') || !isObj(patch.data)) return 'a status patch sets data keys only';
  for (const [k, v] of Object.entries(patch.data)) {
    if (!STATUS_KEYS.has(k)) return `key ${k.slice(0, 40)} is not a status key`;
    if (typeof v !== 'string' && v !== null) return `key ${k} is not text`;
  }
  return undefined;
}

/**
 * Whether a merge patch of skupper-services writes only definitions made from annotations: each key
 * set to a definition with `origin: annotation` for that address, or removed, where the current value
 * (at `current.resourceVersion`, which the patch must carry as its precondition) is absent or was
 * made from annotations too. A definition written with `expose` is never changed this way.
 */
export function annotationsPatchProblem(
  patch: unknown,
  current: { resourceVersion?: string; data?: Record<string, string> } | undefined,
): string | undefined {
  if (!current) return 'the services ConfigMap does not exist';
  if (!isObj(patch) || Object.keys(patch).some((k) => k !== 'data' && k !== 'metadata') || !isObj(patch.data))
    return 'a services patch sets data keys only';
  const meta = isObj(patch.metadata) ? patch.metadata : undefined;
  if (!meta || Object.keys(meta).some((k) => k !== 'resourceVersion') || meta.resourceVersion !== current.resourceVersion)
    return 'a services patch carries the resourceVersion it was made against (and nothing else in metadata)';
  for (const [k, v] of Object.entries(patch.data)) {
    if (!/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(k) || k.length > 63) return `key ${k.slice(0, 40)} is not an address`;
    const before = current.data?.[k];
    if (before !== undefined && !isAnnotationValue(before)) return `key ${k} was not made from annotations`;
    if (v === null) continue;
    if (typeof v !== 'string' || v.length > 16_384) return `key ${k} is not a service definition`;
    let parsed: unknown;
    try {
      parsed = JSON.parse(v);
    } catch {
      return `key ${k} is not JSON`;
    }
    if (!isObj(parsed) || parsed.origin !== ANNOTATION_ORIGIN || parsed.address !== k)
      return `key ${k} is not an annotation's definition of ${k}`;
  }
  return undefined;
}

/** Whether an Event is about the site (the site ConfigMap), as the agent writes them. */
export function eventProblem(event: unknown, namespace: string): string | undefined {
  if (!isObj(event) || event.kind !== 'Event') return 'not an Event';
  const meta = isObj(event.metadata) ? event.metadata : {};
  const about = isObj(event.involvedObject) ? event.involvedObject : {};
  if (meta.namespace !== undefined && meta.namespace !== namespace) return 'another namespace';
  if (about.kind !== 'ConfigMap' || about.name !== SITE_CONFIGMAP || (about.namespace !== undefined && about.namespace !== namespace))
    return 'an Event about something other than the site';
  return undefined;
}
