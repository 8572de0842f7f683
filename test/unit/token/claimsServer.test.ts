// The claims endpoint faces the internet without authentication: these are the attacks it must
// shrug off (each was measured against 9d48b3e on loopback): quadratic paths, parallel guesses that
// all get checked, wrong passwords or unknown names that lock the right caller out, refusals that
// flood the event log, idle TLS handshakes, too many connections, internal messages in a 500.
import assert from 'node:assert/strict';
import https from 'node:https';
import net from 'node:net';
import { describe, test } from 'node:test';
import { createCA, issueCertificate } from '../../../src/core/pki';
import { type ClaimStore, MemoryClaimStore, newClaimRecord, type ThrottleOptions } from '../../../src/core/token/claims';
import { type ClaimEvent, ClaimsServer, type ClaimsServerOptions } from '../../../src/core/token/claimsServer';
import { makeCertToken } from '../../../src/core/token/issue';

const site = { id: 'site-a-id', name: 'a' };
const ca = createCA('site-a-ca');
const cert = issueCertificate(ca, { commonName: 'skupper-router', ipAddresses: ['127.0.0.1'], usage: 'server' });
const ingress = { host: '127.0.0.1', interRouterPort: 55671, edgePort: 45671, claimsPort: 0 };
const future = () => new Date(Date.now() + 15 * 60_000);

/** Limits in both shapes: the throttle's, and 9d48b3e's lock-out limiter's (so the old code gets the same budget). */
const limits = (free: number, baseDelayMs: number, maxDelayMs: number, maxWaiting: number) =>
  ({
    freeFailures: free,
    baseDelayMs,
    maxDelayMs,
    maxWaiting,
    windowMs: 60_000,
    maxFailures: free,
    blockMs: 30_000,
    maxBlockMs: 60_000,
  }) as ThrottleOptions;
const LAX = limits(1000, 10, 10, 1000);

interface Answer {
  status: number;
  body: any;
  text: string;
}

function post(port: number, path: string, body: unknown, agent: https.Agent | false = false, method = 'POST'): Promise<Answer> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        ca: ca.certPem,
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const t = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = JSON.parse(t);
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, text: t });
        });
      },
    );
    req.on('error', reject);
    req.setTimeout(20_000, () => req.destroy(new Error('no answer in 20 s')));
    req.end(text);
  });
}

async function serve(
  o: Partial<ClaimsServerOptions> & { store: ClaimStore },
): Promise<{ server: ClaimsServer; port: number; events: ClaimEvent[] }> {
  const events: ClaimEvent[] = [];
  const server = new ClaimsServer({
    tls: { cert: cert.certPem, key: cert.keyPem },
    issue: async (req) => makeCertToken(ca, site, ingress, req.claim, req.siteName),
    event: (e) => events.push(e),
    host: '127.0.0.1',
    limits: LAX,
    addressLimits: LAX,
    ...o,
  });
  return { server, port: await server.listen(), events };
}

/** A store whose reads take `ms` (a slow API server), counting them. */
class SlowStore extends MemoryClaimStore {
  reads = 0;
  constructor(private readonly ms: number) {
    super();
  }
  override async get(name: string) {
    this.reads++;
    await new Promise((r) => setTimeout(r, this.ms));
    return super.get(name);
  }
}

describe('claims endpoint under attack', { timeout: 60_000 }, () => {
  test('a path of 16,000 slashes and a letter is refused at once (the path is checked before any other work)', async () => {
    const { server, port } = await serve({ store: new MemoryClaimStore() });
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: ca.certPem });
    try {
      const path = `/a${'/'.repeat(16_000)}b`;
      await post(port, '/warm-up', {}, agent);
      const times: number[] = [];
      for (let i = 0; i < 10; i++) {
        const started = performance.now();
        const answer = await post(port, path, { password: 'x' }, agent);
        times.push(performance.now() - started);
        assert.equal(answer.status, 400, answer.text);
        assert.equal(answer.body.reason, 'bad-request');
      }
      times.sort((a, b) => a - b);
      const p50 = times[5];
      console.log(`# slash path: p50 ${p50.toFixed(1)} ms over 10 requests`);
      assert.ok(p50 < 100, `p50 ${p50.toFixed(1)} ms (the quadratic pattern took ~700 ms here)`);
      for (const bad of ['/A', '/a/b', '/a%2Fb', `/${'a'.repeat(64)}`, '/', '//a', '/a/'])
        assert.equal((await post(port, bad, { password: 'x' }, agent)).status, 400, bad);
    } finally {
      agent.destroy();
      await server.close();
    }
  });

  test('attempts are counted when they arrive: 100 parallel wrong guesses with a slow store are not all checked', async () => {
    const store = new SlowStore(50);
    await store.create(newClaimRecord('target', 'right', 1, future()));
    const { server, port } = await serve({ store, limits: limits(3, 250, 1000, 4) });
    // 100 connections with their TLS handshakes done first, so the guesses arrive together.
    const agent = new https.Agent({ keepAlive: true, maxSockets: 100, ca: ca.certPem });
    try {
      await Promise.all(Array.from({ length: 100 }, () => post(port, '/healthz', '', agent, 'GET')));
      const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => post(port, '/target', { password: `guess-${i}` }, agent)));
      const statuses = new Map<number, number>();
      for (const a of answers) statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
      console.log(`# 100 parallel guesses: ${store.reads} checked; answers ${JSON.stringify(Object.fromEntries(statuses))}`);
      assert.ok(store.reads <= 20, `${store.reads} guesses checked`);
      assert.equal(answers.filter((a) => a.status === 403).length, store.reads);
      assert.ok(answers.filter((a) => a.status === 429).every((a) => a.body.retryAfterSeconds >= 1));
    } finally {
      agent.destroy();
      await server.close();
    }
  });

  test('wrong passwords slow a claim down but never lock the right password out', async () => {
    const store = new MemoryClaimStore();
    await store.create(newClaimRecord('door', 'right', 1, future()));
    const { server, port } = await serve({ store, limits: limits(3, 250, 1000, 4) });
    try {
      for (let i = 0; i < 5; i++) {
        const wrong = await post(port, '/door', { password: `guess-${i}`, siteName: 'mallory' });
        assert.equal(wrong.status, 403, wrong.text);
      }
      const started = performance.now();
      const right = await post(port, '/door', { password: 'right', siteName: 'bob', siteId: 'b' });
      const ms = performance.now() - started;
      assert.equal(right.status, 200, right.text);
      assert.ok(ms < 3000, `the right password waited ${ms.toFixed(0)} ms`);
      console.log(`# right password after 5 wrong ones: answered in ${ms.toFixed(0)} ms`);
    } finally {
      await server.close();
    }
  });

  test('unknown names from one address (a load balancer: everyone) slow it down but do not lock it', async () => {
    const store = new MemoryClaimStore();
    await store.create(newClaimRecord('mine', 'right', 1, future()));
    const { server, port } = await serve({ store, addressLimits: limits(20, 25, 100, 8) });
    try {
      for (let i = 0; i < 25; i++) assert.equal((await post(port, `/nobody-${i}`, { password: 'x' })).status, 404);
      const right = await post(port, '/mine', { password: 'right', siteName: 'bob', siteId: 'b' });
      assert.equal(right.status, 200, right.text);
    } finally {
      await server.close();
    }
  });

  test('refusals are folded into few events, a site name is cut to a DNS label, control characters are gone', async () => {
    const store = new MemoryClaimStore();
    await store.create(newClaimRecord('stale', 'pw', 1, new Date(Date.now() - 60_000)));
    const { server, port, events } = await serve({ store });
    const siteName = `\u001b[2J\u001b]0;owned\u0007${'x'.repeat(15_000)}`;
    const answers: Answer[] = [];
    for (let batch = 0; batch < 21; batch++)
      answers.push(
        ...(await Promise.all(
          Array.from({ length: 10 }, () => post(port, '/stale', { password: 'pw', siteName, siteId: '\u001b[31mid' })),
        )),
      );
    await server.close();
    assert.ok(answers.every((a) => a.status === 410));
    const refused = events.filter((e) => e.reason === 'ClaimRefused');
    const bytes = JSON.stringify(events).length;
    console.log(`# 210 refusals with a 15 KB siteName: ${events.length} events, ${bytes} bytes`);
    assert.ok(refused.length <= 2, `${refused.length} events`);
    assert.match(refused[refused.length - 1].message, /209 more requests refused in the last 60 s: expired \(209\)/);
    assert.ok(bytes < 4096, `${bytes} bytes of events`);
    for (const e of events) {
      assert.doesNotMatch(e.message, /[\u0000-\u001f\u007f-\u009f]/);
      assert.doesNotMatch(e.message, /x{64}/);
    }
  });

  test('an idle TLS handshake is dropped after the handshake timeout', async () => {
    const { server, port } = await serve({ store: new MemoryClaimStore(), handshakeTimeoutMs: 300 });
    try {
      const socket = net.connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      const closed = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 3000);
        socket.once('close', () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      socket.destroy();
      assert.equal(closed, true, 'a connection that never starts TLS is closed');
    } finally {
      await server.close();
    }
  });

  test('connections beyond the cap are closed on accept', async () => {
    const { server, port } = await serve({ store: new MemoryClaimStore(), maxConnections: 4 });
    const sockets: net.Socket[] = [];
    try {
      const open = (): Promise<net.Socket> =>
        new Promise((resolve) => {
          const s = net.connect(port, '127.0.0.1', () => resolve(s));
          s.on('error', () => undefined);
          sockets.push(s);
        });
      for (let i = 0; i < 4; i++) await open();
      await new Promise((r) => setTimeout(r, 100));
      const fifth = await open();
      const closed = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 1500);
        fifth.once('close', () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      assert.equal(closed, true, 'the fifth connection is closed');
      assert.ok(
        sockets.slice(0, 4).every((s) => !s.destroyed),
        'the first four stay',
      );
    } finally {
      for (const s of sockets) s.destroy();
      await server.close();
    }
  });

  test("a failure answers a generic 500; the reason goes to the site's events only", async () => {
    const store = new MemoryClaimStore();
    await store.create(newClaimRecord('good', 'pw', 1, future()));
    const { server, port, events } = await serve({
      store,
      issue: async () => {
        throw new Error('secret internal detail at /var/run/secrets/token');
      },
    });
    try {
      const answer = await post(port, '/good', { password: 'pw', siteName: 'b' });
      assert.equal(answer.status, 500);
      assert.doesNotMatch(answer.text, /secret internal detail|\/var\/run/);
      assert.match(answer.body.message, /the claims endpoint failed/);
      assert.ok(events.some((e) => e.reason === 'ClaimFailed' && /secret internal detail/.test(e.message)));
    } finally {
      await server.close();
    }
  });
});
