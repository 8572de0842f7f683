// The data-path benchmark: the same server and load generator through direct, socat, a stunnel pair with
// mutual TLS, the van router pair (1 hop) and three routers (2 hops). Every system runs `--runs` times
// (default 3), interleaved (system A, B, C, then A, B, C again), so that a neighbour's burst of load falls
// on all of them alike; the table shows the median and the spread (min-max) of each metric. The load
// average is recorded before and after, and the cores other processes kept busy while each system ran;
// when the load average is above the core count at the start, or a neighbour took more than half a core,
// the results are not written to bench/results/latest.json (format in DESIGN.md "Bench output") but to
// loaded.json, marked, unless --force.
// Usage: npm run bench [-- --quick] [--systems stunnel,van-1hop] [--metrics mbps_down_1,cpu_s_per_gb] [--runs 3] [--force]
//   env BENCH_SECONDS, BENCH_RTT_COUNT, BENCH_RTT_WARMUP, BENCH_IDLE_FLOWS, BENCH_ROUTER_NODE_ARGS (e.g. --cpu-prof; routers and node-tls pipes)
//   A/B: a system `van-1hop@NAME` runs the routers with the environment in BENCH_ENV_NAME ("K=V K2=V2"),
//   or, for NAME=base, from the sources under BENCH_BASE_ROOT (e.g. `git archive HEAD src test/e2e` there).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { createCA, issueCertificate } from '../../src/core/pki/index.js';
import type { RouterConfig, TlsFiles } from '../../src/core/router/config.js';

const BASE_SYSTEMS = ['direct', 'socat', 'stunnel', 'van-1hop', 'van-2hop'] as const;
/** Run only when asked for: bare Node TLS pipes (tlspipe.ts), the floor for a router in Node, for one hop and for two. */
const EXTRA_SYSTEMS = ['node-tls', 'node-tls-2hop'] as const;
type BaseSystem = (typeof BASE_SYSTEMS)[number] | (typeof EXTRA_SYSTEMS)[number];
/** A base system, or a van system with a variant (`van-1hop@base`) for A/B runs. */
type System = string;
interface Run {
  scenario: string;
  system: System;
  metric: string;
  /** The median of the samples. */
  value: number;
  unit: string;
  samples: number[];
}

const root = join(dirname(new URL(import.meta.url).pathname), '..', '..');
const args = process.argv.slice(2);
/** `--name value` or `--name=value`. */
function option(name: string): string | undefined {
  const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  return args[i].includes('=') ? args[i].slice(args[i].indexOf('=') + 1) : args[i + 1];
}
const quick = args.includes('--quick');
const force = args.includes('--force');
const only = (option('systems') ?? option('only'))?.split(',').filter(Boolean);
const SECONDS = Number(process.env.BENCH_SECONDS ?? (quick ? 1.5 : 3));
/** Round trips per RTT measurement: 10,000 put 100 samples above p99. */
const RTT_COUNT = Number(process.env.BENCH_RTT_COUNT ?? (quick ? 1000 : 10_000));
/**
 * Round trips before those measured, on the same connection. A fresh process's first few thousand round
 * trips pay for V8's JIT (compiling on the same two cores); a router runs for days, so the measured
 * round trips are the steady state. BENCH_RTT_WARMUP=50 measures a cold start.
 */
const RTT_WARMUP = Number(process.env.BENCH_RTT_WARMUP ?? (quick ? 200 : 5000));
const METRICS = (option('metrics') ?? process.env.BENCH_METRICS)?.split(',').filter(Boolean);
const RUNS = Math.max(1, Number(option('runs') ?? (quick ? 1 : 3)));
/** Cores other processes may keep busy while a system is measured, for a run to count as quiet. */
const MAX_FOREIGN_CORES = 0.5;
const IDLE_FLOWS = Number(process.env.BENCH_IDLE_FLOWS ?? (quick ? 2000 : 10_000));
const work = mkdtempSync(join(os.tmpdir(), 'van-bench-'));
const children: ChildProcess[] = [];

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function start(cmd: string, argv: string[], opts: { env?: Record<string, string> } = {}): ChildProcess {
  const p = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, VAN_LOG: 'warn', ...opts.env } });
  let err = '';
  p.stderr!.on('data', (d) => (err = (err + d).slice(-4000)));
  p.on('exit', (code, sig) => {
    if (code && code !== 0 && !sig) process.stderr.write(`${cmd} exited ${code}: ${err}\n`);
  });
  children.push(p);
  return p;
}

function firstLine(p: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    p.stdout!.on('data', (d) => {
      out += d;
      const i = out.indexOf('\n');
      if (i >= 0) resolve(out.slice(0, i));
    });
    p.once('exit', (c) => reject(new Error(`exited ${c}`)));
  });
}

async function waitPort(port: number, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        r(true);
      });
      s.once('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`port ${port} never answered`);
    await sleep(50);
  }
}

async function stopAll(list: ChildProcess[]) {
  await Promise.all(
    list.map(
      (p) =>
        new Promise<void>((r) => {
          if (p.exitCode !== null || p.signalCode !== null) return r();
          p.once('exit', () => r());
          p.kill('SIGTERM');
          setTimeout(() => p.kill('SIGKILL'), 2000).unref();
        }),
    ),
  );
}

// ---- CPU of forwarder processes (their own time and their children's) ------------------------------

const TICK = 100; // USER_HZ
function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  const stat = (pid: number) => {
    try {
      const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return s.slice(s.lastIndexOf(')') + 2).split(' ');
    } catch {
      return undefined;
    }
  };
  const set = new Set(pids);
  for (const pid of pids) {
    const f = stat(pid);
    if (f) ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  }
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = stat(Number(name));
    if (f && set.has(Number(f[1]))) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / TICK;
}

/**
 * CPU time the whole machine spent busy (all cores), from /proc/stat, and the part of it spent by this
 * bench's own process tree: the difference is what other processes took while a system was measured.
 */
function machineBusySeconds(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / TICK;
}

function ownTreeSeconds(): number {
  const parent = new Map<number, number>();
  const ticks = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const s = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(name), Number(f[1]));
      ticks.set(Number(name), Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]));
    } catch {
      // gone
    }
  }
  let total = 0;
  for (const [pid, t] of ticks) {
    for (let p: number | undefined = pid; p && p > 1; p = parent.get(p)) {
      if (p === process.pid) {
        total += t;
        break;
      }
    }
  }
  return total / TICK;
}

/** Measures how many cores other processes kept busy between start() and stop(). */
function foreignLoad(): { stop(): number } {
  const t0 = performance.now();
  const busy0 = machineBusySeconds();
  const own0 = ownTreeSeconds();
  return {
    stop() {
      const seconds = (performance.now() - t0) / 1000;
      const foreign = machineBusySeconds() - busy0 - (ownTreeSeconds() - own0);
      return Math.max(0, foreign / seconds);
    },
  };
}

function rssKb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

// ---- load generator -------------------------------------------------------------------------------

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', noDelay: true });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

async function throughput(
  port: number,
  streams: number,
  dir: 'down' | 'up',
  seconds: number,
  mark?: (phase: 'start' | 'end') => void,
): Promise<number> {
  const sockets = await Promise.all(Array.from({ length: streams }, () => connect(port)));
  let bytes = 0;
  let stop = false;
  const block = Buffer.alloc(64 * 1024, 0x62);
  mark?.('start');
  const t0 = performance.now();
  for (const s of sockets) {
    s.on('error', () => {});
    if (dir === 'down') {
      s.write('D');
      s.on('data', (b: Buffer) => {
        if (!stop) bytes += b.length;
      });
    } else {
      s.write('U');
      const pump = () => {
        while (!stop) {
          const ok = s.write(block, () => {
            if (!stop) bytes += block.length;
          });
          if (!ok) return;
        }
      };
      s.on('drain', pump);
      pump();
    }
  }
  await sleep(seconds * 1000);
  stop = true;
  const elapsed = (performance.now() - t0) / 1000;
  mark?.('end');
  for (const s of sockets) s.destroy();
  return bytes / elapsed / 1e6;
}

async function rtt(port: number, count: number, mark?: (phase: 'start' | 'end') => void): Promise<{ p50: number; p99: number }> {
  const s = await connect(port);
  s.write('E');
  const msg = Buffer.alloc(64, 0x63);
  const times: number[] = [];
  for (let i = 0; i < RTT_WARMUP + count; i++) {
    if (i === RTT_WARMUP) mark?.('start');
    const t0 = process.hrtime.bigint();
    await new Promise<void>((resolve) => {
      let got = 0;
      const on = (b: Buffer) => {
        got += b.length;
        if (got >= 64) {
          s.off('data', on);
          resolve();
        }
      };
      s.on('data', on);
      s.write(msg);
    });
    if (i >= RTT_WARMUP) times.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  mark?.('end');
  s.destroy();
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(times.length * 0.5)], p99: times[Math.floor(times.length * 0.99)] };
}

function oneShot(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', noDelay: true });
    s.once('connect', () => s.write('Ex'));
    s.once('data', () => {
      s.destroy();
      resolve();
    });
    s.once('error', reject);
  });
}

async function connRate(port: number, loops: number, seconds: number): Promise<number> {
  let n = 0;
  let errors = 0;
  const until = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: loops }, async () => {
      while (performance.now() < until) {
        try {
          await oneShot(port);
          n++;
        } catch {
          errors++;
          if (errors > 1000) return;
        }
      }
    }),
  );
  return n / ((performance.now() - t0) / 1000);
}

async function concurrent(port: number, count: number): Promise<number> {
  const t0 = performance.now();
  const sockets: net.Socket[] = [];
  await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<void>((resolve, reject) => {
          const s = net.connect({ port, host: '127.0.0.1', noDelay: true });
          sockets.push(s);
          s.once('connect', () => s.write('Ex'));
          s.once('data', () => resolve());
          s.once('error', reject);
        }),
    ),
  );
  const ms = performance.now() - t0;
  for (const s of sockets) s.destroy();
  return ms;
}

async function idleFlows(port: number, count: number, pids: number[]): Promise<number> {
  await sleep(300);
  const before = pids.map(rssKb);
  const sockets: net.Socket[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 256 }, async () => {
      while (next < count) {
        next++;
        await new Promise<void>((resolve, reject) => {
          const s = net.connect({ port, host: '127.0.0.1', noDelay: true });
          sockets.push(s);
          s.once('connect', () => s.write('Ex'));
          s.once('data', () => resolve());
          s.once('error', reject);
        });
      }
    }),
  );
  await sleep(500);
  const after = pids.map(rssKb);
  for (const s of sockets) s.destroy();
  // The worst router of the path.
  return Math.max(...after.map((a, i) => (a - before[i]) / count));
}

// ---- systems --------------------------------------------------------------------------------------

interface Up {
  port: number;
  pids: number[];
  stop(): Promise<void>;
  /** Van systems: which path the routers' data frames took (their /status), as one line. */
  framePaths?(): Promise<string>;
}

function pki(): { server: TlsFiles; client: TlsFiles } {
  const ca = createCA('bench-ca');
  const server = issueCertificate(ca, { commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], usage: 'both' });
  const w = (name: string, text: string) => {
    const p = join(work, name);
    writeFileSync(p, text);
    return p;
  };
  const caPath = w('ca.pem', ca.certPem);
  const files = { ca: caPath, cert: w('router.crt', server.certPem), key: w('router.key', server.keyPem) };
  return { server: files, client: files };
}

/** Where a variant's router comes from: its sources and its environment. */
interface Variant {
  root: string;
  env: Record<string, string>;
}

function variantOf(system: System): Variant {
  const name = system.includes('@') ? system.slice(system.indexOf('@') + 1) : '';
  if (!name) return { root, env: {} };
  if (name === 'base') {
    const baseRoot = process.env.BENCH_BASE_ROOT;
    if (!baseRoot) throw new Error(`${system}: set BENCH_BASE_ROOT to a folder with the baseline's src and test/e2e/fixtures`);
    return { root: baseRoot, env: {} };
  }
  const spec = process.env[`BENCH_ENV_${name}`];
  if (spec === undefined) throw new Error(`${system}: set BENCH_ENV_${name} to the routers' environment ("K=V K2=V2")`);
  const env: Record<string, string> = {};
  for (const kv of spec.split(' ').filter(Boolean)) env[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1);
  return { root, env };
}

const bundles = new Map<string, string>();
/**
 * The router as it ships: one esbuild bundle (as scripts/build.mjs makes dist/router.js), not TypeScript
 * compiled on the fly, whose loader and source maps would weigh on the router's heap and its GC.
 */
async function bundle(sourceRoot: string, entry: string): Promise<string> {
  const key = join(sourceRoot, entry);
  let out = bundles.get(key);
  if (out) return out;
  out = join(work, `bundle-${bundles.size}.cjs`);
  const esbuild = await import('esbuild');
  await esbuild.build({
    entryPoints: [key],
    outfile: out,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    logLevel: 'warning',
    absWorkingDir: sourceRoot,
  });
  bundles.set(key, out);
  return out;
}

/** Node arguments for the routers and the node-tls pipes (e.g. --cpu-prof: the floor is profiled alike). */
const NODE_ARGS = (process.env.BENCH_ROUTER_NODE_ARGS ?? '').split(' ').filter(Boolean);

const routerBundle = (sourceRoot: string) => bundle(sourceRoot, join('test', 'e2e', 'fixtures', 'router-child.ts'));

/** Each router's management port (/status), for framePaths. */
const managementPortOf = new Map<ChildProcess, number>();

async function startRouter(config: RouterConfig, variant: Variant): Promise<ChildProcess> {
  const path = join(work, `router-${config.id}.json`);
  config.management = { host: '127.0.0.1', port: await freePort() };
  writeFileSync(path, JSON.stringify(config));
  const p = start(process.execPath, [...NODE_ARGS, await routerBundle(variant.root), path], { env: variant.env });
  managementPortOf.set(p, config.management.port);
  await firstLine(p);
  return p;
}

function routerConfig(id: string, extra: Partial<RouterConfig>): RouterConfig {
  return { id, siteId: id, siteName: id, mode: 'interior', listeners: [], connectors: [], tcpListeners: [], tcpConnectors: [], ...extra };
}

function baseOf(system: System): BaseSystem {
  const base = system.split('@')[0] as BaseSystem;
  const known: readonly string[] = [...BASE_SYSTEMS, ...EXTRA_SYSTEMS];
  if (!known.includes(base) || (system.includes('@') && !base.startsWith('van'))) throw new Error(`unknown system ${system}`);
  return base;
}

async function upSystem(name: System, serverPort: number, tlsFiles: TlsFiles): Promise<Up> {
  const system = baseOf(name);
  const variant = variantOf(name);
  if (system === 'direct') return { port: serverPort, pids: [], stop: async () => {} };
  const port = await freePort();
  if (system === 'socat') {
    const p = start('socat', [
      `TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr,backlog=4096,nodelay`,
      `TCP:127.0.0.1:${serverPort},nodelay`,
    ]);
    await waitPort(port);
    return { port, pids: [p.pid!], stop: () => stopAll([p]) };
  }
  if (system === 'node-tls' || system === 'node-tls-2hop') {
    const pipe = await bundle(root, join('test', 'bench', 'tlspipe.ts'));
    const files = [tlsFiles.ca, tlsFiles.cert, tlsFiles.key];
    const pipeStart = (mode: string, listen: number, to: number) =>
      start(process.execPath, [...NODE_ARGS, pipe, mode, String(listen), String(to), ...files]);
    const mid = await freePort();
    const procs = [pipeStart('server', mid, serverPort)];
    let entry = mid;
    if (system === 'node-tls-2hop') {
      entry = await freePort();
      procs.push(pipeStart('relay', entry, mid));
    }
    procs.push(pipeStart('client', port, entry));
    await Promise.all(procs.map(firstLine));
    return { port, pids: procs.map((p) => p.pid!), stop: () => stopAll(procs) };
  }
  if (system === 'stunnel') {
    const mid = await freePort();
    const common = (name: string) => [
      `foreground = yes`,
      `pid =`,
      `debug = 3`,
      `output = ${join(work, name + '.log')}`,
      `socket = l:TCP_NODELAY=1`,
      `socket = r:TCP_NODELAY=1`,
    ];
    const tlsOpts = [
      `cert = ${tlsFiles.cert}`,
      `key = ${tlsFiles.key}`,
      `CAfile = ${tlsFiles.ca}`,
      `verifyChain = yes`,
      `sslVersionMin = TLSv1.3`,
    ];
    const serverConf = join(work, 'stunnel-server.conf');
    writeFileSync(
      serverConf,
      [
        ...common('s'),
        '[van-server]',
        `accept = 127.0.0.1:${mid}`,
        `connect = 127.0.0.1:${serverPort}`,
        ...tlsOpts,
        'requireCert = yes',
      ].join('\n') + '\n',
    );
    const clientConf = join(work, 'stunnel-client.conf');
    writeFileSync(
      clientConf,
      [
        ...common('c'),
        '[van-client]',
        'client = yes',
        `accept = 127.0.0.1:${port}`,
        `connect = 127.0.0.1:${mid}`,
        ...tlsOpts,
        'checkHost = localhost',
      ].join('\n') + '\n',
    );
    const s = start('stunnel4', [serverConf]);
    const c = start('stunnel4', [clientConf]);
    await waitPort(mid);
    await waitPort(port);
    return { port, pids: [s.pid!, c.pid!], stop: () => stopAll([s, c]) };
  }
  const aPort = await freePort();
  const a = await startRouter(
    routerConfig('bench-a', {
      listeners: [{ name: 'ir', host: '127.0.0.1', port: aPort, role: 'inter-router', tls: tlsFiles }],
      tcpConnectors: [{ name: 'srv', host: '127.0.0.1', port: serverPort, address: 'bench' }],
    }),
    variant,
  );
  let upstream = aPort;
  const procs = [a];
  if (system === 'van-2hop') {
    const mPort = await freePort();
    procs.push(
      await startRouter(
        routerConfig('bench-m', {
          listeners: [{ name: 'ir', host: '127.0.0.1', port: mPort, role: 'inter-router', tls: tlsFiles }],
          connectors: [{ name: 'to-a', host: '127.0.0.1', port: aPort, role: 'inter-router', tls: tlsFiles }],
        }),
        variant,
      ),
    );
    upstream = mPort;
  }
  procs.push(
    await startRouter(
      routerConfig('bench-b', {
        connectors: [{ name: 'up', host: '127.0.0.1', port: upstream, role: 'inter-router', tls: tlsFiles }],
        tcpListeners: [{ name: 'bench', host: '127.0.0.1', port, address: 'bench' }],
      }),
      variant,
    ),
  );
  // Ready when a flow gets through.
  const until = Date.now() + 15_000;
  for (;;) {
    try {
      await Promise.race([oneShot(port), sleep(500).then(() => Promise.reject(new Error('slow')))]);
      break;
    } catch {
      if (Date.now() > until) throw new Error(`${system} never carried a flow`);
      await sleep(100);
    }
  }
  const managementPorts = procs.map((p) => managementPortOf.get(p)!);
  return { port, pids: procs.map((p) => p.pid!), stop: () => stopAll(procs), framePaths: () => framePaths(managementPorts) };
}

/**
 * The data frames of every router link, summed over the routers, by the path they took: a fast path
 * that declined under load (rhea encodes, copies and decodes each frame) shows here, not in the figures.
 */
async function framePaths(managementPorts: number[]): Promise<string> {
  const sum = { sentFast: 0, sentRhea: 0, queued: 0, readFast: 0, readRhea: 0 };
  for (const port of managementPorts) {
    const status = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as { connections: { dataFrames?: typeof sum }[] };
    for (const c of status.connections) {
      if (!c.dataFrames) return 'data frames: not counted by this router';
      for (const k of Object.keys(sum) as (keyof typeof sum)[]) sum[k] += c.dataFrames[k];
    }
  }
  return `data frames: sent ${sum.sentFast} fast, ${sum.sentRhea} by rhea, ${sum.queued} after waiting for credit; read ${sum.readFast} fast, ${sum.readRhea} by rhea`;
}

// ---- main -----------------------------------------------------------------------------------------

type Add = (system: System, scenario: string, metric: string, value: number, unit: string) => void;
const want = (m: string) => !METRICS || METRICS.includes(m);

/** Every selected metric of one system, once. */
async function measure(system: System, up: Up, add: Add): Promise<void> {
  if (want('mbps_down_1') || want('cpu_s_per_gb')) {
    let cpu = 0;
    const down1 = await throughput(up.port, 1, 'down', SECONDS, (phase) => {
      cpu += phase === 'start' ? -cpuSeconds(up.pids) : cpuSeconds(up.pids);
    });
    add(system, 'bulk 1 stream down', 'mbps_down_1', down1, 'MB/s');
    if (up.pids.length) add(system, 'bulk 1 stream down', 'cpu_s_per_gb', cpu / ((down1 * SECONDS) / 1000), 'CPU-s/GB');
  }
  if (want('mbps_down_8')) add(system, 'bulk 8 streams down', 'mbps_down_8', await throughput(up.port, 8, 'down', SECONDS), 'MB/s');
  if (want('mbps_up_1')) add(system, 'bulk 1 stream up', 'mbps_up_1', await throughput(up.port, 1, 'up', SECONDS), 'MB/s');
  if (want('mbps_up_8')) add(system, 'bulk 8 streams up', 'mbps_up_8', await throughput(up.port, 8, 'up', SECONDS), 'MB/s');
  if (want('rtt_p50_us') || want('rtt_p99_us') || want('rtt_cpu_us')) {
    let cpu = 0;
    const r = await rtt(up.port, RTT_COUNT, (phase) => {
      cpu += phase === 'start' ? -cpuSeconds(up.pids) : cpuSeconds(up.pids);
    });
    add(system, '64-byte echo', 'rtt_p50_us', r.p50, 'us');
    add(system, '64-byte echo', 'rtt_p99_us', r.p99, 'us');
    if (up.pids.length) add(system, '64-byte echo', 'rtt_cpu_us', (cpu * 1e6) / RTT_COUNT, 'CPU-us');
  }
  if (want('conn_per_s_1')) add(system, 'connect+echo+close, 1 loop', 'conn_per_s_1', await connRate(up.port, 1, SECONDS / 2), 'conn/s');
  if (want('conn_per_s_8')) add(system, 'connect+echo+close, 8 loops', 'conn_per_s_8', await connRate(up.port, 8, SECONDS / 2), 'conn/s');
  if (want('concurrent_1000_ms')) {
    await sleep(200);
    add(system, '1000 concurrent connections', 'concurrent_1000_ms', await concurrent(up.port, 1000), 'ms');
  }
  if (system.startsWith('van') && IDLE_FLOWS > 0 && want('kb_per_idle_flow')) {
    await sleep(500);
    add(system, `${IDLE_FLOWS} idle flows`, 'kb_per_idle_flow', await idleFlows(up.port, IDLE_FLOWS, up.pids), 'KB');
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** Ratios of the medians against stunnel (the issue's targets) and direct. */
function ratiosOf(runs: Run[]): Record<string, number> {
  const get = (system: System, metric: string) => runs.find((r) => r.system === system && r.metric === metric)?.value;
  const ratios: Record<string, number> = {};
  const vans = [...new Set(runs.map((r) => r.system).filter((s) => s.startsWith('van')))];
  for (const van of vans) {
    for (const m of [
      'mbps_down_1',
      'mbps_down_8',
      'mbps_up_1',
      'mbps_up_8',
      'conn_per_s_1',
      'conn_per_s_8',
      'cpu_s_per_gb',
      'rtt_cpu_us',
    ]) {
      const a = get(van, m);
      const b = get('stunnel', m);
      if (a !== undefined && b) ratios[`${van}/stunnel ${m}`] = round2(a / b);
    }
    const rd = get('direct', 'rtt_p50_us');
    for (const m of ['rtt_p50_us', 'rtt_p99_us']) {
      const rv = get(van, m);
      if (rv !== undefined && rd !== undefined) ratios[`${van}-direct ${m}`] = Math.round(rv - rd);
    }
  }
  return ratios;
}

/** One row per metric, one column per system: the median, and the spread (min-max) when there are several runs. */
function printTable(runs: Run[], systems: System[]): void {
  const metrics = [...new Set(runs.map((r) => r.metric))];
  const cell = (system: System, metric: string) => {
    const r = runs.find((x) => x.system === system && x.metric === metric);
    if (!r) return '-';
    const fmt = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : String(round2(x)));
    if (r.samples.length < 2) return fmt(r.value);
    return `${fmt(r.value)} (${fmt(Math.min(...r.samples))}-${fmt(Math.max(...r.samples))})`;
  };
  const header = ['metric', ...systems];
  const rows = metrics.map((m) => [m, ...systems.map((s) => cell(s, m))]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |';
  console.log(line(header));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const r of rows) console.log(line(r));
}

async function main() {
  for (const tool of ['socat', 'stunnel4']) {
    if (spawnSync('which', [tool]).status !== 0) {
      console.error(`bench: ${tool} is missing (apt-get install -y socat stunnel4)`);
      process.exit(1);
    }
  }
  const cpus = os.cpus().length;
  const loadBefore = os.loadavg();
  const quietStart = loadBefore[0] <= cpus;
  if (!quietStart) {
    process.stderr.write(
      `bench: load average ${loadBefore[0].toFixed(2)} is above the ${cpus} cores: the results are marked and not written to latest.json` +
        `${force ? ' (--force: written anyway, marked)' : ''}\n`,
    );
  }
  const serverProc = start(process.execPath, ['--import', 'tsx', join(root, 'test', 'bench', 'server.ts')]);
  const serverPort = Number(await firstLine(serverProc));
  const tlsFiles = pki().server;
  const systems: System[] = only ?? [...BASE_SYSTEMS];
  for (const s of systems) baseOf(s); // unknown names fail before anything runs

  const samples = new Map<string, Omit<Run, 'value'>>();
  /** Per system run: cores kept busy by processes outside this bench (its neighbours on the machine). */
  const foreignCores: number[] = [];
  const add: Add = (system, scenario, metric, value, unit) => {
    const key = `${system}\0${metric}`;
    let r = samples.get(key);
    if (!r) samples.set(key, (r = { scenario, system, metric, unit, samples: [] }));
    r.samples.push(round2(value));
    process.stderr.write(`  ${system.padEnd(9)} ${metric.padEnd(18)} ${value.toFixed(1)} ${unit}\n`);
  };
  // Interleaved: every system once per round, so that a change in the machine's load falls on all of them.
  for (let round = 1; round <= RUNS; round++) {
    for (const system of systems) {
      process.stderr.write(`${system} (run ${round}/${RUNS}, load ${os.loadavg()[0].toFixed(2)})\n`);
      const up = await upSystem(system, serverPort, tlsFiles);
      const foreign = foreignLoad();
      try {
        await measure(system, up, add);
        if (up.framePaths) process.stderr.write(`  ${await up.framePaths()}\n`);
      } finally {
        const cores = foreign.stop();
        foreignCores.push(cores);
        process.stderr.write(`  other processes kept ${cores.toFixed(2)} cores busy meanwhile\n`);
        await up.stop();
      }
    }
  }
  await stopAll([serverProc]);
  const loadAfter = os.loadavg();

  const runs: Run[] = [...samples.values()].map((r) => ({ ...r, value: round2(median(r.samples)) }));
  // Quiet: a start below the core count, and no neighbour that took more than half a core meanwhile (the
  // load average alone cannot tell, since the bench's own processes raise it above the core count).
  const busiest = Math.max(...foreignCores);
  const quiet = quietStart && busiest <= MAX_FOREIGN_CORES;
  const ratios = ratiosOf(runs);
  // Complete: every base system and every metric (opt-in systems such as node-tls may run beside them).
  const complete = !METRICS && BASE_SYSTEMS.every((b) => systems.includes(b));
  const result = {
    machine: {
      cpus,
      model: os.cpus()[0]?.model,
      node: process.version,
      platform: `${os.type()} ${os.release()}`,
      loadavg: loadBefore,
      loadavgAfter: loadAfter,
      /** Cores other processes kept busy while systems were measured: median and max over the runs. */
      foreignCores: { median: round2(median(foreignCores)), max: round2(Math.max(...foreignCores)) },
      quiet,
      date: new Date().toISOString(),
      seconds: SECONDS,
      runs: RUNS,
      command: `npm run bench${args.length ? ' -- ' + args.join(' ') : ''}`,
    },
    runs,
    ratios,
  };

  printTable(runs, systems);
  console.log('\nratios (of the medians): ' + JSON.stringify(ratios, null, 1));
  const fmtLoad = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  console.log(`\nload average: before ${fmtLoad(loadBefore)}, after ${fmtLoad(loadAfter)} (${cpus} cores); ${RUNS} runs interleaved`);
  console.log(
    `other processes kept ${round2(median(foreignCores))} cores busy (median over the system runs, max ${round2(Math.max(...foreignCores))})` +
      `${busiest > MAX_FOREIGN_CORES ? ': not a quiet machine, compare within a row only' : ''}`,
  );
  // latest.json holds complete runs on a quiet machine only; anything else goes beside it, marked.
  const file = complete && (quiet || force) ? 'latest.json' : !quiet ? 'loaded.json' : 'partial.json';
  const outDir = join(root, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, file), JSON.stringify(result, null, 2) + '\n');
  console.log(`written: bench/results/${file}${quiet ? '' : ' (marked: machine.quiet = false)'}`);
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(async () => {
    await stopAll(children);
    rmSync(work, { recursive: true, force: true });
    process.exit();
  });
