// What a router takes from its peers (trust.ts): record checks, where a record may come from, the
// database's bounds and clocks, routed messages' sources, costs and ids.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import rhea from 'rhea';
import { computeRoutes, type LinkState } from '../../../src/core/router/routing.js';
import {
  LINK_STATE_LIMITS,
  LinkStateGuard,
  LogBudget,
  checkLinkState,
  idProblem,
  peerCost,
  peerIdentityProblem,
  relayProblem,
  type TrustView,
} from '../../../src/core/router/trust.js';

const NOW = 1_800_000_000_000;

function rec(id: string, neighbors: Record<string, number>, extra: Partial<LinkState> = {}): LinkState {
  return {
    id,
    siteId: `site-${id}`,
    siteName: `site-${id}`,
    epoch: NOW - 1000,
    seq: 1,
    neighbors,
    addresses: {},
    subscriptions: [],
    ...extra,
  };
}

function reason(raw: unknown): string {
  const c = checkLinkState(raw, NOW);
  assert.equal(c.ok, false, `refused: ${JSON.stringify(raw).slice(0, 80)}`);
  return (c as { reason: string }).reason;
}

/** A view from `self` over `records`, with `neighbors` up (id -> site id from the open). */
function view(self: string, records: LinkState[], neighbors: string[]): TrustView {
  const db = new Map(records.map((r) => [r.id, r]));
  return { self, db, routes: computeRoutes(self, db), neighbors: new Map(neighbors.map((n) => [n, `site-${n}`])) };
}

describe('link-state record checks', () => {
  test('a good record comes back as a fresh copy with only the known fields; missing parts are empty', () => {
    const c = checkLinkState({ id: 'B', epoch: NOW, seq: 3, neighbors: { A: 2 }, extra: 'x'.repeat(1000) }, NOW);
    assert.ok(c.ok);
    assert.deepEqual(c.lsa, {
      id: 'B',
      siteId: '',
      siteName: '',
      epoch: NOW,
      seq: 3,
      neighbors: { A: 2 },
      addresses: {},
      subscriptions: [],
    });
    assert.ok(c.bytes < 200);
  });

  test('wrong types are refused, each with its reason', () => {
    assert.match(reason(null), /not a map/);
    assert.match(reason([1]), /not a map/);
    assert.match(reason({ ...rec('B', {}), subscriptions: 5 }), /subscriptions is not a list/);
    assert.match(reason({ ...rec('B', {}), subscriptions: [1] }), /subscription/);
    assert.match(reason({ ...rec('B', {}), neighbors: 'A' }), /neighbors is not a map/);
    assert.match(reason({ ...rec('B', {}), addresses: [1, 2] }), /addresses is not a map/);
    assert.match(reason({ ...rec('B', {}), addresses: { echo: -1 } }), /target count/);
    assert.match(reason({ ...rec('B', {}), addresses: { echo: 1.5 } }), /target count/);
    assert.match(reason({ ...rec('B', {}), id: 7 }), /id is not a non-empty string/);
    assert.match(reason({ ...rec('B', {}), id: '' }), /id is not a non-empty string/);
    assert.match(reason({ ...rec('B', {}), id: 'a\nb' }), /not allowed/);
    assert.match(reason({ ...rec('B', {}), siteId: {} }), /siteId/);
    assert.match(reason({ ...rec('B', {}), seq: -1 }), /seq/);
    assert.match(reason({ ...rec('B', {}), seq: '1' }), /seq/);
    assert.match(reason({ ...rec('B', {}), epoch: 1.5 }), /epoch/);
  });

  test('costs are finite numbers from 1', () => {
    for (const cost of [0, -1000, NaN, Infinity, 0.5, 2 ** 31, '1'])
      assert.match(reason(rec('B', { A: cost as number })), /cost of neighbour A/);
    assert.ok(checkLinkState(rec('B', { A: 1, C: 2 ** 31 - 1, D: 1.5 }), NOW).ok);
  });

  test('an epoch far ahead of our clock is refused (10 minutes of skew allowed)', () => {
    assert.match(reason(rec('B', {}, { epoch: NOW + 1e12 })), /ahead of this router's clock/);
    assert.match(reason(rec('B', {}, { epoch: NOW + LINK_STATE_LIMITS.clockAheadMs + 1 })), /ahead/);
    assert.ok(checkLinkState(rec('B', {}, { epoch: NOW + LINK_STATE_LIMITS.clockAheadMs }), NOW).ok);
  });

  test('sizes are capped: neighbours, addresses, subscriptions, strings, the whole record', () => {
    const many = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`r${i}`, 1]));
    assert.match(reason(rec('B', many(LINK_STATE_LIMITS.neighbors + 1))), /more than 256 neighbors/);
    assert.match(reason(rec('B', {}, { addresses: many(LINK_STATE_LIMITS.addresses + 1) })), /more than 4096 addresses/);
    assert.match(
      reason(rec('B', {}, { subscriptions: Array.from({ length: LINK_STATE_LIMITS.subscriptions + 1 }, (_, i) => `s${i}`) })),
      /more than 4096 subscriptions/,
    );
    assert.match(reason(rec('B', {}, { subscriptions: ['x'.repeat(513)] })), /subscription/);
    assert.match(reason(rec('x'.repeat(257), {})), /longer than 256/);
    // 4096 subscriptions of 128 characters: each part within bounds, the whole 540 KB.
    const big = Array.from({ length: 4096 }, (_, i) => `${'x'.repeat(128)}${i}`);
    assert.match(reason(rec('B', {}, { subscriptions: big })), /more than 262144 bytes/);
  });

  test('a decoded AMQP map with a __proto__ key does not smuggle neighbours in', () => {
    // rhea builds maps with result[key] = value: "__proto__" sets the prototype.
    const neighbors = JSON.parse('{"__proto__": {"A": 1}}'); // an own key named __proto__, as a peer can send
    const wire = rhea.message.encode({ body: { id: 'B', epoch: NOW, seq: 1, neighbors } } as never);
    const decoded = (rhea.message.decode(wire) as unknown as { body: { neighbors: Record<string, number> } }).body;
    assert.equal(decoded.neighbors.A, 1, 'the decoded map inherits A');
    const c = checkLinkState(decoded, NOW);
    assert.ok(c.ok);
    assert.equal(Object.hasOwn(c.lsa.neighbors, 'A'), false);
    assert.equal(Object.getPrototypeOf(c.lsa.neighbors), Object.prototype);
    assert.match(reason({ ...rec('B', {}), neighbors: JSON.parse('{"__proto__": 1}') }), /not allowed/);
  });
});

describe('ids and costs from a peer', () => {
  test('van-cost: finite, from 1 to 2^31-1, else 1', () => {
    assert.equal(peerCost(NaN), 1);
    assert.equal(peerCost(-1000), 1);
    assert.equal(peerCost(0), 1);
    assert.equal(peerCost(Infinity), 1);
    assert.equal(peerCost('5'), 1);
    assert.equal(peerCost(5), 5);
    assert.equal(peerCost(1e12), 2 ** 31 - 1);
  });

  test('router ids', () => {
    assert.equal(idProblem('router-a-1'), undefined);
    assert.equal(idProblem('constructor'), undefined);
    assert.ok(idProblem('__proto__'));
    assert.ok(idProblem('a\u0000b'));
    assert.ok(idProblem('x'.repeat(257)));
    assert.ok(peerIdentityProblem({ routerId: 'r', siteId: 'x'.repeat(300), siteName: '' }));
    assert.equal(peerIdentityProblem({ routerId: 'r', siteId: 's', siteName: 'n' }), undefined);
  });

  test('a router named like an Object property is routed like any other', () => {
    // Without own-property checks neighbors["constructor"] is a function and the edge is NaN.
    const db = new Map(
      [rec('A', { constructor: 1 }), rec('constructor', { A: 1, toString: 1 }), rec('toString', { constructor: 1 })].map((r) => [r.id, r]),
    );
    const routes = computeRoutes('A', db);
    assert.deepEqual(routes.get('toString'), { id: 'toString', nextHop: 'constructor', cost: 2 });
    const lonely = new Map([rec('A', {}), rec('toString', { A: 1 })].map((r) => [r.id, r]));
    assert.equal(computeRoutes('A', lonely).size, 0, 'a one-sided link is no link, whatever its name');
  });
});

describe('where a record may come from', () => {
  // A - B - C - D, and A - H (H is the hostile one).
  const records = [rec('A', { B: 1, H: 1 }), rec('B', { A: 1, C: 1 }), rec('C', { B: 1, D: 1 }), rec('D', { C: 1 }), rec('H', { A: 1 })];

  test("a router's own record from its own connection", () => {
    assert.equal(relayProblem('H', 'H', view('A', records, ['B', 'H'])), undefined);
  });

  test('a neighbour speaks for routers behind it, not for others', () => {
    const v = view('A', records, ['B', 'H']);
    assert.equal(relayProblem('C', 'B', v), undefined);
    assert.equal(relayProblem('D', 'B', v), undefined);
    assert.match(relayProblem('C', 'H', v)!, /not the way toward C/);
    assert.match(relayProblem('B', 'H', v)!, /linked to this router/);
  });

  test('a new router is taken from the side of a router that lists it', () => {
    const withE = [...records.filter((r) => r.id !== 'D'), rec('D', { C: 1, E: 1 })];
    const v = view('A', withE, ['B', 'H']);
    assert.equal(relayProblem('E', 'B', v), undefined);
    assert.match(relayProblem('E', 'H', v)!, /no router reached through H lists E/);
    // H may vouch for routers behind itself: that much a neighbour can always claim.
    const vouched = view('A', [...records.filter((r) => r.id !== 'H'), rec('H', { A: 1, X: 1 })], ['B', 'H']);
    assert.equal(relayProblem('X', 'H', vouched), undefined);
    assert.ok(relayProblem('X', 'B', vouched));
  });
});

describe('the link-state guard', () => {
  const records = () => [rec('A', { B: 1, H: 1 }), rec('B', { A: 1, C: 1 }), rec('C', { B: 1 }), rec('H', { A: 1 })];
  function setup() {
    const db = new Map(records().map((r) => [r.id, r]));
    const guard = new LinkStateGuard(db, { unreachableMs: 1000 });
    const v = (): TrustView => ({
      self: 'A',
      db,
      routes: computeRoutes('A', db),
      neighbors: new Map([
        ['B', 'site-B'],
        ['H', 'site-H'],
      ]),
    });
    return { db, guard, v };
  }

  test('refuses malformed records, ignores old ones and our own, takes newer ones', () => {
    const { db, guard, v } = setup();
    assert.equal(guard.offer({ ...rec('H', { A: 1 }), subscriptions: 5 }, 'H', v(), NOW).kind, 'refused');
    assert.equal(guard.offer(rec('A', {}, { seq: 99 }), 'H', v(), NOW).kind, 'ignored');
    assert.equal(guard.offer(rec('C', { B: 1 }), 'B', v(), NOW).kind, 'ignored');
    const newer = rec('C', { B: 1 }, { seq: 2, addresses: { echo: 1 } });
    assert.deepEqual(guard.offer(newer, 'B', v(), NOW), { kind: 'accepted', lsa: newer });
    assert.equal(db.get('C')!.seq, 2);
  });

  test('a record naming another site than its connection said is refused', () => {
    const { guard, v } = setup();
    const verdict = guard.offer(rec('H', { A: 1 }, { seq: 2, siteId: 'site-B' }), 'H', v(), NOW);
    assert.equal(verdict.kind, 'refused');
  });

  test('forged records for routers not behind the sender are held, never stored, and expire', () => {
    const { db, guard, v } = setup();
    const forged = rec('C', {}, { epoch: NOW, seq: 1000 });
    assert.equal(guard.offer(forged, 'H', v(), NOW).kind, 'held');
    assert.equal(db.get('C')!.seq, 1);
    assert.deepEqual(guard.retry(v()), []);
    assert.equal(guard.stats().pending, 1);
    assert.deepEqual(guard.expireHeld(NOW + LINK_STATE_LIMITS.pendingMs), []);
    assert.deepEqual(
      guard.expireHeld(NOW + LINK_STATE_LIMITS.pendingMs + 1),
      [{ id: 'C', via: 'H' }],
      'reported: no real copy came meanwhile',
    );
    assert.equal(guard.stats().pending, 0);
    // A copy that came the long way round while the right one arrived is dropped without a word.
    assert.equal(guard.offer(rec('C', { B: 1 }, { seq: 2 }), 'H', v(), NOW).kind, 'held');
    assert.equal(guard.offer(rec('C', { B: 1 }, { seq: 2 }), 'B', v(), NOW).kind, 'accepted');
    assert.deepEqual(guard.retry(v()), []);
    assert.equal(guard.stats().pending, 0);
  });

  test('held records are bounded: per neighbour, in all, in bytes', () => {
    const { guard, v } = setup();
    const big = (i: number) => rec(`far-${i}`, {}, { subscriptions: Array.from({ length: 1800 }, (_, k) => `${'s'.repeat(120)}${k}`) });
    for (let i = 0; i < 200; i++) assert.equal(guard.offer(big(i), 'H', v(), NOW).kind, 'held');
    const s = guard.stats();
    assert.ok(s.pending <= LINK_STATE_LIMITS.pendingPerNeighbor, `${s.pending} held`);
    assert.ok(s.pendingBytes <= LINK_STATE_LIMITS.pendingBytes, `${s.pendingBytes} bytes held`);
    for (let i = 0; i < 200; i++) guard.offer(rec(`small-${i}`, {}), 'B', v(), NOW);
    assert.ok(guard.stats().pending <= LINK_STATE_LIMITS.pendingPerNeighbor * 2);
    guard.linkDown('H');
    assert.ok(guard.stats().pending <= LINK_STATE_LIMITS.pendingPerNeighbor);
    assert.ok(guard.stats().pendingBytes < 100_000, 'what came from H is dropped with its link');
  });

  test('a record held because it came early is taken once the routes make it right', () => {
    const { db, guard, v } = setup();
    const e = rec('E', { C: 1 });
    assert.equal(guard.offer(e, 'B', v(), NOW).kind, 'held', 'nobody lists E yet');
    assert.equal(guard.offer(rec('C', { B: 1, E: 1 }, { seq: 2 }), 'B', v(), NOW).kind, 'accepted');
    assert.deepEqual(guard.retry(v()), [{ lsa: e, via: 'B' }]);
    assert.ok(computeRoutes('A', db).has('E'));
  });

  test('a record whose neighbour went away is replaced by the next copy even if not newer', () => {
    const { db, guard, v } = setup();
    // H is (wrongly) the way to X: it vouched for it with a high version.
    assert.equal(guard.offer(rec('H', { A: 1, X: 1 }, { seq: 2 }), 'H', v(), NOW).kind, 'accepted');
    assert.equal(guard.offer(rec('X', { H: 1 }, { epoch: NOW + 60_000, seq: 1e9 }), 'H', v(), NOW).kind, 'accepted');
    guard.linkDown('H');
    // The real X turns up behind C, with an older version.
    db.set('C', rec('C', { B: 1, X: 1 }, { seq: 5 }));
    const view2: TrustView = { ...v(), neighbors: new Map([['B', 'site-B']]) };
    const real = rec('X', { C: 1 }, { seq: 3 });
    assert.equal(
      guard.offer(real, 'B', { ...view2, routes: computeRoutes('A', new Map([...db].filter(([id]) => id !== 'H'))) }, NOW).kind,
      'accepted',
    );
    assert.equal(db.get('X')!.seq, 3);
  });

  test('routers unreachable for unreachableMs are forgotten, reachable ones kept', () => {
    const { db, guard, v } = setup();
    guard.offer(rec('Z', { nobody: 1 }), 'H', v(), NOW); // held: nobody lists Z
    guard.offer(rec('H', { A: 1, Z: 1 }, { seq: 2 }), 'H', v(), NOW);
    guard.retry(v());
    assert.ok(db.has('Z'), 'Z is taken: H lists it');
    guard.noteRoutes(computeRoutes('A', db), NOW);
    assert.deepEqual(guard.sweep(NOW + 5000), ['Z'], 'Z never was reachable (it does not list H)');
    // H unlinks: H unreachable from then on.
    db.set('A', rec('A', { B: 1 }, { seq: 2 }));
    guard.noteRoutes(computeRoutes('A', db), NOW + 5000);
    assert.deepEqual(guard.sweep(NOW + 5999), []);
    assert.deepEqual(guard.sweep(NOW + 6000), ['H']);
    assert.deepEqual([...db.keys()].sort(), ['A', 'B', 'C']);
    assert.equal(guard.counts.removed, 2);
  });

  test('the database is bounded in records and bytes', () => {
    const db = new Map<string, LinkState>([['A', rec('A', {})]]);
    const guard = new LinkStateGuard(db);
    const v = (): TrustView => ({ self: 'A', db, routes: computeRoutes('A', db), neighbors: new Map() });
    // Every router offers its own record, as if it were linked: only the caps stop them.
    let refused = 0;
    for (let i = 0; i < LINK_STATE_LIMITS.routers + 10; i++) {
      const id = `r${i}`;
      if (guard.offer(rec(id, {}, { siteId: '' }), id, v(), NOW).kind === 'refused') refused++;
    }
    assert.equal(refused, 10);
    assert.equal(guard.stats().records, LINK_STATE_LIMITS.routers);
    const bytes = new LinkStateGuard(new Map());
    const big = (id: string) =>
      rec(id, {}, { siteId: '', subscriptions: Array.from({ length: 1900 }, (_, i) => `${'s'.repeat(120)}${i}`) });
    let taken = 0;
    for (let i = 0; i < 100; i++)
      if (
        bytes.offer(big(`b${i}`), `b${i}`, { self: 'A', db: new Map(), routes: new Map(), neighbors: new Map() }, NOW).kind === 'accepted'
      )
        taken++;
    assert.ok(bytes.stats().bytes <= LINK_STATE_LIMITS.databaseBytes);
    assert.ok(taken < 100 && taken > 50, `${taken} records of ~240 KB fit in 16 MiB`);
  });

  test('a routed message must come from the direction of its source', () => {
    const { guard, v } = setup();
    const view2 = v();
    assert.equal(guard.sourceProblem('H', 'H', view2), undefined);
    assert.equal(guard.sourceProblem('C', 'B', view2), undefined);
    assert.match(guard.sourceProblem('C', 'H', view2)!, /not on a path from C/);
    assert.match(guard.sourceProblem('B', 'H', view2)!, /not on a path from B/);
    assert.match(guard.sourceProblem('A', 'H', view2)!, /this router/);
    assert.match(guard.sourceProblem('nobody', 'H', view2)!, /not reachable/);
    assert.match(guard.sourceProblem(undefined, 'H', view2)!, /no source/);
  });
});

test('the log budget: at most n lines per window, then says how many it left out', () => {
  const b = new LogBudget(2, 1000);
  assert.equal(b.take(0), 0);
  assert.equal(b.take(1), 0);
  assert.equal(b.take(2), undefined);
  assert.equal(b.take(3), undefined);
  assert.equal(b.take(1000), 2);
});
