// One router, AMQP clients we did not write (go-amqp, python3-qpid-proton): connecting plain and over
// mutual TLS, the close handshake, a sender and a receiver with one link name, pre-settled senders,
// $management in the standard AMQP shape and in ours.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  clientCertificate,
  go,
  goUnavailable,
  proton,
  protonUnavailable,
  result,
  startTestRouter,
  strangerCertificate,
  type TestRouter,
} from './helpers.js';

const noGo = goUnavailable();
const noProton = protonUnavailable();

describe('interop: AMQP clients on one router', () => {
  let R: TestRouter;

  before(async () => {
    R = await startTestRouter('IC', { tls: true });
  });

  after(async () => {
    await R?.stop();
  });

  test('go-amqp connects plain and over mutual TLS; a certificate from another CA is refused', { skip: noGo }, async () => {
    const plain = await result(go(['-url', R.url, '-mode', 'connect']));
    assert.equal(plain.connected, true);
    assert.match(plain.dynamic, /^\$temp\/IC\//);
    const t = clientCertificate();
    const viaTls = await result(go(['-url', R.tlsUrl!, '-mode', 'connect', '-ca', t.ca!, '-cert', t.cert, '-key', t.key]));
    assert.equal(viaTls.connected, true);
    const s = strangerCertificate();
    const refused = await go(['-url', R.tlsUrl!, '-mode', 'connect', '-ca', s.ca!, '-cert', s.cert, '-key', s.key, '-timeout', '10s']).done;
    assert.notEqual(refused.code, 0, JSON.stringify(refused.lines));
    const none = await go(['-url', R.tlsUrl!, '-mode', 'connect', '-ca', t.ca!, '-timeout', '10s']).done;
    assert.notEqual(none.code, 0, JSON.stringify(none.lines));
  });

  test('python3-qpid-proton connects plain and over mutual TLS', { skip: noProton }, async () => {
    assert.equal((await result(proton(['connect', R.url]))).done, true);
    const t = clientCertificate();
    assert.equal((await result(proton(['connect', R.tlsUrl!, '--ca', t.ca!, '--cert', t.cert, '--key', t.key]))).done, true);
  });

  test(
    "close handshake: the router answers a client's close (proton's BlockingConnection.close() returns at once)",
    { skip: noProton },
    async () => {
      const r = await result(proton(['close', R.url, '--timeout', '5']));
      assert.equal(r.error, null, `close failed: ${r.error}`);
      assert.ok(r.close_s < 2, `close took ${r.close_s} s`);
    },
  );

  test("a sender and a receiver with the same link name on one connection (proton's default names)", { skip: noProton }, async () => {
    const r = await result(proton(['same-name', R.url, 'interop-same-name'], 20_000));
    assert.equal(r.error, undefined, JSON.stringify(r));
    assert.equal(r.names[0], r.names[1], 'the two links should share one name');
    assert.deepEqual(r.got, ['m0', 'm1', 'm2']);
  });

  test('a pre-settled sender (snd-settle-mode settled) attaches as asked and its messages arrive', { skip: noGo }, async () => {
    const receiver = go(['-url', R.url, '-mode', 'recv', '-addr', 'interop-presettled', '-n', '50']);
    await receiver.waitLine('receiver attached', (l) => l.ready);
    const sent = await result(
      go(['-url', R.url, '-mode', 'send', '-addr', 'interop-presettled', '-n', '50', '-settled', '-retry-released']),
    );
    assert.equal(sent.counts.sent, 50);
    const got = await result(receiver);
    assert.equal(got.received, 50);
  });

  test("$management answers the standard AMQP management QUERY and the router's own shape (proton)", { skip: noProton }, async () => {
    const r = await result(proton(['mgmt', R.url]));
    const std = r.results.std;
    assert.equal(std.status, 200);
    assert.equal(std.kind, 'dict');
    assert.ok(std.attributeNames.includes('role') && std.attributeNames.includes('direction'), JSON.stringify(std));
    assert.ok(std.rows >= 1, 'this connection at least');
    assert.deepEqual(std.rowWidths, [std.attributeNames.length]);
    const chosen = r.results['std-attrs'];
    assert.equal(chosen.status, 200);
    assert.deepEqual(chosen.attributeNames, ['role', 'direction']);
    const own = r.results.own;
    assert.equal(own.status, 200);
    assert.equal(own.kind, 'list');
    assert.ok(own.count >= 1);
  });

  test('$management answers the standard AMQP management QUERY (go-amqp)', { skip: noGo }, async () => {
    const r = await result(go(['-url', R.url, '-mode', 'mgmt']));
    assert.equal(r.properties.statusCode, 200);
    assert.equal(r.correlation, 'go-1');
    assert.ok(r.attributeNames.includes('bytesIn'), JSON.stringify(r));
    assert.ok(r.rows >= 1);
  });
});
