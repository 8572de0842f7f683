// Shared helpers of the router tests: a test PKI on disk, router configs on loopback, an echo server.
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCA, issueCertificate, type KeyPair } from '../../../src/core/pki/index.js';
import type { RouterConfig, TlsFiles } from '../../../src/core/router/config.js';
import { Router } from '../../../src/core/router/router.js';
import { refreshLogLevel } from '../../../src/core/router/log.js';
import { freePort } from '../../net';

process.env.VAN_LOG ??= 'warn';
refreshLogLevel();

export const dir = mkdtempSync(join(tmpdir(), 'van-router-test-'));

function write(name: string, pair: KeyPair, ca: KeyPair): TlsFiles {
  const files = { ca: join(dir, `${name}-ca.pem`), cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  writeFileSync(files.ca, ca.certPem);
  writeFileSync(files.cert, pair.certPem);
  writeFileSync(files.key, pair.keyPem);
  return files;
}

export interface TestPki {
  /** Server+client cert for every router of the network (localhost / 127.0.0.1). */
  router: TlsFiles;
  /** Same network CA, other name. */
  ca: KeyPair;
}

let pki: TestPki | undefined;
export function networkPki(): TestPki {
  if (pki) return pki;
  const ca = createCA('van-test-ca');
  const leaf = issueCertificate(ca, { commonName: 'router', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], usage: 'both' });
  pki = { ca, router: write('router', leaf, ca) };
  return pki;
}

let foreign: TlsFiles | undefined;
/** A certificate from another network (its own CA), trusting only that CA. */
export function foreignPki(): TlsFiles {
  if (foreign) return foreign;
  const ca = createCA('other-network-ca');
  const leaf = issueCertificate(ca, { commonName: 'intruder', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], usage: 'both' });
  foreign = write('foreign', leaf, ca);
  return foreign;
}

/** A client certificate from another CA, but trusting the network's CA (so only the server can refuse). */
let foreignClient: TlsFiles | undefined;
export function foreignClientPki(): TlsFiles {
  if (foreignClient) return foreignClient;
  const ca = createCA('other-network-ca-2');
  const leaf = issueCertificate(ca, { commonName: 'intruder2', usage: 'client' });
  foreignClient = write('foreign-client', leaf, networkPki().ca);
  return foreignClient;
}

export function baseConfig(id: string, extra: Partial<RouterConfig> = {}): RouterConfig {
  return {
    id,
    siteId: `site-${id}`,
    siteName: `site-${id}`,
    mode: 'interior',
    listeners: [],
    connectors: [],
    tcpListeners: [],
    tcpConnectors: [],
    ...extra,
  };
}

export { freePort };

/** A router with an inter-router listener on a free port. */
export async function startRouter(
  id: string,
  extra: Partial<RouterConfig> = {},
  listen = true,
): Promise<{ router: Router; port: number; config: RouterConfig }> {
  const p = networkPki();
  const port = listen ? await freePort() : 0;
  const config = baseConfig(id, {
    listeners: listen ? [{ name: 'inter-router', host: '127.0.0.1', port, role: 'inter-router', tls: p.router }] : [],
    ...extra,
  });
  const router = await Router.start(config);
  return { router, port, config };
}

export function connectorTo(name: string, port: number, cost = 1, tls?: TlsFiles) {
  return { name, host: '127.0.0.1', port, role: 'inter-router' as const, cost, tls: tls ?? networkPki().router };
}

export async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** TCP echo server that prefixes nothing: sends back what it reads, honours half-close. */
export async function echoServer(
  tag = '',
): Promise<{ port: number; server: net.Server; connections: () => number; close(): Promise<void> }> {
  let count = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (s) => {
    count++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    if (tag) s.write(tag);
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, r));
  return {
    port: (server.address() as net.AddressInfo).port,
    server,
    connections: () => count,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** Connects, sends `data`, half-closes, and collects everything until the server closes. */
export function echoOnce(port: number, data: Buffer | string, timeoutMs = 10_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true, noDelay: true });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('echo timed out'));
    }, timeoutMs);
    s.on('connect', () => s.end(data));
    s.on('data', (b) => chunks.push(b));
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.on('end', () => {
      clearTimeout(timer);
      s.destroy();
      resolve(Buffer.concat(chunks));
    });
  });
}
