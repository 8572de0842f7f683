// A laptop site's local AMQP listener (127.0.0.1) is not open to every local user: a client needs a
// certificate of the site's CA, and the site's own one is readable by its owner only.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import rhea from 'rhea';
import type { SiteAgent } from '../../../src/core/agent/agent';
import type { Router } from '../../../src/core/router/router';
import { startInProcessSite } from '../fixtures/localAgent';
import { foreignClientPki } from '../router/helpers';

/* eslint-disable @typescript-eslint/no-explicit-any */

/** Opens an AMQP connection; resolves 'open' when the router's open arrives, else the reason it ended. */
function tryConnect(port: number, tls?: { ca: Buffer; cert: Buffer; key: Buffer }): Promise<string> {
  return new Promise((resolve) => {
    const container = rhea.create_container({ id: 'local-client' });
    const conn = container.connect({
      host: '127.0.0.1',
      port,
      reconnect: false,
      idle_time_out: 0,
      ...(tls ? { transport: 'tls', ...tls } : {}),
    } as any);
    const timer = setTimeout(() => {
      conn.close();
      resolve('timeout');
    }, 5000);
    conn.on('connection_open', () => {
      clearTimeout(timer);
      conn.close();
      resolve('open');
    });
    conn.on('disconnected', (ctx: any) => {
      clearTimeout(timer);
      resolve(`disconnected: ${ctx?.error?.code ?? ctx?.error?.message ?? 'closed'}`);
    });
    conn.on('error', () => undefined);
  });
}

describe("a laptop site's local AMQP listener", () => {
  const home = mkdtempSync(join(tmpdir(), 'van-local-amqp-'));
  let agent: SiteAgent<Router>;
  let dir: string;
  let port: number;

  before(async () => {
    const made = await startInProcessSite({
      name: 'amqp-laptop',
      ingress: 'none',
      env: { ...process.env, VAN_LOCAL_HOME: home },
      modules: [],
    });
    agent = made.agent;
    dir = made.dir;
    port = made.site.ports.amqp;
  });

  after(async () => {
    await agent?.stop();
  });

  test('asks for a client certificate of the site', () => {
    const listener = agent.router!.config.listeners.find((l) => l.name === 'amqp')!;
    assert.equal(listener.host, '127.0.0.1');
    assert.equal(listener.role, 'normal');
    assert.deepEqual(listener.tls, {
      ca: join(dir, 'server', 'ca.crt'),
      cert: join(dir, 'server', 'tls.crt'),
      key: join(dir, 'server', 'tls.key'),
    });
    assert.equal(statSync(join(dir, 'server', 'tls.key')).mode & 0o077, 0, 'the key is readable by its owner only');
  });

  test('a plain AMQP client is refused', async () => {
    assert.notEqual(await tryConnect(port), 'open');
  });

  test('a client with a certificate of another CA is refused', async () => {
    const other = foreignClientPki();
    const files = { ca: readFileSync(join(dir, 'server', 'ca.crt')), cert: readFileSync(other.cert), key: readFileSync(other.key) };
    assert.notEqual(await tryConnect(port, files), 'open');
  });

  test("the site's owner connects with the site's certificate", async () => {
    const files = {
      ca: readFileSync(join(dir, 'server', 'ca.crt')),
      cert: readFileSync(join(dir, 'server', 'tls.crt')),
      key: readFileSync(join(dir, 'server', 'tls.key')),
    };
    assert.equal(await tryConnect(port, files), 'open');
  });
});
