// The services of a local (laptop) site, kept in its folder (see src/core/site/local.ts):
//   services.json   what this machine exposes to the network: Skupper 1.x definitions keyed by address,
//                   whose targets are hosts (`{"name": "127.0.0.1", "host": "127.0.0.1", "targetPorts": …}`)
//   forwards.json   which network services this machine reaches, and where: `{ADDRESS: {"host", "port"}}`
// A laptop site opens no port for a network service unless it is forwarded: a listener on a laptop is
// a choice of the person, like `skupper gateway forward`. The site agent reads both files (and watches
// the folder); every change here is written whole to a temporary file and renamed into place, so the
// agent never reads half a file and a failed write leaves the previous content.
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { basename, join } from 'node:path';
import { UserError } from '../errors';
import { portIsFree, readLocalSite } from '../site/local';
import {
  type ServiceDefinition,
  type ServiceTarget,
  addressProblem,
  definitionFromJson,
  definitionToJson,
  isProtocol,
  PROTOCOLS,
  validateDefinition,
} from './definition';

export const LOCAL_SERVICES_FILE = 'services.json';
export const LOCAL_FORWARDS_FILE = 'forwards.json';

export interface Forward {
  address: string;
  /** Where the listener binds on this machine (127.0.0.1 unless asked otherwise). */
  host: string;
  port: number;
  /** For a service with several ports: which one this forward carries (the first by default). */
  servicePort?: number;
}

export interface LocalServices {
  definitions: ServiceDefinition[];
  forwards: Forward[];
  /** Entries that did not parse, with the reason (the agent reports them as events). */
  errors: { file: string; key: string; reason: string }[];
}

const HOST_NAME = /^[a-zA-Z0-9]([-a-zA-Z0-9.]*[a-zA-Z0-9])?$/;

function isPort(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535;
}

/** Why `host` cannot be a target or bind address, or undefined. */
export function hostProblem(host: string): string | undefined {
  if (!host) return 'the host is empty';
  if (isIP(host) || HOST_NAME.test(host)) return undefined;
  return `"${host}" is not a host name or IP address`;
}

function readJsonObject(file: string): Record<string, unknown> {
  if (!existsSync(file)) return {};
  const text = readFileSync(file, 'utf8');
  if (!text.trim()) return {};
  const value = JSON.parse(text) as unknown;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UserError(`${file} must hold a JSON object`);
  return value as Record<string, unknown>;
}

/** Writes `value` as JSON next to `file`, then renames it into place (0600). */
function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

function forwardFromJson(address: string, raw: unknown): Forward {
  if (typeof raw !== 'object' || raw === null) throw new UserError('a forward must be a JSON object {"host", "port"}');
  const o = raw as Record<string, unknown>;
  const bad = addressProblem(address);
  if (bad) throw new UserError(bad);
  const host = typeof o.host === 'string' && o.host ? o.host : '127.0.0.1';
  const hostBad = hostProblem(host);
  if (hostBad) throw new UserError(hostBad);
  if (!isPort(o.port)) throw new UserError(`port ${JSON.stringify(o.port)} is not a port number (1-65535)`);
  const f: Forward = { address, host, port: o.port };
  if (o.servicePort !== undefined) {
    if (!isPort(o.servicePort)) throw new UserError(`servicePort ${JSON.stringify(o.servicePort)} is not a port number`);
    f.servicePort = o.servicePort;
  }
  return f;
}

/** Reads a local site's services and forwards; a bad entry is skipped and reported in `errors`. */
export function readLocalServices(dir: string): LocalServices {
  const out: LocalServices = { definitions: [], forwards: [], errors: [] };
  const sections: [string, (key: string, raw: unknown) => void][] = [
    [
      LOCAL_SERVICES_FILE,
      (key, raw) => {
        const def = definitionFromJson(typeof raw === 'string' ? JSON.parse(raw) : raw);
        if (def.address !== key) throw new UserError(`the key "${key}" holds the address "${def.address}"`);
        delete def.origin;
        out.definitions.push(def);
      },
    ],
    [LOCAL_FORWARDS_FILE, (key, raw) => out.forwards.push(forwardFromJson(key, raw))],
  ];
  for (const [name, add] of sections) {
    let entries: Record<string, unknown>;
    try {
      entries = readJsonObject(join(dir, name));
    } catch (error) {
      out.errors.push({ file: name, key: '*', reason: error instanceof Error ? error.message : String(error) });
      continue;
    }
    for (const [key, raw] of Object.entries(entries)) {
      try {
        add(key, raw);
      } catch (error) {
        out.errors.push({ file: name, key, reason: error instanceof Error ? error.message : String(error) });
      }
    }
  }
  out.definitions.sort((a, b) => a.address.localeCompare(b.address));
  out.forwards.sort((a, b) => a.address.localeCompare(b.address));
  return out;
}

function requireSite(dir: string): { name: string; ports: number[] } {
  const site = readLocalSite(dir);
  if (!site)
    throw new UserError(`no local site ${basename(dir)}: create it with \`van init --platform local --site-name ${basename(dir)}\``);
  return { name: site.name, ports: Object.values(site.ports) };
}

function writeDefinitions(dir: string, definitions: ServiceDefinition[]): void {
  const data: Record<string, unknown> = {};
  for (const def of definitions) data[def.address] = JSON.parse(definitionToJson(def));
  writeJsonAtomic(join(dir, LOCAL_SERVICES_FILE), data);
}

function writeForwards(dir: string, forwards: Forward[]): void {
  const data: Record<string, unknown> = {};
  for (const f of forwards) data[f.address] = { host: f.host, port: f.port, ...(f.servicePort ? { servicePort: f.servicePort } : {}) };
  writeJsonAtomic(join(dir, LOCAL_FORWARDS_FILE), data);
}

/** Strict read for a change: a file that does not parse is not overwritten (the person fixes it first). */
function readForChange(dir: string): LocalServices {
  const current = readLocalServices(dir);
  const broken = current.errors[0];
  if (broken)
    throw new UserError(
      `${join(dir, broken.file)}${broken.key === '*' ? '' : ` key ${broken.key}`}: ${broken.reason}; fix or remove it first`,
    );
  return current;
}

export interface ExposeHostRequest {
  /** The host (usually 127.0.0.1) whose port(s) the network should reach. */
  host: string;
  address: string;
  ports: number[];
  /** Port(s) on the host: one for all, or one per service port (default: the same as the service port). */
  targetPorts?: number[];
  protocol?: string;
}

/** Makes a port of this machine (or a host it reaches) a service of the whole network. */
export function exposeHost(dir: string, request: ExposeHostRequest): ServiceDefinition {
  const site = requireSite(dir);
  const hostBad = hostProblem(request.host);
  if (hostBad) throw new UserError(hostBad);
  if (!request.address) throw new UserError('name the service with --address (it becomes the service name in every site)');
  const protocol = request.protocol ?? 'tcp';
  if (!isProtocol(protocol)) throw new UserError(`unknown protocol "${protocol}"; use one of ${PROTOCOLS.join(', ')}`);
  if (request.ports.length === 0) throw new UserError(`give the port to expose with --port (the port ${request.host} listens on)`);
  const targets = request.targetPorts ?? [];
  if (targets.length > 1 && targets.length !== request.ports.length)
    throw new UserError(`give one --target-port, or one per --port (${request.ports.length})`);
  const targetPorts: Record<string, number> = {};
  request.ports.forEach((p, i) => {
    const tp = targets.length === 0 ? p : targets.length === 1 ? targets[0] : targets[i];
    if (tp !== p) targetPorts[String(p)] = tp;
  });
  const target: ServiceTarget = { name: request.host, host: request.host, ...(Object.keys(targetPorts).length ? { targetPorts } : {}) };
  const def = validateDefinition({ address: request.address, protocol, ports: [...request.ports], targets: [target] });
  const current = readForChange(dir);
  const existing = current.definitions.find((d) => d.address === def.address);
  if (existing && !existing.targets.every((t) => t.host === request.host)) {
    throw new UserError(
      `the address "${def.address}" is already exposed from local site ${site.name} by ${existing.targets.map((t) => t.name).join(', ')}; choose another with --address`,
    );
  }
  if (current.forwards.some((f) => f.address === def.address)) {
    throw new UserError(
      `local site ${site.name} forwards "${def.address}" from the network to a local port; ` +
        `remove that with \`van unforward ${def.address}\` before exposing a local port under the same name`,
    );
  }
  writeDefinitions(
    dir,
    [...current.definitions.filter((d) => d.address !== def.address), def].sort((a, b) => a.address.localeCompare(b.address)),
  );
  return def;
}

/** Stops exposing: the service of `address` (or every service that targets `host`). Returns what was removed. */
export function unexposeHost(dir: string, request: { host?: string; address?: string }): ServiceDefinition[] {
  const site = requireSite(dir);
  if (!request.host && !request.address) throw new UserError('name what to unexpose: host/HOST, or --address A');
  const current = readForChange(dir);
  const matches = (d: ServiceDefinition) =>
    (!request.address || d.address === request.address) && (!request.host || d.targets.some((t) => t.host === request.host));
  const removed = current.definitions.filter(matches);
  if (removed.length === 0) {
    const known = current.definitions.map((d) => d.address).join(', ') || 'none';
    throw new UserError(
      `local site ${site.name} does not expose ${request.address ? `"${request.address}"` : ''}${request.host ? ` from ${request.host}` : ''}; exposed here: ${known}`,
    );
  }
  writeDefinitions(
    dir,
    current.definitions.filter((d) => !matches(d)),
  );
  return removed;
}

export interface ForwardRequest {
  address: string;
  port: number;
  host?: string;
  servicePort?: number;
}

/**
 * Makes network service `address` reachable on this machine at host:port (127.0.0.1 by default). The
 * port must be free now (unless this forward already holds it) and not one of the site's own.
 */
export async function forwardService(dir: string, request: ForwardRequest): Promise<Forward> {
  const site = requireSite(dir);
  const bad = addressProblem(request.address);
  if (bad) throw new UserError(bad);
  if (!isPort(request.port)) throw new UserError(`--port ${request.port} is not a port number (1-65535)`);
  const host = request.host ?? '127.0.0.1';
  const hostBad = hostProblem(host);
  if (hostBad) throw new UserError(hostBad);
  if (request.servicePort !== undefined && !isPort(request.servicePort))
    throw new UserError(`--service-port ${request.servicePort} is not a port number`);
  if (site.ports.includes(request.port))
    throw new UserError(`port ${request.port} is one of local site ${site.name}'s own ports; choose another`);
  const current = readForChange(dir);
  if (current.definitions.some((d) => d.address === request.address)) {
    throw new UserError(`"${request.address}" is exposed from this machine by local site ${site.name}; it is already here`);
  }
  const clash = current.forwards.find(
    (f) => f.port === request.port && f.address !== request.address && (f.host === host || f.host === '0.0.0.0' || host === '0.0.0.0'),
  );
  if (clash)
    throw new UserError(
      `port ${request.port} already forwards "${clash.address}"; choose another port or \`van unforward ${clash.address}\``,
    );
  const same = current.forwards.find((f) => f.address === request.address);
  const held = same && same.port === request.port && same.host === host;
  if (!held && !(await portIsFree(host, request.port))) {
    throw new UserError(`port ${request.port} on ${host} is in use by another program; choose another port`);
  }
  const forward: Forward = {
    address: request.address,
    host,
    port: request.port,
    ...(request.servicePort ? { servicePort: request.servicePort } : {}),
  };
  writeForwards(
    dir,
    [...current.forwards.filter((f) => f.address !== request.address), forward].sort((a, b) => a.address.localeCompare(b.address)),
  );
  return forward;
}

export function unforwardService(dir: string, address: string): Forward {
  const site = requireSite(dir);
  const current = readForChange(dir);
  const found = current.forwards.find((f) => f.address === address);
  if (!found) {
    const known = current.forwards.map((f) => `${f.address} (${f.host}:${f.port})`).join(', ') || 'none';
    throw new UserError(`local site ${site.name} does not forward "${address}"; forwarded: ${known}`);
  }
  writeForwards(
    dir,
    current.forwards.filter((f) => f.address !== address),
  );
  return found;
}

export interface LocalServiceStatusEntry {
  address: string;
  protocol: string;
  ports: number[];
  /** Exposed from this machine (a host target here). */
  local: boolean;
  targets?: string[];
  exposedIn?: string[];
  /** Where this machine reaches it, when forwarded: host:port. */
  forwardedTo?: string;
}

/** A laptop site's services: its own, its forwards, and the network's from its network.json. */
export function localServiceStatus(dir: string): LocalServiceStatusEntry[] {
  requireSite(dir);
  const { definitions, forwards } = readLocalServices(dir);
  const entries = new Map<string, LocalServiceStatusEntry>();
  for (const def of definitions) {
    entries.set(def.address, {
      address: def.address,
      protocol: def.protocol,
      ports: def.ports,
      local: true,
      targets: def.targets.map((t) => `host/${t.host ?? t.name}`),
    });
  }
  let network: {
    sites?: { id: string; name: string }[];
    services?: { address: string; protocol: string; ports: number[]; exposedIn?: string[] }[];
  } = {};
  try {
    network = JSON.parse(readFileSync(join(dir, 'network.json'), 'utf8'));
  } catch {
    // not published yet
  }
  const names = new Map((network.sites ?? []).map((s) => [s.id, s.name]));
  for (const s of network.services ?? []) {
    const exposedIn = (s.exposedIn ?? []).map((id) => names.get(id) ?? id);
    const existing = entries.get(s.address);
    if (existing) existing.exposedIn = exposedIn;
    else entries.set(s.address, { address: s.address, protocol: s.protocol, ports: s.ports, local: false, exposedIn });
  }
  for (const f of forwards) {
    const entry = entries.get(f.address) ?? { address: f.address, protocol: 'tcp', ports: [], local: false, exposedIn: [] };
    entry.forwardedTo = `${f.host}:${f.port}`;
    entries.set(f.address, entry);
  }
  return [...entries.values()].sort((a, b) => a.address.localeCompare(b.address));
}
