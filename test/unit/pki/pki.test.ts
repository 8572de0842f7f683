import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  KeyPool,
  checkHostName,
  createCA,
  describeCertificate,
  describeExpiry,
  isSignedBy,
  issueCertificate,
  issueCertificateAsync,
  splitHostNames,
} from '../../../src/core/pki';

describe('pki', () => {
  const ca = createCA('skupper-site-ca');
  const other = createCA('another-network');

  test('a CA is self-signed and marked as a CA', () => {
    const info = describeCertificate(ca.certPem);
    assert.equal(info.isCA, true);
    assert.match(info.subject, /CN=skupper-site-ca/);
    assert.equal(isSignedBy(ca.certPem, ca.certPem), true);
  });

  test('a server certificate carries DNS and IP names and is signed by its CA only', () => {
    const server = issueCertificate(ca, {
      commonName: 'skupper-router',
      ...splitHostNames(['skupper-inter-router', 'skupper-inter-router.ns.svc.cluster.local', '127.10.0.5', '127.10.0.5']),
      usage: 'server',
    });
    const info = describeCertificate(server.certPem);
    assert.deepEqual(info.dnsNames, ['skupper-inter-router', 'skupper-inter-router.ns.svc.cluster.local']);
    assert.deepEqual(info.ipAddresses, ['127.10.0.5']);
    assert.equal(info.isCA, false);
    assert.equal(isSignedBy(server.certPem, ca.certPem), true);
    assert.equal(isSignedBy(server.certPem, other.certPem), false);
    assert.deepEqual(checkHostName(server.certPem, '127.10.0.5'), { ok: true });
    const wrong = checkHostName(server.certPem, 'router.example.com');
    assert.equal(wrong.ok, false);
    assert.equal(
      wrong.reason,
      'certificate valid for skupper-inter-router, skupper-inter-router.ns.svc.cluster.local, 127.10.0.5, not router.example.com',
    );
  });

  test('certificates work in a real mutual TLS handshake', async () => {
    const tls = await import('node:tls');
    const server = issueCertificate(ca, { commonName: 'server', ipAddresses: ['127.0.0.1'], usage: 'server' });
    const client = issueCertificate(ca, { commonName: 'client', usage: 'client' });
    const srv = tls.createServer(
      { cert: server.certPem, key: server.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true },
      (s) => s.end('hi'),
    );
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    try {
      const answer = await new Promise<string>((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port, cert: client.certPem, key: client.keyPem, ca: ca.certPem }, () => undefined);
        let data = '';
        s.on('data', (d) => (data += d));
        s.on('end', () => resolve(data));
        s.on('error', reject);
      });
      assert.equal(answer, 'hi');
      // A client whose certificate comes from another CA is refused at the handshake.
      const foreign = issueCertificate(other, { commonName: 'intruder', usage: 'client' });
      await assert.rejects(
        new Promise((resolve, reject) => {
          const s = tls.connect({ host: '127.0.0.1', port, cert: foreign.certPem, key: foreign.keyPem, ca: ca.certPem });
          s.on('data', resolve);
          s.on('error', reject);
          s.on('end', () => reject(new Error('closed without data')));
        }),
      );
    } finally {
      srv.close();
    }
  });

  test('expiry reads as words', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    assert.equal(describeExpiry(new Date('2026-01-04T00:00:00Z'), now), 'expires in 3 days');
    assert.equal(describeExpiry(new Date('2025-12-31T22:00:00Z'), now), 'expired 2 hours ago');
    assert.equal(describeExpiry(new Date('2026-01-01T05:00:00Z'), now), 'expires in 5 hours');
  });

  test('validDays sets notAfter', () => {
    const short = issueCertificate(ca, { commonName: 'c', usage: 'client', validDays: 1 });
    const info = describeCertificate(short.certPem);
    const days = (info.notAfter.getTime() - Date.now()) / 86400000;
    assert.ok(days > 0.99 && days <= 1.01, `got ${days}`);
  });
});

describe('keys made off the event loop', () => {
  const ca = createCA('pool-ca');

  test('issueCertificateAsync makes a certificate that verifies against its CA, without blocking the loop', async () => {
    let maxGap = 0;
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
    }, 5);
    try {
      const leaf = await issueCertificateAsync(ca, { commonName: 'async', usage: 'client' });
      assert.equal(isSignedBy(leaf.certPem, ca.certPem), true);
      assert.match(leaf.keyPem, /BEGIN RSA PRIVATE KEY/);
    } finally {
      clearInterval(ticker);
    }
    // A synchronous RSA-2048 generation stalls the loop for 100 ms or more on this machine.
    assert.ok(maxGap < 100, `event loop stalled ${maxGap.toFixed(0)} ms`);
  });

  async function whenReady(pool: KeyPool): Promise<number> {
    for (let i = 0; i < 200 && pool.available === 0; i++) await new Promise((r) => setTimeout(r, 25));
    return pool.available;
  }

  test('a warm pool hands out a ready key and refills itself', async () => {
    const pool = new KeyPool(1).warm();
    assert.equal(await whenReady(pool), 1);
    const started = performance.now();
    const leaf = await issueCertificateAsync(ca, { commonName: 'pooled', usage: 'client' }, pool);
    const elapsed = performance.now() - started;
    assert.equal(isSignedBy(leaf.certPem, ca.certPem), true);
    assert.ok(elapsed < 150, `issuing with a ready key took ${elapsed.toFixed(0)} ms`);
    assert.equal(await whenReady(pool), 1, 'the pool refilled');
  });
});
