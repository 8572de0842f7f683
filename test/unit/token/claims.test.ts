import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createCA, issueCertificate } from '../../../src/core/pki';
import {
  AttemptThrottle,
  MemoryClaimStore,
  newClaimRecord,
  recordFromSecret,
  recordSecret,
  redeemClaim,
} from '../../../src/core/token/claims';
import { ClaimsServer, type ClaimEvent } from '../../../src/core/token/claimsServer';
import { describeTlsFailure, redeemClaimToken } from '../../../src/core/token/claimsClient';
import { makeCertToken } from '../../../src/core/token/issue';
import type { ClaimToken } from '../../../src/core/token/types';

const site = { id: 'site-a-id', name: 'a' };
const ca = createCA('site-a-ca');
const server = issueCertificate(ca, { commonName: 'skupper-router', ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'], usage: 'server' });
const ingress = { host: '127.0.0.1', interRouterPort: 55671, edgePort: 45671, claimsPort: 0 };
const future = () => new Date(Date.now() + 15 * 60_000);

describe('claim records', () => {
  test('the record keeps a hash, never the password, and round-trips through a Secret', () => {
    const rec = newClaimRecord('c1', 'p4ssword', 3, future());
    const secret = recordSecret(rec, { apiVersion: 'v1', kind: 'ConfigMap', name: 'skupper-site', uid: 'u1' });
    assert.equal(secret.metadata.labels?.['skupper.io/type'], 'token-claim-record');
    assert.equal(secret.metadata.ownerReferences?.[0].uid, 'u1');
    const all = Object.values(secret.data ?? {})
      .map((v) => Buffer.from(v, 'base64').toString())
      .join('|');
    assert.equal(all.includes('p4ssword'), false);
    const back = recordFromSecret(secret);
    assert.equal(back.usesAllowed, 3);
    assert.equal(back.usesMade, 0);
    assert.equal(back.expires.toISOString(), rec.expires.toISOString());
    assert.equal(back.passwordHash, rec.passwordHash);
  });

  test('redeem: wrong password, expired, used up and unknown are told apart', async () => {
    const store = new MemoryClaimStore();
    await store.create(newClaimRecord('c1', 'pw', 1, future()));
    await store.create(newClaimRecord('old', 'pw', 1, new Date(Date.now() - 3600_000)));
    const wrong = await redeemClaim(store, 'c1', 'nope', {});
    assert.equal(wrong.ok, false);
    assert.equal(!wrong.ok && wrong.reason, 'wrong-password');
    const ok = await redeemClaim(store, 'c1', 'pw', { siteName: 'b' });
    assert.equal(ok.ok, true);
    const again = await redeemClaim(store, 'c1', 'pw', { siteName: 'c' });
    assert.equal(!again.ok && again.reason, 'used-up');
    assert.match(!again.ok ? again.message : '', /already used 1 of 1 time, last by site b/);
    const expired = await redeemClaim(store, 'old', 'pw', {});
    assert.equal(!expired.ok && expired.reason, 'expired');
    assert.match(!expired.ok ? expired.message : '', /expired 60 minutes ago/);
    const unknown = await redeemClaim(store, 'zzz', 'pw', {});
    assert.equal(!unknown.ok && unknown.reason, 'unknown');
  });

  test('ten concurrent redemptions of a single-use claim: exactly one wins', async () => {
    const store = new MemoryClaimStore();
    await store.create(newClaimRecord('c1', 'pw', 1, future()));
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => redeemClaim(store, 'c1', 'pw', { siteName: `s${i}` })));
    assert.equal(results.filter((r) => r.ok).length, 1);
    assert.ok(results.filter((r) => !r.ok).every((r) => !r.ok && r.reason === 'used-up'));
    assert.equal((await store.get('c1'))?.record.usesMade, 1);
  });

  test('the throttle counts an attempt when it begins, delays after the free failures, doubling, capped', () => {
    let now = 0;
    const t = new AttemptThrottle({ freeFailures: 2, windowMs: 10_000, baseDelayMs: 100, maxDelayMs: 400, maxWaiting: 2 }, () => now);
    const a = t.begin('k')!;
    const b = t.begin('k')!;
    assert.deepEqual([a.delayMs, b.delayMs], [0, 0]);
    const c = t.begin('k')!;
    const d = t.begin('k')!;
    assert.deepEqual([c.delayMs, d.delayMs], [100, 200], 'attempts in flight weigh like failures');
    assert.equal(t.begin('k'), undefined, 'a third waiting attempt is refused');
    c.waited();
    const e = t.begin('k')!;
    assert.equal(e.delayMs, 400, 'capped');
    for (const x of [a, b, c, d, e]) x.end('failed');
    assert.equal(t.count('k'), 5);
    assert.equal(t.begin('k')!.delayMs, 400, 'never more than the cap, never locked');
    now += 10_001;
    assert.equal(t.count('k'), 1, 'failures are forgotten after the window');
  });

  test('a success resets the key; passed attempts leave nothing behind', () => {
    const t = new AttemptThrottle({ freeFailures: 1, windowMs: 10_000, baseDelayMs: 100, maxDelayMs: 400, maxWaiting: 2 });
    t.begin('k')!.end('failed');
    t.begin('k')!.end('reset');
    assert.equal(t.count('k'), 0);
    t.begin('x')!.end('passed');
    assert.equal(t.size, 0);
  });
});

describe('claims endpoint over HTTPS', () => {
  const store = new MemoryClaimStore();
  const events: ClaimEvent[] = [];
  let claims: ClaimsServer;
  let port = 0;
  const token = (name: string, password: string, host = '127.0.0.1', caPem = ca.certPem): ClaimToken => ({
    type: 'claim',
    name,
    url: `https://${host}:${port}/${name}`,
    password,
    caPem,
    issuer: site,
  });

  before(async () => {
    claims = new ClaimsServer({
      store,
      tls: { cert: server.certPem, key: server.keyPem },
      issue: async (req) => makeCertToken(ca, site, ingress, req.claim, req.siteName),
      event: (e) => events.push(e),
      limits: { freeFailures: 5, windowMs: 60_000, baseDelayMs: 100, maxDelayMs: 200, maxWaiting: 4 },
      addressLimits: { freeFailures: 50, windowMs: 60_000, baseDelayMs: 100, maxDelayMs: 200, maxWaiting: 8 },
      host: '0.0.0.0',
    });
    port = await claims.listen();
  });
  after(() => claims.close());

  test('a good claim returns a cert token signed by the site CA, and counts the use', async () => {
    await store.create(newClaimRecord('good', 'pw-good', 2, future()));
    const started = performance.now();
    const cert = await redeemClaimToken(token('good', 'pw-good'), { siteId: 'b-id', siteName: 'b' });
    const ms = performance.now() - started;
    assert.equal(cert.type, 'cert');
    assert.deepEqual(cert.interRouter, { host: '127.0.0.1', port: 55671 });
    assert.equal(cert.issuer.id, site.id);
    assert.equal((await store.get('good'))?.record.usesMade, 1);
    assert.ok(events.some((e) => e.reason === 'ClaimRedeemed' && /by site b/.test(e.message)));
    console.log(`# claim redemption over loopback HTTPS (incl. RSA-2048 key generation): ${ms.toFixed(1)} ms`);
  });

  test('refusals come back with their reason', async () => {
    await store.create(newClaimRecord('once', 'pw', 1, future()));
    await store.create(newClaimRecord('stale', 'pw', 1, new Date(Date.now() - 60_000)));
    await redeemClaimToken(token('once', 'pw'), { siteId: 'b', siteName: 'b' });
    await assert.rejects(
      redeemClaimToken(token('once', 'pw'), { siteId: 'c', siteName: 'c' }),
      /refused the claim \(claim used up\): claim once was already used 1 of 1 time/,
    );
    await assert.rejects(redeemClaimToken(token('stale', 'pw'), { siteId: 'c', siteName: 'c' }), /refused the claim \(claim expired\)/);
    await assert.rejects(redeemClaimToken(token('nobody', 'pw'), { siteId: 'c', siteName: 'c' }), /refused the claim \(unknown claim\)/);
    assert.ok(events.some((e) => e.reason === 'ClaimRefused' && /already used/.test(e.message)));
  });

  test('two concurrent redemptions of a single-use claim over HTTPS: exactly one wins', async () => {
    await store.create(newClaimRecord('race', 'pw', 1, future()));
    const results = await Promise.allSettled([
      redeemClaimToken(token('race', 'pw'), { siteId: 'x', siteName: 'x' }),
      redeemClaimToken(token('race', 'pw'), { siteId: 'y', siteName: 'y' }),
    ]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const loser = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.match(loser.reason.message, /claim used up/);
  });

  test('a wrong password storm slows the claim down but never locks the right password out', async () => {
    await store.create(newClaimRecord('storm', 'right', 5, future()));
    const answers: { message: string; ms: number }[] = [];
    for (let i = 0; i < 8; i++) {
      const started = performance.now();
      try {
        await redeemClaimToken(token('storm', `guess-${i}`), { siteId: 'm', siteName: 'mallory' });
      } catch (e) {
        answers.push({ message: (e as Error).message, ms: performance.now() - started });
      }
    }
    assert.equal(answers.filter((a) => /wrong password/.test(a.message)).length, 8, 'every guess is answered, after a delay');
    assert.ok(
      answers.slice(6).every((a) => a.ms >= 90),
      `guesses after the 5 free ones wait: ${answers.map((a) => a.ms.toFixed(0)).join(', ')} ms`,
    );
    const started = performance.now();
    const cert = await redeemClaimToken(token('storm', 'right'), { siteId: 'b', siteName: 'b' });
    assert.equal(cert.type, 'cert');
    assert.ok(performance.now() - started < 2000, 'the right password waits at most the capped delay');
  });

  test('TLS: a certificate that does not name the host is diagnosed with the names it holds', async () => {
    await assert.rejects(redeemClaimToken(token('good', 'pw-good', '127.0.0.2'), { siteId: 'b', siteName: 'b' }), (e: Error) => {
      assert.match(
        e.message,
        /certificate name mismatch at 127\.0\.0\.2:\d+: certificate valid for localhost, 127\.0\.0\.1, not 127\.0\.0\.2/,
      );
      return true;
    });
  });

  test('TLS: a token whose CA did not sign the endpoint says unknown CA', async () => {
    const other = createCA('another-site-ca');
    await assert.rejects(
      redeemClaimToken(token('good', 'pw-good', '127.0.0.1', other.certPem), { siteId: 'b', siteName: 'b' }),
      /not signed by the CA in the token \(unknown CA; it presents a certificate issued by CN=site-a-ca\)/,
    );
  });

  test('TCP: refused and timeout are said in words', async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const freePort = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const t = token('x', 'y');
    t.url = `https://127.0.0.1:${freePort}/x`;
    await assert.rejects(
      redeemClaimToken(t, { siteId: 'b', siteName: 'b' }),
      /connection refused by 127\.0\.0\.1:\d+: nothing listens there/,
    );
    // a server that accepts but never answers TLS
    const silent = net.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    t.url = `https://127.0.0.1:${(silent.address() as net.AddressInfo).port}/x`;
    await assert.rejects(redeemClaimToken(t, { siteId: 'b', siteName: 'b', timeoutMs: 300 }), /timed out reaching the claims endpoint/);
    silent.close();
  });

  test('revoke: a new server certificate is served without restarting', async () => {
    const ca2 = createCA('site-a-ca-2');
    const s2 = issueCertificate(ca2, { commonName: 'skupper-router', ipAddresses: ['127.0.0.1'], usage: 'server' });
    claims.setTls(s2.certPem, s2.keyPem);
    await assert.rejects(redeemClaimToken(token('good', 'pw-good'), { siteId: 'b', siteName: 'b' }), /unknown CA/);
    claims.setTls(server.certPem, server.keyPem);
  });

  test('describeTlsFailure covers expired and unknown host', () => {
    assert.match(describeTlsFailure({ code: 'CERT_HAS_EXPIRED' }, 'h', 1), /certificate of the claims endpoint at h:1 expired/);
    assert.match(describeTlsFailure({ code: 'ENOTFOUND' }, 'nowhere', 1), /cannot resolve the host name "nowhere"/);
  });
});
