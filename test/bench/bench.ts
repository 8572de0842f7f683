// The data-path benchmark: the same server and load generator through direct, socat, a stunnel pair with
// mutual TLS, the van router pair (1 hop) and three routers (2 hops). Prints a table and writes
// bench/results/latest.json (format in DESIGN.md "Bench output").
// Usage: npm run bench [-- --quick] [-- --only=van-1hop,stunnel]   env BENCH_SECONDS, BENCH_IDLE_FLOWS
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { createCA, issueCertificate } from '../../src/core/pki/index.js';
import type { RouterConfig, TlsFiles } from '../../src/core/router/config.js';

type System = 'direct' | 'socat' | 'stunnel' | 'van-1hop' | 'van-2hop';
interface Run {
  scenario: string;
  system: System;
  metric: string;
  value: number;
  unit: string;
}

const root = join(dirname(new URL(import.meta.url).pathname), '..', '..');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args
  .find((a) => a.startsWith('--only='))
  ?.slice(7)
  .split(',');
const SECONDS = Number(process.env.BENCH_SECONDS ?? (quick ? 1.5 : 3));
const METRICS = process.env.BENCH_METRICS?.split(',');
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

async function rtt(port: number, count: number): Promise<{ p50: number; p99: number }> {
  const s = await connect(port);
  s.write('E');
  const msg = Buffer.alloc(64, 0x63);
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
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
    if (i >= 50) times.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
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

async function startRouter(config: RouterConfig): Promise<ChildProcess> {
  const path = join(work, `router-${config.id}.json`);
  writeFileSync(path, JSON.stringify(config));
  const extra = (process.env.BENCH_ROUTER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const p = start(process.execPath, [...extra, '--import', 'tsx', join(root, 'test', 'e2e', 'fixtures', 'router-child.ts'), path], {});
  await firstLine(p);
  return p;
}

function routerConfig(id: string, extra: Partial<RouterConfig>): RouterConfig {
  return { id, siteId: id, siteName: id, mode: 'interior', listeners: [], connectors: [], tcpListeners: [], tcpConnectors: [], ...extra };
}

async function upSystem(system: System, serverPort: number, tlsFiles: TlsFiles): Promise<Up> {
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
  return { port, pids: procs.map((p) => p.pid!), stop: () => stopAll(procs) };
}

// ---- main -----------------------------------------------------------------------------------------

async function main() {
  for (const tool of ['socat', 'stunnel4']) {
    if (spawnSync('which', [tool]).status !== 0) {
      console.error(`bench: ${tool} is missing (apt-get install -y socat stunnel4)`);
      process.exit(1);
    }
  }
  const serverProc = start(process.execPath, ['--import', 'tsx', join(root, 'test', 'bench', 'server.ts')]);
  const serverPort = Number(await firstLine(serverProc));
  const tlsFiles = pki().server;
  const runs: Run[] = [];
  const systems: System[] = (['direct', 'socat', 'stunnel', 'van-1hop', 'van-2hop'] as System[]).filter((s) => !only || only.includes(s));
  const want = (m: string) => !METRICS || METRICS.includes(m);
  const add = (system: System, scenario: string, metric: string, value: number, unit: string) => {
    runs.push({ scenario, system, metric, value: Math.round(value * 100) / 100, unit });
    process.stderr.write(`  ${system.padEnd(9)} ${metric.padEnd(18)} ${value.toFixed(1)} ${unit}\n`);
  };
  for (const system of systems) {
    process.stderr.write(`${system}\n`);
    const up = await upSystem(system, serverPort, tlsFiles);
    try {
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
      if (want('rtt_p50_us')) {
        const r = await rtt(up.port, quick ? 1000 : 3000);
        add(system, '64-byte echo', 'rtt_p50_us', r.p50, 'us');
        add(system, '64-byte echo', 'rtt_p99_us', r.p99, 'us');
      }
      if (want('conn_per_s_1'))
        add(system, 'connect+echo+close, 1 loop', 'conn_per_s_1', await connRate(up.port, 1, SECONDS / 2), 'conn/s');
      if (want('conn_per_s_8'))
        add(system, 'connect+echo+close, 8 loops', 'conn_per_s_8', await connRate(up.port, 8, SECONDS / 2), 'conn/s');
      if (want('concurrent_1000_ms')) {
        await sleep(200);
        add(system, '1000 concurrent connections', 'concurrent_1000_ms', await concurrent(up.port, 1000), 'ms');
      }
      if (system.startsWith('van') && IDLE_FLOWS > 0 && want('kb_per_idle_flow')) {
        await sleep(500);
        add(system, `${IDLE_FLOWS} idle flows`, 'kb_per_idle_flow', await idleFlows(up.port, IDLE_FLOWS, up.pids), 'KB');
      }
    } finally {
      await up.stop();
    }
  }
  await stopAll([serverProc]);

  // Ratios against stunnel (the issue's targets) and direct.
  const get = (system: System, metric: string) => runs.find((r) => r.system === system && r.metric === metric)?.value;
  const ratios: Record<string, number> = {};
  for (const van of ['van-1hop', 'van-2hop'] as System[]) {
    for (const m of ['mbps_down_1', 'mbps_down_8', 'mbps_up_1', 'mbps_up_8', 'conn_per_s_1', 'conn_per_s_8']) {
      const a = get(van, m);
      const b = get('stunnel', m);
      if (a !== undefined && b) ratios[`${van}/stunnel ${m}`] = Math.round((a / b) * 100) / 100;
    }
    const cv = get(van, 'cpu_s_per_gb');
    const cs = get('stunnel', 'cpu_s_per_gb');
    if (cv !== undefined && cs) ratios[`${van}/stunnel cpu_s_per_gb`] = Math.round((cv / cs) * 100) / 100;
    const rv = get(van, 'rtt_p50_us');
    const rd = get('direct', 'rtt_p50_us');
    if (rv !== undefined && rd !== undefined) ratios[`${van}-direct rtt_p50_us`] = Math.round(rv - rd);
  }
  const result = {
    machine: {
      cpus: os.cpus().length,
      model: os.cpus()[0]?.model,
      node: process.version,
      platform: `${os.type()} ${os.release()}`,
      loadavg: os.loadavg(),
      date: new Date().toISOString(),
      seconds: SECONDS,
    },
    runs,
    ratios,
  };
  const outDir = join(root, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'latest.json'), JSON.stringify(result, null, 2) + '\n');

  // Table: one row per metric, one column per system.
  const metrics = [...new Set(runs.map((r) => r.metric))];
  const header = ['metric', ...systems];
  const rows = metrics.map((m) => [m, ...systems.map((s) => (get(s, m) === undefined ? '-' : String(get(s, m))))]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |';
  console.log(line(header));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const r of rows) console.log(line(r));
  console.log('\nratios: ' + JSON.stringify(ratios, null, 1));
  console.log(`\nwritten: bench/results/latest.json`);
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(async () => {
    await stopAll(children);
    process.exit();
  });
