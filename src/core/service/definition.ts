// Service definitions: what `expose` records in the site's services ConfigMap, one key per address,
// each value a JSON object in Skupper 1.x's shape:
//   { "address": "hello", "protocol": "tcp", "ports": [80],
//     "targets": [{ "name": "hello", "selector": "app=hello", "targetPorts": { "80": 8080 } }] }
// Pure functions only: parse, validate, add, remove. Reading and writing the ConfigMap is expose.ts.
import { UserError } from '../errors';

export { SERVICES_CONFIGMAP } from '../site/names';
export const PROTOCOLS = ['tcp', 'http', 'http2'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export interface ServiceTarget {
  /** The workload's name (deployment, statefulset or service). */
  name?: string;
  /** Label selector of the target pods, `k=v,k2=v2`. */
  selector?: string;
  /** Service port → port on the target pods. Keys are the ports as strings (JSON object keys). */
  targetPorts?: Record<string, number>;
  /** Set when the target is a Kubernetes Service (`expose service/NAME`). */
  service?: string;
  /** Set when the target is a host the router reaches directly (a laptop site's `expose host/HOST`). */
  host?: string;
  /** The namespace of the target workload (Skupper 1.x writes it; the site's own namespace here). */
  namespace?: string;
}

export interface ServiceDefinition {
  address: string;
  protocol: Protocol;
  ports: number[];
  targets: ServiceTarget[];
  /** Site id of the site that defines the service; absent in the local ConfigMap. */
  origin?: string;
}

const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

export function isProtocol(value: string): value is Protocol {
  return (PROTOCOLS as readonly string[]).includes(value);
}

/** Why `address` cannot name a service (it becomes a Kubernetes Service name), or undefined. */
export function addressProblem(address: string): string | undefined {
  if (address.length === 0) return 'the address is empty';
  if (address.length > 63) return `the address "${address}" is longer than 63 characters`;
  if (!DNS_LABEL.test(address)) {
    return `the address "${address}" must be lower case letters, digits and '-', starting with a letter (it names a Kubernetes Service)`;
  }
  return undefined;
}

function isPort(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535;
}

/** Checks a definition; throws UserError naming the first problem. */
export function validateDefinition(def: ServiceDefinition): ServiceDefinition {
  const where = `service "${def.address}"`;
  const bad = addressProblem(def.address);
  if (bad) throw new UserError(bad);
  if (!isProtocol(def.protocol)) {
    throw new UserError(`${where}: unknown protocol "${def.protocol}"; use one of ${PROTOCOLS.join(', ')}`);
  }
  if (!Array.isArray(def.ports) || def.ports.length === 0) throw new UserError(`${where}: give at least one port (--port)`);
  const seen = new Set<number>();
  for (const p of def.ports) {
    if (!isPort(p)) throw new UserError(`${where}: port ${JSON.stringify(p)} is not a port number (1-65535)`);
    if (seen.has(p)) throw new UserError(`${where}: port ${p} is given twice`);
    seen.add(p);
  }
  for (const t of def.targets ?? []) {
    for (const [port, target] of Object.entries(t.targetPorts ?? {})) {
      if (!seen.has(Number(port)))
        throw new UserError(`${where}: target port mapping for ${port}, which is not one of the service's ports`);
      if (!isPort(target)) throw new UserError(`${where}: target port ${JSON.stringify(target)} is not a port number (1-65535)`);
    }
  }
  return def;
}

/** A definition from JSON (a ConfigMap value or an announcement), normalised; throws on a bad one. */
export function definitionFromJson(json: unknown): ServiceDefinition {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new UserError('a service definition must be a JSON object');
  const o = json as Record<string, unknown>;
  // Skupper 1.0 had a single `port`; later versions carry `ports`.
  const ports = Array.isArray(o.ports) ? (o.ports as number[]) : isPort(o.port) ? [o.port] : [];
  const targets: ServiceTarget[] = [];
  if (Array.isArray(o.targets)) {
    for (const raw of o.targets) {
      if (typeof raw !== 'object' || raw === null) continue;
      const t = raw as Record<string, unknown>;
      const target: ServiceTarget = {};
      if (typeof t.name === 'string') target.name = t.name;
      if (typeof t.selector === 'string') target.selector = t.selector;
      if (typeof t.service === 'string') target.service = t.service;
      if (typeof t.host === 'string' && t.host) target.host = t.host;
      if (typeof t.namespace === 'string' && t.namespace) target.namespace = t.namespace;
      if (typeof t.targetPorts === 'object' && t.targetPorts !== null) {
        target.targetPorts = {};
        for (const [k, v] of Object.entries(t.targetPorts as Record<string, unknown>)) target.targetPorts[k] = Number(v);
      } else if (isPort(t.targetPort) && ports.length === 1) {
        target.targetPorts = { [String(ports[0])]: t.targetPort };
      }
      targets.push(target);
    }
  }
  const def: ServiceDefinition = {
    address: String(o.address ?? ''),
    protocol: (typeof o.protocol === 'string' && o.protocol ? o.protocol : 'tcp') as Protocol,
    ports: [...ports],
    targets,
  };
  if (typeof o.origin === 'string' && o.origin) def.origin = o.origin;
  return validateDefinition(def);
}

/** The ConfigMap value for a definition (Skupper's key order; no origin: the ConfigMap is local). */
export function definitionToJson(def: ServiceDefinition): string {
  const targets = def.targets.map((t) => {
    const out: ServiceTarget = {};
    if (t.name !== undefined) out.name = t.name;
    if (t.selector !== undefined) out.selector = t.selector;
    if (t.targetPorts !== undefined) out.targetPorts = t.targetPorts;
    if (t.service !== undefined) out.service = t.service;
    if (t.host !== undefined) out.host = t.host;
    if (t.namespace !== undefined) out.namespace = t.namespace;
    return out;
  });
  return JSON.stringify({ address: def.address, protocol: def.protocol, ports: def.ports, targets });
}

/**
 * The ConfigMap value for `def` written over the value it replaces: every field the site does not
 * manage (Skupper 1.x's `labels`, `headless`, `exposeIngress`, `origin`, `eventchannel`, `aggregate`,
 * `tlsCredentials`, ... and a target's own extra fields, matched by target name) is kept as it was,
 * so that a key rewritten by `expose` loses nothing a 1.x user or tool wrote there.
 */
export function rewriteDefinitionJson(previous: string | undefined, def: ServiceDefinition): string {
  const next = JSON.parse(definitionToJson(def)) as Record<string, unknown> & { targets: Record<string, unknown>[] };
  let old: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = previous === undefined ? undefined : JSON.parse(previous);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) old = parsed as Record<string, unknown>;
  } catch {
    old = undefined;
  }
  if (!old) return JSON.stringify(next);
  const oldTargets = Array.isArray(old.targets) ? (old.targets as unknown[]) : [];
  const targets = next.targets.map((t) => {
    const before = oldTargets.find(
      (o): o is Record<string, unknown> => typeof o === 'object' && o !== null && (o as Record<string, unknown>).name === t.name,
    );
    // 1.x's single targetPort is replaced by targetPorts; the rest of the old target stays.
    const kept = before ? Object.fromEntries(Object.entries(before).filter(([k]) => k !== 'targetPort')) : {};
    return { ...kept, ...t };
  });
  // 1.x's single `port` is replaced by `ports`.
  const kept = Object.fromEntries(Object.entries(old).filter(([k]) => k !== 'port'));
  return JSON.stringify({ ...kept, ...next, targets });
}

export interface ParsedServices {
  definitions: ServiceDefinition[];
  /** Keys whose value did not parse, with the reason (reported as events, never fatal). */
  errors: { key: string; reason: string }[];
}

/** Reads the services ConfigMap's data. Definitions come back sorted by address. */
export function parseServicesData(data: Record<string, string> | undefined): ParsedServices {
  const definitions: ServiceDefinition[] = [];
  const errors: ParsedServices['errors'] = [];
  for (const [key, value] of Object.entries(data ?? {})) {
    try {
      const def = definitionFromJson(JSON.parse(value));
      if (def.address !== key) throw new UserError(`the key "${key}" holds the address "${def.address}"`);
      delete def.origin;
      definitions.push(def);
    } catch (error) {
      errors.push({ key, reason: error instanceof Error ? error.message : String(error) });
    }
  }
  definitions.sort((a, b) => a.address.localeCompare(b.address));
  return { definitions, errors };
}

export function servicesData(definitions: ServiceDefinition[]): Record<string, string> {
  const data: Record<string, string> = {};
  for (const def of definitions) data[def.address] = definitionToJson(def);
  return data;
}

/** The port a target listens on for service port `port`. */
export function targetPort(target: ServiceTarget, port: number): number {
  return target.targetPorts?.[String(port)] ?? port;
}

/** The router address that carries service port `port`: the address itself, or address:port when the service has several ports. */
export function routerAddress(def: Pick<ServiceDefinition, 'address' | 'ports'>, port: number): string {
  return def.ports.length > 1 ? `${def.address}:${port}` : def.address;
}

export function selectorFromLabels(labels: Record<string, string>): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

/** Parses `k=v,k2=v2` (the equality-based selectors expose writes). */
export function labelsFromSelector(selector: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const part of selector.split(',')) {
    const trimmed = part.trim();
    if (!trimmed) continue;
    const eq = trimmed.indexOf('=');
    if (eq <= 0) throw new UserError(`the selector "${selector}" is not of the form key=value,key=value`);
    labels[trimmed.slice(0, eq).trim()] = trimmed
      .slice(eq + 1)
      .replace(/^=/, '')
      .trim();
  }
  return labels;
}

export function matchesSelector(labels: Record<string, string> | undefined, selector: Record<string, string>): boolean {
  const keys = Object.keys(selector);
  if (keys.length === 0) return false;
  return keys.every((k) => labels?.[k] === selector[k]);
}

function sameTarget(a: ServiceTarget, b: ServiceTarget): boolean {
  return (
    a.name === b.name &&
    (a.service ?? '') === (b.service ?? '') &&
    (a.selector ?? '') === (b.selector ?? '') &&
    (a.host ?? '') === (b.host ?? '')
  );
}

/**
 * Adds (or updates) `def` in `existing`. Exposing the same workload again under the same address
 * replaces its definition (ports, protocol, target ports); an address already used by a different
 * workload is refused.
 */
export function addDefinition(existing: ServiceDefinition[], def: ServiceDefinition): ServiceDefinition[] {
  validateDefinition(def);
  const current = existing.find((d) => d.address === def.address);
  if (current) {
    const same = current.targets.length === def.targets.length && current.targets.every((t, i) => sameTarget(t, def.targets[i]));
    if (!same) {
      const owner =
        current.targets
          .map((t) => t.name ?? t.service ?? t.selector)
          .filter(Boolean)
          .join(', ') || 'no target';
      throw new UserError(
        `the address "${def.address}" is already used by another service definition (${owner}); choose another with --address`,
      );
    }
  }
  return [...existing.filter((d) => d.address !== def.address), def].sort((a, b) => a.address.localeCompare(b.address));
}

/**
 * Removes the definitions that target workload `name` (and have `address` when given).
 * Returns the remaining definitions and the removed ones; throws when nothing matched.
 */
export function removeDefinition(
  existing: ServiceDefinition[],
  name: string,
  address?: string,
): { remaining: ServiceDefinition[]; removed: ServiceDefinition[] } {
  const matches = (d: ServiceDefinition) =>
    (address === undefined || d.address === address) &&
    (d.targets.some((t) => t.name === name || t.service === name) ||
      (address === undefined && d.address === name && d.targets.length === 0));
  const removed = existing.filter(matches);
  if (removed.length === 0) {
    const known = existing.map((d) => d.address).join(', ') || 'none';
    throw new UserError(`nothing exposes ${name}${address ? ` as "${address}"` : ''}; exposed addresses: ${known}`);
  }
  return { remaining: existing.filter((d) => !matches(d)), removed };
}
