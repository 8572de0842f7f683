// The services part of the site agent, as pure functions: from the local service definitions, the
// target pods and the services learned from other sites, what the router should listen on and
// connect to, and which Kubernetes Services the site should have. servicesModule.ts applies them.
import { type ServiceDefinition, labelsFromSelector, matchesSelector, routerAddress, targetPort } from '../service/definition';

export const CONTROLLED_ANNOTATION = 'internal.skupper.io/controlled';
/** Label on the Services the agent creates, valued with the address: how it finds its own. */
export const ADDRESS_LABEL = 'internal.skupper.io/address';
/** Annotation on those Services: the service's protocol (tcp, http, http2). */
export const PROTOCOL_ANNOTATION = 'internal.skupper.io/protocol';
export const ROUTER_SELECTOR: Readonly<Record<string, string>> = { application: 'skupper-router', 'skupper.io/component': 'router' };

export interface TcpEndpoint {
  name: string;
  host: string;
  port: number;
  address: string;
}

export interface PodInfo {
  name: string;
  ip?: string;
  ready: boolean;
  labels: Record<string, string>;
  /** Being deleted: no new flows go to it. */
  terminating?: boolean;
}

/** One connector per ready target pod and service port. */
export function desiredConnectors(local: ServiceDefinition[], pods: PodInfo[]): TcpEndpoint[] {
  const out: TcpEndpoint[] = [];
  for (const def of local) {
    for (const target of def.targets) {
      // A host target (a laptop site's exposed port): one connector per service port, straight to it.
      if (target.host) {
        for (const port of def.ports) {
          const tp = targetPort(target, port);
          out.push({ name: `${def.address}:${port}@${target.host}:${tp}`, host: target.host, port: tp, address: routerAddress(def, port) });
        }
        continue;
      }
      if (!target.selector) continue;
      const selector = labelsFromSelector(target.selector);
      const ready = pods.filter((p) => p.ready && !p.terminating && p.ip && matchesSelector(p.labels, selector));
      for (const pod of ready) {
        for (const port of def.ports) {
          const tp = targetPort(target, port);
          out.push({ name: `${def.address}:${port}@${pod.name}:${tp}`, host: pod.ip!, port: tp, address: routerAddress(def, port) });
        }
      }
    }
  }
  return dedupe(out).sort(byName);
}

function dedupe(items: TcpEndpoint[]): TcpEndpoint[] {
  const seen = new Map<string, TcpEndpoint>();
  for (const item of items) if (!seen.has(item.name)) seen.set(item.name, item);
  return [...seen.values()];
}

function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** `address/port`: the key of one service port in a port allocation. */
export function portKey(address: string, port: number): string {
  return `${address}/${port}`;
}

/**
 * Chooses the port the router pod listens on for every service port. A service port keeps the port
 * it had (`previous`); a new one gets its own number when that is free (so `tcp-go-echo:9090` is
 * 9090 on the router pod too), else the first free port from 1024. `reserved` are the router's own
 * ports (inter-router, edge, claims, health).
 */
export function allocatePorts(
  services: Pick<ServiceDefinition, 'address' | 'ports'>[],
  previous: ReadonlyMap<string, number>,
  reserved: Iterable<number> = [],
): Map<string, number> {
  const wanted: { key: string; port: number }[] = [];
  for (const def of [...services].sort((a, b) => a.address.localeCompare(b.address))) {
    for (const port of def.ports) wanted.push({ key: portKey(def.address, port), port });
  }
  const used = new Set<number>(reserved);
  const result = new Map<string, number>();
  for (const { key } of wanted) {
    const prev = previous.get(key);
    if (prev !== undefined && !used.has(prev)) {
      result.set(key, prev);
      used.add(prev);
    }
  }
  for (const { key, port } of wanted) {
    if (result.has(key)) continue;
    let chosen = port;
    if (used.has(chosen)) {
      chosen = 1024;
      while (used.has(chosen)) chosen++;
    }
    result.set(key, chosen);
    used.add(chosen);
  }
  return result;
}

/** One listener on the router pod per service port of every service in the network. */
export function desiredListeners(all: ServiceDefinition[], ports: ReadonlyMap<string, number>, host = '0.0.0.0'): TcpEndpoint[] {
  const out: TcpEndpoint[] = [];
  for (const def of all) {
    for (const port of def.ports) {
      const local = ports.get(portKey(def.address, port));
      if (local === undefined) continue;
      out.push({ name: `${def.address}:${port}`, host, port: local, address: routerAddress(def, port) });
    }
  }
  return out.sort(byName);
}

/** What a laptop site forwards: network service `address` on host:port here (src/core/service/local.ts). */
export interface ForwardSpec {
  address: string;
  host: string;
  port: number;
  servicePort?: number;
}

/**
 * A laptop site's listeners: one per forward, on the port the person chose. A forward of a service
 * that is not in the network yet still listens (a connection then finds no route and is closed), so
 * the port is held and starts working when the service appears.
 */
export function forwardListeners(forwards: ForwardSpec[], all: ServiceDefinition[]): TcpEndpoint[] {
  return forwards
    .map((f) => {
      const def = all.find((d) => d.address === f.address);
      const port = f.servicePort ?? def?.ports[0];
      const address = def && port !== undefined ? routerAddress(def, port) : f.address;
      return { name: `forward/${f.address}`, host: f.host, port: f.port, address };
    })
    .sort(byName);
}

export interface ServicePortSpec {
  name: string;
  port: number;
  targetPort: number;
  protocol: 'TCP';
}

/** The Kubernetes Service the agent wants for an address (metadata trimmed to what it sets). */
export interface DesiredService {
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  selector: Record<string, string>;
  ports: ServicePortSpec[];
}

export function desiredServices(all: ServiceDefinition[], ports: ReadonlyMap<string, number>): DesiredService[] {
  return all
    .map((def) => ({
      name: def.address,
      labels: { [ADDRESS_LABEL]: def.address },
      annotations: { [CONTROLLED_ANNOTATION]: 'true', [PROTOCOL_ANNOTATION]: def.protocol },
      selector: { ...ROUTER_SELECTOR },
      ports: def.ports
        .filter((p) => ports.has(portKey(def.address, p)))
        .map((p) => ({ name: `port${p}`, port: p, targetPort: ports.get(portKey(def.address, p))!, protocol: 'TCP' as const })),
    }))
    .sort(byName);
}

/** What the agent sees of a Service that exists in the namespace. */
export interface ExistingService {
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  selector?: Record<string, string>;
  ports?: { name?: string; port: number; targetPort?: number | string; protocol?: string }[];
}

export function isOurs(service: ExistingService): boolean {
  return service.annotations?.[CONTROLLED_ANNOTATION] === 'true' && service.labels?.[ADDRESS_LABEL] !== undefined;
}

export interface ServiceChanges {
  create: DesiredService[];
  update: DesiredService[];
  delete: string[];
  /** Addresses whose Service name is taken by a Service the agent does not own: left alone. */
  conflicts: { name: string; reason: string }[];
}

function samePorts(a: ServicePortSpec[], b: ExistingService['ports']): boolean {
  const x = [...a].sort((p, q) => p.port - q.port);
  const y = [...(b ?? [])].sort((p, q) => p.port - q.port);
  return (
    x.length === y.length &&
    x.every((p, i) => p.port === y[i].port && Number(y[i].targetPort ?? y[i].port) === p.targetPort && (y[i].name ?? '') === p.name)
  );
}

function sameMap(a: Record<string, string>, b: Record<string, string> | undefined): boolean {
  const bk = Object.keys(b ?? {});
  return bk.length === Object.keys(a).length && bk.every((k) => a[k] === b![k]);
}

export function planServiceChanges(desired: DesiredService[], existing: ExistingService[]): ServiceChanges {
  const byName = new Map(existing.map((s) => [s.name, s]));
  const changes: ServiceChanges = { create: [], update: [], delete: [], conflicts: [] };
  const wanted = new Set<string>();
  for (const d of desired) {
    wanted.add(d.name);
    const current = byName.get(d.name);
    if (!current) changes.create.push(d);
    else if (!isOurs(current))
      changes.conflicts.push({
        name: d.name,
        reason: `a Service named ${d.name} already exists and is not managed by the site; left as it is`,
      });
    else if (!samePorts(d.ports, current.ports) || !sameMap(d.selector, current.selector) || current.labels?.[ADDRESS_LABEL] !== d.name)
      changes.update.push(d);
  }
  for (const s of existing) if (isOurs(s) && !wanted.has(s.name)) changes.delete.push(s.name);
  changes.delete.sort();
  return changes;
}

/** Applies a router's live config change: what to add and remove to go from `current` to `desired`. */
export function diffEndpoints(current: TcpEndpoint[], desired: TcpEndpoint[]): { add: TcpEndpoint[]; remove: TcpEndpoint[] } {
  const key = (e: TcpEndpoint) => `${e.name}|${e.host}|${e.port}|${e.address}`;
  const cur = new Set(current.map(key));
  const des = new Set(desired.map(key));
  return { add: desired.filter((e) => !cur.has(key(e))), remove: current.filter((e) => !des.has(key(e))) };
}

/**
 * Merges local definitions with those learned from other sites: one definition per address, the
 * local one first, else the one of the lowest site id (so every site picks the same).
 */
export function mergeDefinitions(
  local: ServiceDefinition[],
  remote: { siteId: string; services: ServiceDefinition[] }[],
): ServiceDefinition[] {
  const out = new Map<string, ServiceDefinition>();
  for (const def of local) out.set(def.address, def);
  const sites = [...remote].sort((a, b) => a.siteId.localeCompare(b.siteId));
  for (const site of sites) {
    for (const def of site.services) if (!out.has(def.address)) out.set(def.address, { ...def, origin: def.origin ?? site.siteId });
  }
  return [...out.values()].sort((a, b) => a.address.localeCompare(b.address));
}
