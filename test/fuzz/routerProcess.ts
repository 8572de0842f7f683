// One router in a child process on 127.0.0.1 (ephemeral ports), with a plain and a TLS listener of each
// role, and what the hostile-input suites ask of it: raw connections, /healthz, a normal AMQP exchange,
// its memory.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import rhea from 'rhea';
import { createCA, issueCertificate } from '../../src/core/pki/index.js';

export type ListenerName = 'amqp' | 'amqps' | 'inter-router' | 'inter-routers';
export const LISTENERS: ListenerName[] = ['amqp', 'amqps', 'inter-router', 'inter-routers'];

interface Pki {
  dir: string;
  files: { ca: string; cert: string; key: string };
  ca: string;
  cert: string;
  key: string;
}

let pki: Pki | undefined;
function testPki(): Pki {
  if (pki) return pki;
  const dir = mkdtempSync(join(tmpdir(), 'van-fuzz-'));
  const ca = createCA('van-fuzz-ca');
  const leaf = issueCertificate(ca, { commonName: 'router', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], usage: 'both' });
  const files = { ca: join(dir, 'ca.pem'), cert: join(dir, 'router.crt'), key: join(dir, 'router.key') };
  writeFileSync(files.ca, ca.certPem);
  writeFileSync(files.cert, leaf.certPem);
  writeFileSync(files.key, leaf.keyPem);
  pki = { dir, files, ca: ca.certPem, cert: leaf.certPem, key: leaf.keyPem };
  return pki;
}

export interface RouterProcessOptions {
  /** V8 heap cap of the child (MB): an unbounded allocation ends the child quickly instead of the machine. */
  maxOldSpaceMb?: number;
  env?: Record<string, string>;
}

export class RouterProcess {
  child!: ChildProcess;
  pid = 0;
  ports = {} as Record<ListenerName, number>;
  management = 0;
  exited?: string;
  private stderr = '';

  static async start(opts: RouterProcessOptions = {}): Promise<RouterProcess> {
    const r = new RouterProcess();
    await r.launch(opts);
    return r;
  }

  private async launch(opts: RouterProcessOptions): Promise<void> {
    const { dir, files } = testPki();
    const config = {
      id: 'fuzzed',
      siteId: 'site-fuzzed',
      siteName: 'fuzzed',
      mode: 'interior',
      listeners: [
        { name: 'amqp', host: '127.0.0.1', port: 0, role: 'normal' },
        { name: 'amqps', host: '127.0.0.1', port: 0, role: 'normal', tls: files },
        { name: 'inter-router', host: '127.0.0.1', port: 0, role: 'inter-router' },
        { name: 'inter-routers', host: '127.0.0.1', port: 0, role: 'inter-router', tls: files },
      ],
      connectors: [],
      tcpListeners: [],
      tcpConnectors: [],
      management: { host: '127.0.0.1', port: 0 },
    };
    const path = join(dir, `router-${process.pid}-${Date.now()}.json`);
    writeFileSync(path, JSON.stringify(config));
    const args = [
      `--max-old-space-size=${opts.maxOldSpaceMb ?? 400}`,
      '--import',
      'tsx',
      join(import.meta.dirname, 'router-child.ts'),
      path,
    ];
    this.child = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, VAN_LOG: 'error', ...opts.env },
    });
    this.child.stderr!.on('data', (d) => (this.stderr = (this.stderr + d).slice(-8000)));
    this.child.on('exit', (code, signal) => (this.exited = `exited (code ${code}, signal ${signal})`));
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`router child did not start: ${this.stderr}`)), 30_000);
      this.child.stdout!.on('data', (d) => {
        out += d;
        const i = out.indexOf('\n');
        if (i >= 0) {
          clearTimeout(timer);
          resolve(out.slice(0, i));
        }
      });
      this.child.once('exit', () => {
        clearTimeout(timer);
        reject(new Error(`router child exited at start: ${this.stderr}`));
      });
    });
    const ready = JSON.parse(line);
    this.pid = ready.pid;
    this.ports = ready.listeners;
    this.management = ready.management;
  }

  get alive(): boolean {
    return this.exited === undefined;
  }

  get lastStderr(): string {
    return this.stderr;
  }

  /** Peak resident memory of the child (VmHWM), MB. */
  rssPeakMb(): number {
    return procStatusKb(this.pid, 'VmHWM') / 1024;
  }

  rssMb(): number {
    return procStatusKb(this.pid, 'VmRSS') / 1024;
  }

  /** CPU seconds the child has used (user + system). */
  cpuSeconds(): number {
    const fields = readFileSync(`/proc/${this.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  }

  async healthz(timeoutMs = 3000): Promise<boolean> {
    return new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.1', port: this.management, path: '/healthz', timeout: timeoutMs }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200));
      });
      req.on('timeout', () => {
        req.destroy();
        resolve(false);
      });
      req.on('error', () => resolve(false));
    });
  }

  /**
   * A normal AMQP exchange through a normal listener (a receiver gets what a sender sends): plain, plain
   * with SASL ANONYMOUS, or TLS with the network's client certificate.
   */
  exchange(timeoutMs = 10_000, how: 'plain' | 'sasl' | 'tls' = 'plain'): Promise<void> {
    const { ca, cert, key } = testPki();
    const options =
      how === 'tls'
        ? { host: '127.0.0.1', port: this.ports.amqps, transport: 'tls', ca, cert, key, servername: 'localhost' }
        : { host: '127.0.0.1', port: this.ports.amqp, ...(how === 'sasl' ? { username: 'anonymous' } : {}) };
    return amqpRoundTrip(options, timeoutMs);
  }

  /** A raw connection to a listener (TLS ones with the network's client certificate). */
  connect(listener: ListenerName): net.Socket {
    const port = this.ports[listener];
    if (listener === 'amqps' || listener === 'inter-routers') {
      const { ca, cert, key } = testPki();
      return tls.connect({ host: '127.0.0.1', port, ca, cert, key, servername: 'localhost', minVersion: 'TLSv1.3' });
    }
    return net.connect({ host: '127.0.0.1', port });
  }

  /** SIGTERM (SIGKILL after 5 s, or at once with `kill`). */
  async stop(kill = false): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill(kill ? 'SIGKILL' : 'SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

function procStatusKb(pid: number, field: string): number {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  return m ? Number(m[1]) : NaN;
}

/** Sends one message to a fresh address and waits for it at a receiver on the same router. */
export function amqpRoundTrip(target: { host: string; port: number } & Record<string, unknown>, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const container = rhea.create_container({ id: `check-${process.pid}-${Date.now()}` });
    const conn = container.connect({ ...target, reconnect: false } as never);
    const address = `check/${Date.now()}/${Math.random().toString(36).slice(2)}`;
    const body = `ping ${address}`;
    const done = (err?: Error) => {
      clearTimeout(timer);
      conn.close();
      setTimeout(() => conn.socket?.destroy?.(), 100).unref();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => done(new Error(`no normal exchange within ${timeoutMs} ms`)), timeoutMs);
    conn.on('error', (e: Error) => done(e));
    conn.on('disconnected', (ctx: { error?: Error }) => done(new Error(`disconnected: ${ctx.error?.message ?? 'closed'}`)));
    const receiver = conn.open_receiver(address);
    receiver.on('message', (ctx: { message: { body: unknown } }) => {
      if (ctx.message.body === body) done();
    });
    receiver.once('receiver_open', () => {
      const sender = conn.open_sender(address);
      sender.once('sendable', () => sender.send({ body }));
    });
  });
}

export interface RawResult {
  /** Everything the router sent. */
  data: Buffer;
  /** The router closed (or reset) the connection. */
  closedByPeer: boolean;
  /** Bytes we managed to write before the router closed. */
  written: number;
}

/**
 * Writes `input` to a listener and collects what comes back until the router closes the connection or
 * `waitMs` passes (then we close). With `halfClose`, we end our side after writing (the router then
 * closes once it has read everything).
 */
export function rawExchange(
  router: RouterProcess,
  listener: ListenerName,
  input: Buffer | Buffer[],
  opts: { waitMs?: number; halfClose?: boolean } = {},
): Promise<RawResult> {
  const chunks: Buffer[] = [];
  const parts = Array.isArray(input) ? input : [input];
  return new Promise((resolve) => {
    const s = router.connect(listener);
    let written = 0;
    let finished = false;
    const finish = (closedByPeer: boolean) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ data: Buffer.concat(chunks), closedByPeer, written });
    };
    const timer = setTimeout(() => finish(false), opts.waitMs ?? 3000);
    s.on('data', (d) => chunks.push(d));
    s.on('error', () => finish(true));
    s.on('close', () => finish(true));
    s.once(s instanceof tls.TLSSocket ? 'secureConnect' : 'connect', () => {
      for (const part of parts) {
        written += part.length;
        s.write(part);
      }
      if (opts.halfClose) s.end();
    });
  });
}
