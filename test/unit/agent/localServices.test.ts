// Two laptop sites, each a real agent + router in this process, linked over mutual TLS: `desk` exposes
// a port of this machine (a TCP echo server here) with expose host; `laptop` forwards that service to a
// port it chooses and reaches the echo through it. A laptop opens no port for a service until it is
// forwarded, and closes it on unforward; unexpose makes the service leave the other site.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { SiteAgent } from '../../../src/core/agent/agent';
import { serviceModules } from '../../../src/core/agent/modules/services';
import { claimsModule, linkStatusModule } from '../../../src/core/agent/modules/links';
import { createLink, waitForLink } from '../../../src/core/link/link';
import type { LocalLinkSite } from '../../../src/core/link/localSite';
import { Router } from '../../../src/core/router/router';
import { exposeHost, forwardService, unexposeHost, unforwardService } from '../../../src/core/service/local';
import { createToken } from '../../../src/core/token/issue';
import { tokenYaml } from '../../../src/core/token/token';
import { startInProcessSite } from '../fixtures/localAgent';
import { freePort } from '../../net';

const home = mkdtempSync(join(tmpdir(), 'van-local-services-'));
const env = { ...process.env, VAN_LOCAL_HOME: home };
const agents: SiteAgent<Router>[] = [];

interface Laptop {
  dir: string;
  link: LocalLinkSite;
  router: () => Router;
}

async function startSite(name: string, ingress: 'loadbalancer' | 'none'): Promise<Laptop> {
  const made = await startInProcessSite({
    name,
    ingress,
    env,
    modules: [claimsModule({ pollMs: 200 }), linkStatusModule({ minIntervalMs: 100 }), ...serviceModules()],
  });
  agents.push(made.agent);
  return { dir: made.dir, link: made.link, router: () => made.agent.router as Router };
}

function echoServer(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer((s) => s.on('data', (d) => s.write(`desk: ${d.toString().toUpperCase()}`)));
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port }));
  });
}

/** Sends a line and resolves with the answer, or rejects (refused, closed without answer, timeout). */
function exchange(port: number, line: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => s.write(line));
    s.setTimeout(timeoutMs, () => s.destroy(new Error('timeout')));
    s.once('data', (d) => {
      s.end();
      resolve(d.toString());
    });
    s.once('error', reject);
    s.once('close', () => reject(new Error('closed without an answer')));
  });
}

async function eventually<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const listenerPorts = (l: Laptop) =>
  l
    .router()
    .status()
    .tcpListeners.map((x) => x.name);

let desk: Laptop;
let laptop: Laptop;
let echo: { server: Server; port: number };

before(async () => {
  process.env.VAN_LOCAL_HOME = home;
  echo = await echoServer();
  desk = await startSite('desk', 'loadbalancer');
  laptop = await startSite('laptop', 'none');
  const token = tokenYaml((await createToken(desk.link, { type: 'claim', expiryMs: 60_000, uses: 1 })).secret);
  await createLink(laptop.link, token, { name: 'to-desk' });
  const up = await waitForLink(laptop.link, 'to-desk', 20_000, 50);
  assert.equal(up.connected, true, up.error ?? '');
});

after(async () => {
  for (const agent of agents.reverse()) await agent.stop();
  echo?.server.close();
  rmSync(home, { recursive: true, force: true });
});

describe('laptop sites: expose a local port, forward a network service to a local port', { timeout: 90_000 }, () => {
  test('a laptop listens for no network service until one is forwarded', async () => {
    exposeHost(desk.dir, { host: '127.0.0.1', address: 'desk-echo', ports: [7000], targetPorts: [echo.port] });
    // desk gets a connector straight to the host port
    await eventually('the connector on desk', 10_000, () =>
      desk
        .router()
        .status()
        .tcpConnectors.some((c) => c.address === 'desk-echo' && c.name.endsWith(`@127.0.0.1:${echo.port}`)),
    );
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(listenerPorts(laptop), [], 'no listener on the laptop');
  });

  test("forward: the echo on desk answers through the laptop's chosen port", async () => {
    const port = await freePort();
    const started = performance.now();
    await forwardService(laptop.dir, { address: 'desk-echo', port });
    const answer = await eventually('an answer through the forward', 15_000, () => exchange(port, 'hello from the laptop'));
    console.log(`# forward written -> first answer ${(performance.now() - started).toFixed(0)} ms`);
    assert.equal(answer, 'desk: HELLO FROM THE LAPTOP');
    assert.deepEqual(listenerPorts(laptop), ['forward/desk-echo']);
    const listener = laptop.router().status().tcpListeners[0];
    assert.equal(listener.address, 'desk-echo');
    // and again, a second connection
    assert.equal(await exchange(port, 'again'), 'desk: AGAIN');

    unforwardService(laptop.dir, 'desk-echo');
    await eventually('the port closed after unforward', 10_000, async () => {
      try {
        await exchange(port, 'x', 1000);
        return undefined;
      } catch (error) {
        return /ECONNREFUSED/.test(String(error)) ? true : undefined;
      }
    });
  });

  test('unexpose: the service leaves the network, a forward of it then finds no route', async () => {
    const port = await freePort();
    await forwardService(laptop.dir, { address: 'desk-echo', port });
    assert.equal(await eventually('an answer', 15_000, () => exchange(port, 'before')), 'desk: BEFORE');
    unexposeHost(desk.dir, { address: 'desk-echo' });
    await eventually(
      'no connector on desk',
      10_000,
      () =>
        !desk
          .router()
          .status()
          .tcpConnectors.some((c) => c.address === 'desk-echo'),
    );
    // the laptop still holds its port (the forward stays), but nothing answers behind it
    await assert.rejects(exchange(port, 'after', 3000), /closed without an answer|ECONNRESET|timeout/);
    unforwardService(laptop.dir, 'desk-echo');
  });
});
