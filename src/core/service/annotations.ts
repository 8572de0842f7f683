// Exposure by annotation, as Skupper 1.x reads it: a Deployment, StatefulSet or Service annotated
// `skupper.io/proxy: tcp|http|http2` is a service of the network. Pure functions: from the
// namespace's workloads to the definitions to record in skupper-services (with `origin: annotation`),
// and the changes that bring the ConfigMap there. The agent module (agent/modules/annotations.ts)
// reads and writes; removing the annotation removes the definition.
//   skupper.io/port     `80` or `80:8080` or `80:8080,81:8081` (service port : target port); without
//                       it: the container ports (a Deployment or StatefulSet), the Service's ports
//   skupper.io/address  the address (default: the object's name)
//   skupper.io/target   on a Service: the Service whose pods receive the traffic (default: its own selector)
//   skupper.io/service-labels  `k=v,k2=v2`: labels of the Services the network gets
import {
  type Protocol,
  type ServiceDefinition,
  type ServiceTarget,
  addressProblem,
  definitionFromJson,
  definitionToJson,
  isProtocol,
  selectorFromLabels,
} from './definition';

export const PROXY_ANNOTATION = 'skupper.io/proxy';
export const PORT_ANNOTATION = 'skupper.io/port';
export const ADDRESS_ANNOTATION = 'skupper.io/address';
export const TARGET_ANNOTATION = 'skupper.io/target';
export const SERVICE_LABELS_ANNOTATION = 'skupper.io/service-labels';
/** The `origin` Skupper 1.x gives the definitions it made from annotations. */
export const ANNOTATION_ORIGIN = 'annotation';

export type AnnotatedKind = 'deployment' | 'statefulset' | 'service';

interface ObjectMetaLike {
  name?: string;
  namespace?: string;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
}
interface PodTemplateLike {
  metadata?: { labels?: Record<string, string> };
  spec?: { containers?: { ports?: { containerPort?: number }[] }[] };
}
export interface WorkloadLike {
  metadata?: ObjectMetaLike;
  spec?: { selector?: { matchLabels?: Record<string, string> }; template?: PodTemplateLike };
}
export interface ServiceLike {
  metadata?: ObjectMetaLike;
  spec?: { selector?: Record<string, string>; ports?: { port: number; targetPort?: number | string }[] };
}

/** What the namespace holds that may carry the annotations. */
export interface AnnotatedObjects {
  namespace: string;
  deployments: WorkloadLike[];
  statefulsets: WorkloadLike[];
  services: ServiceLike[];
}

/** An annotated object not turned into a definition, and why (reported as an event). */
export interface Ignored {
  kind: AnnotatedKind;
  name: string;
  reason: string;
}

export interface AnnotatedDefinition {
  def: ServiceDefinition;
  labels?: Record<string, string>;
  /** The objects it was made from, `deployment/NAME`. */
  from: string[];
}

/** The proxy annotation of an object, when it has one. */
export function proxyAnnotation(meta: ObjectMetaLike | undefined): string | undefined {
  const value = meta?.annotations?.[PROXY_ANNOTATION];
  return value === undefined ? undefined : value.trim();
}

/** `80`, `80:8080`, `80:8080,81:8081` → {80: 80} ...; undefined when malformed (1.x then ignores it all). */
export function parsePortAnnotation(text: string): Map<number, number> | undefined {
  const out = new Map<number, number>();
  const port = (s: string) => (/^\d{1,5}$/.test(s) && Number(s) >= 1 && Number(s) <= 65535 ? Number(s) : undefined);
  for (const part of text.split(',')) {
    const [p, t, extra] = part.trim().split(':');
    const service = port(p ?? '');
    const target = t === undefined ? service : port(t);
    if (service === undefined || target === undefined || extra !== undefined) return undefined;
    out.set(service, target);
  }
  return out.size ? out : undefined;
}

/** `k=v,k2=v2` → labels; malformed pairs are dropped. */
export function parseLabelList(text: string | undefined): Record<string, string> | undefined {
  if (!text) return undefined;
  const labels: Record<string, string> = {};
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) labels[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return Object.keys(labels).length ? labels : undefined;
}

function containerPorts(template: PodTemplateLike | undefined): number[] {
  const ports = new Set<number>();
  for (const c of template?.spec?.containers ?? [])
    for (const p of c.ports ?? []) if (Number.isInteger(p.containerPort) && p.containerPort! > 0) ports.add(p.containerPort!);
  return [...ports].sort((a, b) => a - b);
}

/** A Service's ports as 1.x maps them: port → numeric targetPort (a named or absent one: the port itself). */
function servicePortMap(svc: ServiceLike): Map<number, number> {
  const out = new Map<number, number>();
  for (const p of svc.spec?.ports ?? []) {
    const t = p.targetPort;
    out.set(p.port, typeof t === 'number' ? t : typeof t === 'string' && /^\d+$/.test(t) ? Number(t) : p.port);
  }
  return out;
}

type One = { def: ServiceDefinition; labels?: Record<string, string> } | { ignored: string };

function finish(meta: ObjectMetaLike, protocol: string, ports: Map<number, number>, target: ServiceTarget, namespace: string): One {
  if (!isProtocol(protocol)) return { ignored: `${PROXY_ANNOTATION} is "${protocol}"; use tcp, http or http2` };
  const address = meta.annotations?.[ADDRESS_ANNOTATION]?.trim() || meta.name!;
  const bad = addressProblem(address);
  if (bad) return { ignored: `${bad} (set ${ADDRESS_ANNOTATION})` };
  const sorted = [...ports.keys()].sort((a, b) => a - b);
  const targetPorts: Record<string, number> = {};
  for (const p of sorted) targetPorts[String(p)] = ports.get(p)!;
  const def: ServiceDefinition = {
    address,
    protocol: protocol as Protocol,
    ports: sorted,
    targets: [{ name: meta.name, ...target, targetPorts, namespace }],
  };
  try {
    definitionFromJson(JSON.parse(definitionToJson(def)));
  } catch (error) {
    return { ignored: error instanceof Error ? error.message : String(error) };
  }
  const labels = parseLabelList(meta.annotations?.[SERVICE_LABELS_ANNOTATION]);
  return labels ? { def, labels } : { def };
}

/** The definition an annotated Deployment or StatefulSet asks for. */
export function workloadDefinition(kind: 'deployment' | 'statefulset', w: WorkloadLike, namespace: string): One | undefined {
  const protocol = proxyAnnotation(w.metadata);
  if (protocol === undefined || !w.metadata?.name) return undefined;
  const portText = w.metadata.annotations?.[PORT_ANNOTATION];
  let ports: Map<number, number> | undefined;
  if (portText !== undefined) {
    ports = parsePortAnnotation(portText);
    if (!ports) return { ignored: `${PORT_ANNOTATION} "${portText}" is not PORT[:TARGET_PORT][,...]` };
  } else {
    const declared = containerPorts(w.spec?.template);
    if (declared.length) ports = new Map(declared.map((p) => [p, p]));
    else if (protocol === 'http') ports = new Map([[80, 80]]);
    else return { ignored: `no port: its containers declare none; set ${PORT_ANNOTATION}` };
  }
  const selectorLabels = w.spec?.selector?.matchLabels ?? w.spec?.template?.metadata?.labels ?? {};
  if (Object.keys(selectorLabels).length === 0) return { ignored: 'it has no pod selector (spec.selector.matchLabels)' };
  return finish(w.metadata, protocol, ports, { selector: selectorFromLabels(selectorLabels) }, namespace);
}

/** The definition an annotated Service asks for: its pods, or those of the Service named by skupper.io/target. */
export function serviceDefinition(svc: ServiceLike, services: ServiceLike[], namespace: string): One | undefined {
  const protocol = proxyAnnotation(svc.metadata);
  if (protocol === undefined || !svc.metadata?.name) return undefined;
  const own = servicePortMap(svc);
  const portText = svc.metadata.annotations?.[PORT_ANNOTATION];
  const annotated = portText === undefined ? undefined : parsePortAnnotation(portText);
  if (portText !== undefined && !annotated) return { ignored: `${PORT_ANNOTATION} "${portText}" is not PORT[:TARGET_PORT][,...]` };
  const targetName = svc.metadata.annotations?.[TARGET_ANNOTATION]?.trim();
  if (targetName) {
    const target = services.find((s) => s.metadata?.name === targetName);
    if (!target) return { ignored: `${TARGET_ANNOTATION} names Service ${targetName}, which does not exist` };
    const selector = target.spec?.selector ?? {};
    if (Object.keys(selector).length === 0) return { ignored: `the target Service ${targetName} has no selector` };
    const theirs = servicePortMap(target);
    let ports: Map<number, number>;
    // A port named without its target port (`7000`) reaches the target Service's port behind it.
    const behind = (p: number) => theirs.get(p) ?? (theirs.size === 1 ? [...theirs.values()][0] : p);
    if (annotated) ports = portText!.includes(':') ? annotated : new Map([...annotated.keys()].map((p) => [p, behind(p)]));
    else if (own.size === 0 && theirs.size > 0) ports = theirs;
    else if (own.size === 1 && theirs.size === 1) ports = new Map([[[...own.keys()][0], [...theirs.values()][0]]]);
    else if (own.size > 0 && [...own.keys()].every((p) => theirs.has(p))) ports = new Map([...own.keys()].map((p) => [p, theirs.get(p)!]));
    else if (own.size === 0 && protocol === 'http') ports = new Map([[80, 80]]);
    else return { ignored: `its ports do not match those of the target Service ${targetName}` };
    return finish(svc.metadata, protocol, ports, { selector: selectorFromLabels(selector), service: targetName }, namespace);
  }
  const selector = svc.spec?.selector ?? {};
  if (Object.keys(selector).length === 0)
    return { ignored: `it has no selector; name the Service to send traffic to with ${TARGET_ANNOTATION}` };
  const ports = annotated ?? (own.size ? own : protocol === 'http' ? new Map([[80, 80]]) : undefined);
  if (!ports) return { ignored: `no port: the Service declares none; set ${PORT_ANNOTATION}` };
  return finish(svc.metadata, protocol, ports, { selector: selectorFromLabels(selector), service: svc.metadata.name }, namespace);
}

/**
 * Every definition the namespace's annotations ask for, by address. Objects that name the same
 * address add their targets to one definition (the first one's protocol and ports: a later one that
 * differs is ignored, with the reason).
 */
export function annotatedDefinitions(objects: AnnotatedObjects): { definitions: AnnotatedDefinition[]; ignored: Ignored[] } {
  const byAddress = new Map<string, AnnotatedDefinition>();
  const ignored: Ignored[] = [];
  const add = (kind: AnnotatedKind, name: string, one: One | undefined) => {
    if (!one) return;
    if ('ignored' in one) return void ignored.push({ kind, name, reason: one.ignored });
    const current = byAddress.get(one.def.address);
    if (!current)
      return void byAddress.set(one.def.address, {
        def: one.def,
        ...(one.labels ? { labels: one.labels } : {}),
        from: [`${kind}/${name}`],
      });
    if (current.def.protocol !== one.def.protocol || current.def.ports.join(',') !== one.def.ports.join(',')) {
      return void ignored.push({
        kind,
        name,
        reason: `address ${one.def.address} is already annotated on ${current.from.join(', ')} with other ports or protocol`,
      });
    }
    current.def.targets.push(...one.def.targets);
    current.from.push(`${kind}/${name}`);
  };
  const byName = <T extends { metadata?: ObjectMetaLike }>(list: T[]) =>
    [...list].sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  for (const d of byName(objects.deployments))
    add('deployment', d.metadata?.name ?? '', workloadDefinition('deployment', d, objects.namespace));
  for (const s of byName(objects.statefulsets))
    add('statefulset', s.metadata?.name ?? '', workloadDefinition('statefulset', s, objects.namespace));
  for (const s of byName(objects.services))
    add('service', s.metadata?.name ?? '', serviceDefinition(s, objects.services, objects.namespace));
  return { definitions: [...byAddress.values()].sort((a, b) => a.def.address.localeCompare(b.def.address)), ignored };
}

/** The skupper-services value of an annotated definition: Skupper 1.x's shape, `origin: annotation`. */
export function annotatedJson(a: AnnotatedDefinition): string {
  const base = JSON.parse(definitionToJson(a.def)) as Record<string, unknown>;
  return JSON.stringify({ ...base, ...(a.labels ? { labels: a.labels } : {}), origin: ANNOTATION_ORIGIN });
}

/** Whether a skupper-services value was made from annotations. */
export function isAnnotationValue(value: string | undefined): boolean {
  if (value === undefined) return false;
  try {
    const o = JSON.parse(value) as { origin?: unknown };
    return typeof o === 'object' && o !== null && o.origin === ANNOTATION_ORIGIN;
  } catch {
    return false;
  }
}

export interface AnnotationChanges {
  /** The merge patch's data: a key set to a value, or null to remove it. Empty: nothing to do. */
  data: Record<string, string | null>;
  /** Annotated addresses already exposed otherwise (by `expose`): left as they are. */
  taken: { address: string; from: string[] }[];
}

/**
 * What to write into skupper-services so that its annotation-made keys are exactly `wanted`: keys
 * of other origins are never touched (an address exposed with `expose` wins over an annotation).
 */
export function annotationChanges(current: Record<string, string> | undefined, wanted: AnnotatedDefinition[]): AnnotationChanges {
  const data: Record<string, string | null> = {};
  const taken: AnnotationChanges['taken'] = [];
  const want = new Map(wanted.map((a) => [a.def.address, a]));
  for (const [key, value] of Object.entries(current ?? {})) if (isAnnotationValue(value) && !want.has(key)) data[key] = null;
  for (const [address, a] of want) {
    const existing = current?.[address];
    if (existing !== undefined && !isAnnotationValue(existing)) {
      taken.push({ address, from: a.from });
      continue;
    }
    const value = annotatedJson(a);
    if (existing !== value) data[address] = value;
  }
  return { data, taken };
}
