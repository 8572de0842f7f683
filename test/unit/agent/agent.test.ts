import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { type AgentModule, SiteAgent } from '../../../src/core/agent/agent';
import { type LinkSpec } from '../../../src/core/agent/routerConfig';
import type { SiteStore, StoredSite } from '../../../src/core/agent/store';
import type { RouterApi } from '../../../src/core/router/api';
import type { RouterConfig } from '../../../src/core/router/config';
import { routerStatus } from './fakes';

class FakeStore implements SiteStore {
  readonly platform = 'kubernetes' as const;
  site: StoredSite | undefined = { id: 'uid-1', name: 'west', mode: 'interior', ingress: 'loadbalancer' };
  links: LinkSpec[] = [];
  private listener?: (why: string) => void;
  async readSite() {
    return this.site;
  }
  async readLinks() {
    return this.links;
  }
  watch(onChange: (why: string) => void) {
    this.listener = onChange;
    return () => (this.listener = undefined);
  }
  change(why: string) {
    this.listener?.(why);
  }
}

class FakeRouter implements RouterApi {
  applied: RouterConfig[] = [];
  stopped = false;
  readonly events = new EventEmitter();
  constructor(public config: RouterConfig) {}
  get id() {
    return this.config.id;
  }
  async applyConfig(c: RouterConfig) {
    this.applied.push(c);
    this.config = c;
  }
  async stop() {
    this.stopped = true;
  }
  status() {
    return routerStatus(this.config.id);
  }
  publish() {}
  subscribe() {
    return () => undefined;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('SiteAgent', () => {
  test('starts the router, serves health, reapplies on link changes, runs modules, stops cleanly', async () => {
    const store = new FakeStore();
    let router: FakeRouter | undefined;
    const tlsDir = mkdtempSync(join(tmpdir(), 'van-agent-'));
    const agent = new SiteAgent<FakeRouter>({
      store,
      startRouter: async (c) => (router = new FakeRouter(c)),
      namespace: 'west',
      health: { host: '127.0.0.1', port: 0 },
      status: { host: '127.0.0.1', port: 0 },
      site: {
        routerId: 'r1',
        listenHost: '127.0.0.1',
        localHost: '127.0.0.1',
        serverTls: { ca: 'a', cert: 'b', key: 'c' },
        interRouterPort: 0,
        edgePort: 0,
        localAmqpPort: 0,
      },
      tlsDir,
      debounceMs: 10,
      log: () => undefined,
    });
    const calls: string[] = [];
    const module: AgentModule<FakeRouter> = {
      name: 'test',
      start: async (ctx) => {
        calls.push(`start ${ctx.site.name} ${ctx.namespace} ${ctx.platform}`);
        await ctx.applyServices({ tcpListeners: [{ name: 'echo', host: '127.0.0.1', port: 9999, address: 'echo' }], tcpConnectors: [] });
      },
      stop: () => void calls.push('stop'),
    };
    agent.addModule(module);
    await agent.start();
    assert.ok(router);
    assert.deepEqual(
      router.config.listeners.map((l) => l.name),
      ['inter-router', 'edge', 'amqp'],
    );
    const port = agent.healthPort()!;
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200);
    const status: any = await (await fetch(`http://127.0.0.1:${agent.statusPort()}/status`)).json();
    assert.equal(status.site.name, 'west');
    assert.deepEqual(calls, ['start west west kubernetes']);
    assert.deepEqual(
      router.config.tcpListeners.map((l) => l.name),
      ['echo'],
      'services from a module reach the router',
    );

    store.links = [{ name: 'to-east', interRouterHost: '127.0.0.9', interRouterPort: 55671, caCrt: 'CA', tlsCrt: 'CERT', tlsKey: 'KEY' }];
    store.change('link added');
    await sleep(100);
    assert.deepEqual(
      router.config.connectors.map((c) => c.name),
      ['to-east'],
    );
    const key = router.config.connectors[0].tls.key;
    assert.equal(statSync(key).mode & 0o777, 0o600);
    assert.ok(agent.events.events().some((e) => e.reason === 'LinkConfigured'));

    const appliedBefore = router.applied.length;
    store.change('nothing really');
    await sleep(60);
    assert.equal(router.applied.length, appliedBefore, 'unchanged config is not re-applied');

    store.links = [];
    store.change('link removed');
    await sleep(100);
    assert.deepEqual(router.config.connectors, []);
    assert.equal(existsSync(key), false, 'the TLS files of a removed link are deleted');

    await agent.stop();
    assert.equal(router.stopped, true);
    assert.deepEqual(calls, ['start west west kubernetes', 'stop']);
    assert.equal(existsSync(tlsDir), false);
  });

  test("the probes' listener (the pod IP) answers /healthz and /readyz only; /status is on the loopback listener", async () => {
    const store = new FakeStore();
    const agent = new SiteAgent({
      store,
      startRouter: async (c) => new FakeRouter(c),
      namespace: 'w',
      health: { host: '127.0.0.1', port: 0 },
      status: { host: '127.0.0.1', port: 0 },
      site: { routerId: 'r', listenHost: '127.0.0.1', localHost: '127.0.0.1', serverTls: { ca: 'a', cert: 'b', key: 'c' } },
      log: () => undefined,
    });
    await agent.start();
    try {
      const probes = `http://127.0.0.1:${agent.healthPort()}`;
      assert.equal((await fetch(`${probes}/healthz`)).status, 200);
      assert.equal((await fetch(`${probes}/readyz`)).status, 200);
      const open = await fetch(`${probes}/status`);
      assert.equal(open.status, 404, 'the site, its links and events are not served where the pod is reached');
      assert.doesNotMatch(await open.text(), /west|uid-1/);
      const local: any = await (await fetch(`http://127.0.0.1:${agent.statusPort()}/status`)).json();
      assert.equal(local.site.id, 'uid-1');
    } finally {
      await agent.stop();
    }
  });

  test('answers not ready until the site record exists', async () => {
    const store = new FakeStore();
    store.site = undefined;
    const agent = new SiteAgent({
      store,
      startRouter: async (c) => new FakeRouter(c),
      namespace: 'w',
      health: { host: '127.0.0.1', port: 0 },
      site: { routerId: 'r', listenHost: '127.0.0.1', localHost: '127.0.0.1', serverTls: { ca: 'a', cert: 'b', key: 'c' } },
      log: () => undefined,
    });
    const starting = agent.start();
    await sleep(50);
    const res = await fetch(`http://127.0.0.1:${agent.healthPort()}/readyz`);
    assert.equal(res.status, 503);
    assert.match(await res.text(), /site record does not exist/);
    store.site = { id: 'u', name: 'w', mode: 'edge', ingress: 'none' };
    await starting;
    assert.equal((await fetch(`http://127.0.0.1:${agent.healthPort()}/readyz`)).status, 200);
    await agent.stop();
  });

  test('answers not ready while a module says why (e.g. linked sites not heard yet), with the reason', async () => {
    const store = new FakeStore();
    let why: string | undefined = 'waiting for the services of 1 site(s) it reaches';
    const agent = new SiteAgent({
      store,
      startRouter: async (c) => new FakeRouter(c),
      namespace: 'w',
      health: { host: '127.0.0.1', port: 0 },
      site: { routerId: 'r', listenHost: '127.0.0.1', localHost: '127.0.0.1', serverTls: { ca: 'a', cert: 'b', key: 'c' } },
      log: () => undefined,
    });
    agent.addModule({ name: 'services', start: () => undefined, stop: () => undefined, notReady: () => why });
    await agent.start();
    const res = await fetch(`http://127.0.0.1:${agent.healthPort()}/readyz`);
    assert.equal(res.status, 503);
    assert.equal(await res.text(), 'not ready: services: waiting for the services of 1 site(s) it reaches\n');
    assert.equal(agent.status().ready, false);
    why = undefined;
    assert.equal((await fetch(`http://127.0.0.1:${agent.healthPort()}/readyz`)).status, 200);
    assert.equal(agent.status().ready, true);
    await agent.stop();
  });
});
