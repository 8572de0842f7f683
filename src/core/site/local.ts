// Local sites: a site on this machine, kept under the user's data folder and run as a child process
// of `van` (or the extension). Layout of <home>/sites/<name>/ (folders 0700, keys 0600):
//   site.json             the site record: name, id, mode, ingress, host and ports
//   ca/tls.crt, tls.key   the site CA
//   server/tls.crt, tls.key, ca.crt   the router's server certificate
//   links/<name>.yaml     one link per file: the link Secret manifest, as on Kubernetes
//   services.json         service definitions (Skupper 1.x JSON, keyed by address)
//   router.pid, router.log
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../errors';
import { createCA, issueCertificate, splitHostNames } from '../pki';
import { findRouterBundle } from './bundle';
import { CLAIMS_PORT, EDGE_PORT, HEALTH_PORT, type Ingress, INTER_ROUTER_PORT, LOCAL_AMQP_PORT, type RouterMode } from './names';
import type { SiteStatus } from './kube';

export interface LocalSiteRecord {
  name: string;
  id: string;
  mode: RouterMode;
  /** none: outgoing links only; loadbalancer (or nodeport): listen for links on `host`. */
  ingress: Ingress;
  host: string;
  ports: { interRouter: number; edge: number; claims: number; amqp: number; health: number };
  created: string;
}

const SITE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** <data home>/vscode-skupper: VAN_LOCAL_HOME, else $XDG_DATA_HOME/vscode-skupper, else ~/.local/share/vscode-skupper. */
export function localHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VAN_LOCAL_HOME) return env.VAN_LOCAL_HOME;
  const data = env.XDG_DATA_HOME || join(env.HOME || homedir(), '.local', 'share');
  return join(data, 'vscode-skupper');
}

export function localSiteDir(name: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(localHome(env), 'sites', name);
}

export function listLocalSites(env: NodeJS.ProcessEnv = process.env): string[] {
  const dir = join(localHome(env), 'sites');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => existsSync(join(dir, n, 'site.json')))
    .sort();
}

export function readLocalSite(dir: string): LocalSiteRecord | undefined {
  const file = join(dir, 'site.json');
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as LocalSiteRecord;
}

function mkdirPrivate(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

function writePrivate(file: string, text: string, mode = 0o600): void {
  writeFileSync(file, text, { mode });
  chmodSync(file, mode);
}

/** True when nothing on this machine listens on host:port now. */
export async function portIsFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

async function anyPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** The well-known port when it is free (first local site), else any free port. */
async function pickPort(host: string, preferred: number, taken: Set<number>): Promise<number> {
  let port = !taken.has(preferred) && (await portIsFree(host, preferred)) ? preferred : await anyPort(host);
  while (taken.has(port)) port = await anyPort(host);
  taken.add(port);
  return port;
}

export interface LocalInitOptions {
  siteName: string;
  ingress?: Ingress;
  routerMode?: RouterMode;
  /** Address other sites reach this one at (ingress other than none). */
  host?: string;
  env?: NodeJS.ProcessEnv;
}

export async function initLocalSite(options: LocalInitOptions): Promise<{ dir: string; site: LocalSiteRecord }> {
  const name = options.siteName;
  if (!SITE_NAME.test(name)) throw new UserError(`site name "${name}" must be lower case letters, digits and '-' (it names a folder)`);
  const dir = localSiteDir(name, options.env);
  const existing = readLocalSite(dir);
  if (existing)
    throw new UserError(
      `local site ${name} already exists in ${dir} (id ${existing.id}); use \`van delete --platform local --site-name ${name}\` first`,
    );
  const host = options.host ?? '127.0.0.1';
  const ingress = options.ingress ?? 'none';
  const taken = new Set<number>();
  // Ports of the other local sites are taken even when those sites are stopped.
  for (const other of listLocalSites(options.env)) {
    const rec = readLocalSite(localSiteDir(other, options.env));
    if (rec) Object.values(rec.ports).forEach((p) => taken.add(p));
  }
  const site: LocalSiteRecord = {
    name,
    id: randomUUID(),
    mode: options.routerMode ?? 'interior',
    ingress,
    host,
    ports: {
      interRouter: await pickPort(host, INTER_ROUTER_PORT, taken),
      edge: await pickPort(host, EDGE_PORT, taken),
      claims: await pickPort(host, CLAIMS_PORT, taken),
      amqp: await pickPort('127.0.0.1', LOCAL_AMQP_PORT, taken),
      health: await pickPort('127.0.0.1', HEALTH_PORT, taken),
    },
    created: new Date().toISOString(),
  };
  mkdirPrivate(localHome(options.env));
  mkdirPrivate(join(localHome(options.env), 'sites'));
  mkdirPrivate(dir);
  try {
    for (const sub of ['ca', 'server', 'links']) mkdirPrivate(join(dir, sub));
    const ca = createCA(`${name} site CA`);
    const { dnsNames, ipAddresses } = splitHostNames(['localhost', '127.0.0.1', host]);
    const server = issueCertificate(ca, { commonName: 'skupper-router', dnsNames, ipAddresses, usage: 'both' });
    writePrivate(join(dir, 'ca', 'tls.crt'), ca.certPem, 0o644);
    writePrivate(join(dir, 'ca', 'tls.key'), ca.keyPem);
    writePrivate(join(dir, 'server', 'tls.crt'), server.certPem, 0o644);
    writePrivate(join(dir, 'server', 'tls.key'), server.keyPem);
    writePrivate(join(dir, 'server', 'ca.crt'), ca.certPem, 0o644);
    writePrivate(join(dir, 'services.json'), '{}\n');
    // site.json last: a folder without it is not a site (an interrupted init is swept by delete).
    writePrivate(join(dir, 'site.json'), `${JSON.stringify(site, null, 2)}\n`);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return { dir, site };
}

export function localPid(dir: string): number | undefined {
  const file = join(dir, 'router.pid');
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

async function healthOf(site: LocalSiteRecord, path: string): Promise<{ ok: boolean; body?: unknown }> {
  try {
    const res = await fetch(`http://127.0.0.1:${site.ports.health}${path}`, { signal: AbortSignal.timeout(2000) });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // plain text
    }
    return { ok: res.ok, body };
  } catch {
    return { ok: false };
  }
}

/** Starts the site's router (dist/router.js) as a detached child; waits until it answers ready. */
export async function startLocalSite(
  dir: string,
  options: { bundlePath?: string; timeoutMs?: number } = {},
): Promise<{ pid: number; alreadyRunning: boolean }> {
  const site = readLocalSite(dir);
  if (!site) throw new UserError(`no local site in ${dir}`);
  const running = localPid(dir);
  if (running) return { pid: running, alreadyRunning: true };
  const bundle = findRouterBundle(options.bundlePath);
  const log = openSync(join(dir, 'router.log'), 'a', 0o600);
  const child = spawn(process.execPath, [bundle], {
    detached: true,
    stdio: ['ignore', log, log],
    env: { ...process.env, SKUPPER_PLATFORM: 'local', SKUPPER_SITE_DIR: dir },
  });
  closeSync(log);
  child.unref();
  const pid = child.pid!;
  writePrivate(join(dir, 'router.pid'), `${pid}\n`);
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  for (;;) {
    if ((await healthOf(site, '/readyz')).ok) return { pid, alreadyRunning: false };
    if (!localPid(dir) || Date.now() > deadline) {
      const tail = existsSync(join(dir, 'router.log')) ? readFileSync(join(dir, 'router.log'), 'utf8').trim().split('\n').slice(-1)[0] : '';
      throw new UserError(
        `the router of local site ${site.name} did not start${tail ? `: ${tail.slice(0, 300)}` : ''} (log: ${join(dir, 'router.log')})`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function stopLocalSite(dir: string, timeoutMs = 10_000): Promise<boolean> {
  const pid = localPid(dir);
  if (!pid) {
    rmSync(join(dir, 'router.pid'), { force: true });
    return false;
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (localPid(dir) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (localPid(dir)) process.kill(pid, 'SIGKILL');
  rmSync(join(dir, 'router.pid'), { force: true });
  return true;
}

export async function localSiteStatus(dir: string, name: string): Promise<SiteStatus> {
  const site = readLocalSite(dir);
  if (!site) return { enabled: false, ready: false, platform: 'local', site: null, links: 0, services: 0, problems: [] };
  const pid = localPid(dir);
  const ready = pid ? (await healthOf(site, '/readyz')).ok : false;
  const linksDir = join(dir, 'links');
  const links = existsSync(linksDir) ? readdirSync(linksDir).filter((f) => /\.(ya?ml|json)$/.test(f)).length : 0;
  let services = 0;
  try {
    services = Object.keys(JSON.parse(readFileSync(join(dir, 'services.json'), 'utf8'))).length;
  } catch {
    // none
  }
  const problems = pid
    ? ready
      ? []
      : ['the router is running but not ready']
    : [`the router is not running: \`van site start --site-name ${name}\``];
  return {
    enabled: true,
    ready,
    platform: 'local',
    site: { name: site.name, id: site.id, mode: site.mode },
    links,
    services,
    ingress: site.ingress,
    ...(site.ingress !== 'none' ? { ingressAddress: `${site.host}:${site.ports.interRouter}` } : {}),
    routers: { ready: ready ? 1 : 0, total: 1 },
    problems,
    ...(pid ? { pid } : {}),
    dir,
  } as SiteStatus;
}

export async function deleteLocalSite(dir: string): Promise<{ existed: boolean; stopped: boolean }> {
  if (!existsSync(dir)) return { existed: false, stopped: false };
  const stopped = await stopLocalSite(dir);
  rmSync(dir, { recursive: true, force: true });
  return { existed: true, stopped };
}

/**
 * What a local site's agent last published in its folder (network.json: the network as it sees it,
 * plus its recent events), or undefined before the first publication.
 */
export function readLocalPublished(dir: string): { network: Record<string, unknown>; events: unknown[] } | undefined {
  const file = join(dir, 'network.json');
  if (!existsSync(file)) return undefined;
  try {
    const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const { events, ...network } = json;
    return { network, events: Array.isArray(events) ? events : [] };
  } catch {
    return undefined; // being written: the next read has it
  }
}
