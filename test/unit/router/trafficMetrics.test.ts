// Traffic through two real routers (TLS link, tcp listener and connector, an echo server), read back as
// the site publishes it: the counters at both ends, and /metrics as Prometheus text, parsed and checked.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SiteAgent } from '../../../src/core/agent/agent';
import type { SiteStore } from '../../../src/core/agent/store';
import type { Router } from '../../../src/core/router/router';
import { TTFB_BOUNDS_MS } from '../../../src/core/router/traffic';
import { renderTrafficMetrics } from '../../../src/core/router/trafficMetrics';
import { connectorTo, echoOnce, echoServer, startRouter, waitFor } from './helpers';
import { parsePrometheus } from '../../prometheus';

describe('traffic metrics through real routers', () => {
  let A: Awaited<ReturnType<typeof startRouter>>;
  let B: Awaited<ReturnType<typeof startRouter>>;
  let echo: Awaited<ReturnType<typeof echoServer>>;
  const routers: Router[] = [];

  before(async () => {
    echo = await echoServer();
    A = await startRouter('TA', { tcpConnectors: [{ name: 'echo', host: '127.0.0.1', port: echo.port, address: 'echo' }] });
    B = await startRouter('TB', { tcpListeners: [{ name: 'echo-b', host: '127.0.0.1', port: 0, address: 'echo' }] }, false);
    await B.router.applyConfig({ ...B.config, connectors: [connectorTo('to-a', A.port)] });
    routers.push(A.router, B.router);
    await waitFor('B sees echo', () => B.router.status().addresses.some((a) => a.address === 'echo' && a.remoteSites.includes('site-TA')));
  });

  after(async () => {
    for (const r of routers) await r.stop();
    await echo.close();
  });

  test('N echoes: both routers count N flows and the exact bytes; /metrics says the same', async () => {
    const port = B.router.tcpListenerPort('echo-b')!;
    const N = 7;
    let sent = 0;
    for (let i = 0; i < N; i++) {
      const line = `line ${i} ${'x'.repeat(i * 10)}\n`;
      sent += line.length;
      assert.equal((await echoOnce(port, line)).toString(), line);
    }
    await waitFor('both ends closed', () =>
      [A.router, B.router].every((r) =>
        r.traffic().aggregates.some((a) => a.address === 'echo' && a.flowsClosed === N && a.flowsActive === 0),
      ),
    );
    const [client] = B.router.traffic().aggregates;
    const [server] = A.router.traffic().aggregates;
    assert.deepEqual(
      [client.side, client.sourceSite, client.destSite, client.flowsOpened, client.bytesOut, client.bytesIn, client.errors],
      ['listener', 'site-TB', 'site-TA', N, sent, sent, []],
    );
    assert.deepEqual(
      [server.side, server.sourceSite, server.destSite, server.flowsOpened, server.bytesOut, server.bytesIn],
      ['connector', 'site-TB', 'site-TA', N, sent, sent],
    );
    assert.equal(
      server.ttfb.counts.reduce((s, n) => s + n, 0),
      N,
      'a time to first byte per flow at the connector side',
    );
    assert.equal(B.router.traffic().recent.filter((f) => f.end === 'closed').length, N);

    const text = renderTrafficMetrics({ id: 'uid-b', name: 'site-TB', links: 1 }, B.router.traffic());
    const { samples, types, help } = parsePrometheus(text);
    for (const name of [
      'skupper_connections_opened_total',
      'skupper_connections_closed_total',
      'skupper_sent_bytes_total',
      'skupper_received_bytes_total',
      'skupper_latency_seconds',
      'skupper_site_info',
      'skupper_site_links_total',
    ]) {
      assert.ok(types.has(name), `TYPE ${name}`);
      assert.ok(help.get(name), `HELP ${name}`);
    }
    const one = (name: string) => {
      const found = samples.filter((s) => s.name === name && s.labels.routing_key === 'echo');
      assert.equal(found.length, 1, name);
      assert.deepEqual([found[0].labels.source_site, found[0].labels.dest_site, found[0].labels.protocol], ['site-TB', 'site-TA', 'tcp']);
      return found[0].value;
    };
    assert.equal(one('skupper_connections_opened_total'), N);
    assert.equal(one('skupper_connections_closed_total'), N);
    assert.equal(one('skupper_sent_bytes_total'), sent);
    assert.equal(one('skupper_received_bytes_total'), sent);
    assert.equal(one('skupper_latency_seconds_count'), N);
    const buckets = samples.filter((s) => s.name === 'skupper_latency_seconds_bucket');
    assert.equal(buckets.length, TTFB_BOUNDS_MS.length + 1);
    for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i].value >= buckets[i - 1].value, 'cumulative buckets');
    assert.equal(buckets.at(-1)!.labels.le, '+Inf');
    assert.equal(samples.find((s) => s.name === 'skupper_site_info')!.labels.site_name, 'site-TB');
    assert.equal(samples.find((s) => s.name === 'skupper_site_links_total')!.value, 1);
  });

  test('a refused target is an error with its reason at both ends', async () => {
    await A.router.applyConfig({
      ...A.router.config,
      tcpConnectors: [...A.router.config.tcpConnectors, { name: 'dead', host: '127.0.0.1', port: 1, address: 'dead' }],
    });
    await B.router.applyConfig({
      ...B.router.config,
      tcpListeners: [...B.router.config.tcpListeners, { name: 'dead', host: '127.0.0.1', port: 0, address: 'dead' }],
    });
    await waitFor('B sees dead', () => B.router.status().addresses.some((a) => a.address === 'dead' && a.remoteSites.length > 0));
    await echoOnce(B.router.tcpListenerPort('dead')!, 'x').catch(() => Buffer.alloc(0));
    await waitFor('the reset is counted', () =>
      B.router.traffic().aggregates.some((a) => a.address === 'dead' && a.errors.length > 0 && a.flowsActive === 0),
    );
    const agg = B.router.traffic().aggregates.find((a) => a.address === 'dead')!;
    assert.match(agg.errors[0].reason, /refused the connection/);
    const text = renderTrafficMetrics({ id: 'b', name: 'site-TB', links: 1 }, B.router.traffic());
    const errors = parsePrometheus(text).samples.find(
      (s) => s.name === 'skupper_connection_errors_total' && s.labels.routing_key === 'dead',
    );
    assert.equal(errors?.value, 1);
  });
});

describe("the agent's status listener", () => {
  test('serves /metrics (loopback listener only) from the router it runs', async () => {
    const store: SiteStore = {
      platform: 'kubernetes',
      readSite: async () => ({ id: 'uid-m', name: 'metrics-site', mode: 'interior', ingress: 'none' }),
      readLinks: async () => [],
      watch: () => () => undefined,
    };
    const snapshot = { at: 1, aggregates: [], recent: [] };
    const agent = new SiteAgent({
      store,
      startRouter: async (c) => ({
        id: c.id,
        events: new EventEmitter(),
        applyConfig: async () => undefined,
        stop: async () => undefined,
        status: () => {
          throw new Error('not needed');
        },
        traffic: () => snapshot,
        publish: () => undefined,
        subscribe: () => () => undefined,
      }),
      namespace: 'ns-m',
      health: { host: '127.0.0.1', port: 0 },
      status: { host: '127.0.0.1', port: 0 },
      site: {
        routerId: 'rm',
        listenHost: '127.0.0.1',
        localHost: '127.0.0.1',
        serverTls: { ca: 'a', cert: 'b', key: 'c' },
        interRouterPort: 0,
        edgePort: 0,
        localAmqpPort: 0,
      },
      tlsDir: mkdtempSync(join(tmpdir(), 'van-metrics-')),
      debounceMs: 10,
      log: () => undefined,
    });
    await agent.start();
    try {
      const res = await fetch(`http://127.0.0.1:${agent.statusPort()}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      const { samples } = parsePrometheus(await res.text());
      const info = samples.find((s) => s.name === 'skupper_site_info')!;
      assert.deepEqual([info.labels.site_name, info.labels.site_id, info.labels.namespace], ['metrics-site', 'uid-m', 'ns-m']);
      assert.equal((await fetch(`http://127.0.0.1:${agent.healthPort()}/metrics`)).status, 404, 'not on the probes listener');
    } finally {
      await agent.stop();
    }
  });
});
