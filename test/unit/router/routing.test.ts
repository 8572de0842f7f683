import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { addressTable, chooseTarget, computeRoutes, isNewer, type LinkState } from '../../../src/core/router/routing.js';
import { decodeCredit, decodeOpen, decodeTag, encodeCredit, encodeOpen, encodeTag, Kind } from '../../../src/core/router/framing.js';
import { parseRouterConfig, ConfigError } from '../../../src/core/router/config.js';

function lsa(id: string, neighbors: Record<string, number>, addresses: Record<string, number> = {}, seq = 1): LinkState {
  return { id, siteId: id, siteName: `site-${id}`, epoch: 1, seq, neighbors, addresses, subscriptions: [] };
}

function db(...list: LinkState[]): Map<string, LinkState> {
  return new Map(list.map((l) => [l.id, l]));
}

describe('link-state routing', () => {
  test('next hops and costs on a line A-B-C', () => {
    const routes = computeRoutes('A', db(lsa('A', { B: 1 }), lsa('B', { A: 1, C: 1 }), lsa('C', { B: 1 })));
    assert.deepEqual(routes.get('B'), { id: 'B', nextHop: 'B', cost: 1 });
    assert.deepEqual(routes.get('C'), { id: 'C', nextHop: 'B', cost: 2 });
  });

  test('prefers the cheaper path and re-routes when the middle router goes', () => {
    const a = lsa('A', { M: 1, C: 10 });
    const m = lsa('M', { A: 1, C: 1 });
    const c = lsa('C', { M: 1, A: 10 });
    assert.deepEqual(computeRoutes('A', db(a, m, c)).get('C'), { id: 'C', nextHop: 'M', cost: 2 });
    // M dies: A and C drop it from their lists; M's stale record stays but is one-sided.
    const a2 = lsa('A', { C: 10 }, {}, 2);
    const c2 = lsa('C', { A: 10 }, {}, 2);
    const routes = computeRoutes('A', db(a2, m, c2));
    assert.deepEqual(routes.get('C'), { id: 'C', nextHop: 'C', cost: 10 });
    assert.equal(routes.has('M'), false);
  });

  test('a one-sided link is not used', () => {
    const routes = computeRoutes('A', db(lsa('A', { B: 1 }), lsa('B', {})));
    assert.equal(routes.size, 0);
  });

  test('five routers in a ring: two hops the short way', () => {
    const ring = ['R1', 'R2', 'R3', 'R4', 'R5'];
    const list = ring.map((id, i) => lsa(id, { [ring[(i + 1) % 5]]: 1, [ring[(i + 4) % 5]]: 1 }));
    const routes = computeRoutes('R1', db(...list));
    assert.equal(routes.get('R3')!.nextHop, 'R2');
    assert.equal(routes.get('R3')!.cost, 2);
    assert.equal(routes.get('R4')!.nextHop, 'R5');
    assert.equal(routes.get('R4')!.cost, 2);
  });

  test('asymmetric costs use the larger of the two ends', () => {
    const routes = computeRoutes('A', db(lsa('A', { B: 1 }), lsa('B', { A: 5 })));
    assert.equal(routes.get('B')!.cost, 5);
  });

  test('newer records win by epoch then sequence', () => {
    const old = { ...lsa('A', {}), epoch: 1, seq: 9 };
    assert.equal(isNewer({ ...old, seq: 10 }, old), true);
    assert.equal(isNewer({ ...old, epoch: 2, seq: 1 }, old), true);
    assert.equal(isNewer({ ...old, seq: 8 }, old), false);
    assert.equal(isNewer(old, undefined), true);
  });

  test('address table lists reachable routers only, closest first', () => {
    const d = db(
      lsa('A', { B: 1 }, { web: 1 }),
      lsa('B', { A: 1, C: 1 }, { web: 2 }),
      lsa('C', { B: 1 }, { db: 1 }),
      lsa('Z', {}, { web: 1 }),
    );
    const routes = computeRoutes('A', d);
    const table = addressTable('A', d, routes, 'addresses');
    assert.deepEqual(
      table.get('web')!.map((t) => [t.routerId, t.cost, t.count]),
      [
        ['A', 0, 1],
        ['B', 1, 2],
      ],
    );
    assert.deepEqual(
      table.get('db')!.map((t) => t.routerId),
      ['C'],
    );
  });

  test('balanced distribution spreads by outstanding flows and cost; closest picks the nearest', () => {
    const targets = [
      { routerId: 'A', count: 1, cost: 0 },
      { routerId: 'B', count: 1, cost: 1 },
      { routerId: 'C', count: 1, cost: 1 },
    ];
    const out = new Map<string, number>();
    const picks: string[] = [];
    for (let i = 0; i < 9; i++) {
      const t = chooseTarget(targets, 'balanced', (r) => out.get(r) ?? 0, i)!;
      out.set(t.routerId, (out.get(t.routerId) ?? 0) + 1);
      picks.push(t.routerId);
    }
    assert.equal(picks[0], 'A');
    assert.ok((out.get('B') ?? 0) >= 2 && (out.get('C') ?? 0) >= 2, `load shared: ${picks.join(',')}`);
    const closest = chooseTarget(targets, 'closest', () => 100, 1)!;
    assert.equal(closest.routerId, 'A');
    assert.equal(
      chooseTarget([], 'balanced', () => 0, 0),
      undefined,
    );
  });
});

describe('framing', () => {
  test('tags round-trip', () => {
    for (const [kind, rev, id] of [
      [Kind.Data, false, 1],
      [Kind.Credit, true, 0xffffffff],
      [Kind.Open, false, 123456],
    ] as const) {
      assert.deepEqual(decodeTag(encodeTag(kind, rev, id)), { kind, reverse: rev, id });
    }
    assert.equal(decodeTag(Buffer.from([9, 0, 0, 0, 1])), undefined);
    assert.equal(decodeTag(Buffer.from([2, 0])), undefined);
  });

  test('open and credit payloads round-trip', () => {
    const info = { address: 'web', dest: 'B', origin: 'A', window: 65536 };
    assert.deepEqual(decodeOpen(encodeOpen(info)), info);
    assert.equal(decodeOpen(Buffer.from('nope')), undefined);
    assert.equal(decodeCredit(encodeCredit(262144)), 262144);
  });
});

describe('config', () => {
  const good = {
    id: 'r1',
    siteId: 's1',
    siteName: 'west',
    mode: 'interior',
    listeners: [{ name: 'ir', host: '0.0.0.0', port: 55671, role: 'inter-router', tls: { ca: 'a', cert: 'b', key: 'c' } }],
    connectors: [{ name: 'l1', host: 'x', port: 55671, role: 'inter-router', cost: 2, tls: { ca: 'a', cert: 'b', key: 'c' } }],
    tcpListeners: [{ name: 'web', host: '127.0.0.1', port: 8080, address: 'web' }],
    tcpConnectors: [{ name: 'web', host: '10.0.0.1', port: 80, address: 'web' }],
    management: { host: '127.0.0.1', port: 9090 },
  };

  test('accepts a full config', () => {
    const c = parseRouterConfig(good);
    assert.equal(c.connectors[0].cost, 2);
    assert.equal(c.management?.port, 9090);
  });

  test('names the bad field', () => {
    assert.throws(() => parseRouterConfig({ ...good, id: '' }), /config\.id/);
    assert.throws(() => parseRouterConfig({ ...good, listeners: [{ ...good.listeners[0], port: 70000 }] }), /listeners\[0\]\.port/);
    assert.throws(() => parseRouterConfig({ ...good, listeners: [{ ...good.listeners[0], role: 'x' }] }), /listeners\[0\]\.role/);
    assert.throws(() => parseRouterConfig({ ...good, connectors: [{ ...good.connectors[0], tls: undefined }] }), /connectors\[0\]\.tls/);
    assert.throws(() => parseRouterConfig({ ...good, connectors: [{ ...good.connectors[0], cost: 0 }] }), /connectors\[0\]\.cost/);
    assert.throws(() => parseRouterConfig({ ...good, tcpConnectors: [{ name: 'a', host: 'h', port: 1 }] }), /tcpConnectors\[0\]\.address/);
    assert.throws(() => parseRouterConfig({ ...good, tcpListeners: [good.tcpListeners[0], good.tcpListeners[0]] }), /used twice/);
    assert.throws(() => parseRouterConfig('x'), ConfigError);
  });
});
