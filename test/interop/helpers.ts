// The interop suite's harness: routers as child processes (as `van router` runs them), and AMQP clients
// not written by us: a go-amqp program (test/interop/go, built once and cached by a hash of its sources)
// and python3-qpid-proton scripts (test/interop/py). Every client prints JSON lines; the last is its result.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createCA, issueCertificate } from '../../src/core/pki/index.js';
import type { ListenerConfig, RouterConfig, TlsFiles } from '../../src/core/router/config.js';
import { getJson, startRouterChild, type Child } from '../e2e/router-helpers.js';
import { baseConfig, connectorTo, dir, freePort, networkPki, waitFor } from '../unit/router/helpers.js';

const root = resolve(import.meta.dirname, '..', '..');
const goDir = join(import.meta.dirname, 'go');
const pyClient = join(import.meta.dirname, 'py', 'proton_client.py');
export const PYTHON = '/usr/bin/python3';

/** Prints a figure as the suite's convention wants it: `INTEROP <name> <value> <unit>`. */
export function figure(name: string, value: number | string, unit: string): void {
  process.stdout.write(`INTEROP ${name} ${value} ${unit}\n`);
}

// ---- clients ------------------------------------------------------------------------------------

function goBinary(): string {
  const env = { ...process.env, PATH: `/usr/local/go/bin:${process.env.PATH ?? ''}` };
  const h = createHash('sha256');
  for (const f of readdirSync(goDir).sort()) if (/\.(go|mod|sum)$/.test(f)) h.update(f).update(readFileSync(join(goDir, f)));
  const out = join(root, '.van-test', 'interop', `go-amqp-client-${h.digest('hex').slice(0, 16)}`);
  if (existsSync(out)) return out;
  const cache = join(root, '.van-test', 'interop');
  mkdirSync(cache, { recursive: true });
  for (const f of readdirSync(cache)) if (f.startsWith('go-amqp-client-')) rmSync(join(cache, f), { force: true });
  const tmp = `${out}.tmp.${process.pid}`;
  // go.mod and go.sum are complete: -mod=readonly builds exactly what they pin.
  const r = spawnSync('go', ['build', '-mod=readonly', '-trimpath', '-o', tmp, '.'], {
    cwd: goDir,
    env,
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (r.status !== 0) throw new Error(`go build of the go-amqp client failed: ${r.error?.message ?? ''}${r.stderr}`);
  renameSync(tmp, out);
  return out;
}

let goPath: string | undefined;
let goProblem: string | undefined;
/** Why the go-amqp client cannot run here (undefined when it can). Builds it on first use. */
export function goUnavailable(): string | undefined {
  if (goPath || goProblem) return goProblem;
  try {
    goPath = goBinary();
  } catch (e) {
    goProblem = (e as Error).message;
  }
  return goProblem;
}

let protonOk: boolean | undefined;
export function protonUnavailable(): string | undefined {
  protonOk ??= existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import proton'], { stdio: 'ignore' }).status === 0;
  return protonOk ? undefined : 'python3-qpid-proton is not installed (apt-get install python3-qpid-proton)';
}

export interface Client {
  readonly lines: any[];
  readonly stderr: () => string;
  /** Resolves with the last JSON line when the process exits (rejects on a non-zero exit unless allowed). */
  readonly done: Promise<{ code: number | null; last: any; lines: any[] }>;
  waitLine(what: string, pred: (l: any) => boolean, timeoutMs?: number): Promise<any>;
  kill(): void;
}

function startClient(cmd: string, args: string[], timeoutMs: number): Client {
  const proc: ChildProcess = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: any[] = [];
  let err = '';
  let buf = '';
  proc.stderr!.on('data', (d) => (err += d));
  proc.stdout!.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (!line) continue;
      try {
        lines.push(JSON.parse(line));
      } catch {
        lines.push({ text: line });
      }
    }
  });
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  const done = new Promise<{ code: number | null; last: any; lines: any[] }>((resolveDone) => {
    proc.on('exit', (code) => {
      clearTimeout(timer);
      resolveDone({ code, last: lines[lines.length - 1], lines });
    });
  });
  return {
    lines,
    stderr: () => err,
    done,
    waitLine: async (what, pred, t = 15_000) => {
      let exited = false;
      void done.then(() => (exited = true));
      await waitFor(
        `${what} (${cmd.split('/').pop()} ${args.slice(0, 3).join(' ')}: ${err.slice(-300)})`,
        () => exited || lines.some(pred),
        t,
      );
      const hit = lines.find(pred);
      if (!hit) throw new Error(`${what}: the client exited first: ${JSON.stringify(lines.slice(-3))} ${err.slice(-500)}`);
      return hit;
    },
    kill: () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    },
  };
}

/** The go-amqp client: `go(['-mode', 'send', ...])`. */
export function go(args: string[], timeoutMs = 60_000): Client {
  if (!goPath) throw new Error(goUnavailable() ?? 'go client not built');
  return startClient(goPath, args, timeoutMs);
}

/** The proton client: `proton(['close', url])`. */
export function proton(args: string[], timeoutMs = 60_000): Client {
  return startClient(PYTHON, ['-u', pyClient, ...args], timeoutMs);
}

/** Runs a client to its end and returns its last line; throws (with its output) on a non-zero exit. */
export async function result(c: Client): Promise<any> {
  const r = await c.done;
  if (r.code !== 0) throw new Error(`client exited with ${r.code}: ${JSON.stringify(r.lines.slice(-3))} ${c.stderr().slice(-1000)}`);
  return r.last;
}

// ---- routers ------------------------------------------------------------------------------------

export interface TestRouter {
  id: string;
  child: Child;
  /** Plain AMQP (`normal` listener). */
  url: string;
  /** Mutual TLS AMQP (`normal` listener with the network's certificates), when asked for. */
  tlsUrl?: string;
  interRouterPort: number;
  managementPort: number;
  pid: number;
  stop(): Promise<void>;
}

/** A router child process with a plain client listener, an inter-router listener and HTTP management. */
export async function startTestRouter(id: string, opts: { tls?: boolean; connectTo?: TestRouter[] } = {}): Promise<TestRouter> {
  const pki = networkPki();
  const [amqp, amqps, interRouter, management] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const listeners: ListenerConfig[] = [
    { name: 'amqp', host: '127.0.0.1', port: amqp, role: 'normal' },
    { name: 'inter-router', host: '127.0.0.1', port: interRouter, role: 'inter-router', tls: pki.router },
  ];
  if (opts.tls) listeners.push({ name: 'amqps', host: '127.0.0.1', port: amqps, role: 'normal', tls: pki.router });
  const config: RouterConfig = baseConfig(id, {
    listeners,
    connectors: (opts.connectTo ?? []).map((r) => connectorTo(`to-${r.id}`, r.interRouterPort)),
    management: { host: '127.0.0.1', port: management },
  });
  const child = await startRouterChild(config);
  return {
    id,
    child,
    url: `amqp://127.0.0.1:${amqp}`,
    tlsUrl: opts.tls ? `amqps://127.0.0.1:${amqps}` : undefined,
    interRouterPort: interRouter,
    managementPort: management,
    pid: child.proc.pid!,
    stop: () => child.kill(),
  };
}

export function routerStatus(r: TestRouter): Promise<any> {
  return getJson(r.managementPort, '/status');
}

/** Waits until every router reaches all the others. */
export async function converged(routers: TestRouter[], timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (const r of routers) {
    for (;;) {
      const s = await routerStatus(r);
      if (s.routers.length === routers.length - 1) break;
      if (Date.now() > until) throw new Error(`router ${r.id} reaches ${s.routers.length} routers, not ${routers.length - 1}`);
      await new Promise((res) => setTimeout(res, 50));
    }
  }
}

/** Resident memory of a process (kB): now, and its peak so far. */
export function memoryOf(pid: number): { rssKb: number; peakKb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { rssKb: field('VmRSS'), peakKb: field('VmHWM') };
}

// ---- TLS ----------------------------------------------------------------------------------------

let clientTls: TlsFiles | undefined;
/** A client certificate from the network's CA (as a site's client would have), and that CA. */
export function clientCertificate(): TlsFiles {
  if (clientTls) return clientTls;
  const ca = networkPki().ca;
  const leaf = issueCertificate(ca, { commonName: 'interop-client', usage: 'client' });
  clientTls = { ca: join(dir, 'interop-client-ca.pem'), cert: join(dir, 'interop-client.crt'), key: join(dir, 'interop-client.key') };
  writeFileSync(clientTls.ca, ca.certPem);
  writeFileSync(clientTls.cert, leaf.certPem);
  writeFileSync(clientTls.key, leaf.keyPem);
  return clientTls;
}

let strangerTls: TlsFiles | undefined;
/** A client certificate from another CA: the router must refuse it. */
export function strangerCertificate(): TlsFiles {
  if (strangerTls) return strangerTls;
  const ca = createCA('interop-stranger-ca');
  const leaf = issueCertificate(ca, { commonName: 'stranger', usage: 'client' });
  strangerTls = {
    ca: join(dir, 'interop-stranger-trust.pem'),
    cert: join(dir, 'interop-stranger.crt'),
    key: join(dir, 'interop-stranger.key'),
  };
  writeFileSync(strangerTls.ca, networkPki().ca.certPem);
  writeFileSync(strangerTls.cert, leaf.certPem);
  writeFileSync(strangerTls.key, leaf.keyPem);
  return strangerTls;
}
