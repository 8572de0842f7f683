// Two linked routers (A - B) and go-amqp clients: anycast across the link, multicast to three receivers,
// a 10 MiB message, and what a sender is told when no consumer takes its message (released, as
// skupper-router does: re-routed to another consumer first, released back to the sender when none is left).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { converged, figure, go, goUnavailable, result, startTestRouter, type Client, type TestRouter } from './helpers.js';

const noGo = goUnavailable();

function ids(from: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => from + i);
}

describe('interop: go-amqp across two routers', { skip: noGo }, () => {
  let A: TestRouter;
  let B: TestRouter;

  before(async () => {
    A = await startTestRouter('IA');
    B = await startTestRouter('IB', { connectTo: [A] });
    await converged([A, B]);
  });

  after(async () => {
    await B?.stop();
    await A?.stop();
  });

  test('anycast: 1000 messages from a sender on A to a receiver on B, each accepted once it is delivered', async () => {
    const receiver = go(['-url', B.url, '-mode', 'recv', '-addr', 'interop-anycast', '-n', '1000', '-credit', '200']);
    await receiver.waitLine('receiver attached', (l) => l.ready);
    // Until A learns of B's receiver, A releases (no consumer): the sender sends those again.
    const sent = await result(
      go(['-url', A.url, '-mode', 'send', '-addr', 'interop-anycast', '-n', '1000', '-window', '200', '-retry-released']),
    );
    const got = await result(receiver);
    assert.equal(sent.counts.accepted, 1000, JSON.stringify(sent.counts));
    assert.deepEqual(
      [...got.ids].sort((a: number, b: number) => a - b),
      ids(0, 1000),
    );
    figure('anycast-1000-across-2-routers', sent.elapsed_ms, 'ms');
    figure('anycast-1000-retries-before-route-known', sent.counts.retries ?? 0, 'messages');
  });

  test('multicast: three receivers (two on B, one on A) each get every message', async () => {
    const receivers: Client[] = [B, B, A].map((r) =>
      go(['-url', r.url, '-mode', 'recv', '-addr', 'multicast/interop', '-n', '100', '-credit', '500']),
    );
    for (const r of receivers) await r.waitLine('receiver attached', (l) => l.ready);
    // Multicast to nobody is dropped: probe until every receiver is known everywhere.
    const probe = go(['-url', A.url, '-mode', 'send', '-addr', 'multicast/interop', '-probe', '-timeout', '20s']);
    try {
      for (const r of receivers) await r.waitLine('probe seen', (l) => l.probe, 15_000);
    } finally {
      probe.kill();
    }
    const sent = await result(go(['-url', A.url, '-mode', 'send', '-addr', 'multicast/interop', '-n', '100']));
    assert.equal(sent.counts.accepted, 100, JSON.stringify(sent.counts));
    for (const r of receivers) {
      const got = await result(r);
      assert.deepEqual(
        [...got.ids].sort((a: number, b: number) => a - b),
        ids(0, 100),
      );
    }
  });

  test('a 10 MiB message from A to B arrives whole', async () => {
    const size = 10 * 1024 * 1024;
    const receiver = go(['-url', B.url, '-mode', 'recv', '-addr', 'interop-big', '-n', '1']);
    await receiver.waitLine('receiver attached', (l) => l.ready);
    const t0 = Date.now();
    const sent = await result(
      go(['-url', A.url, '-mode', 'send', '-addr', 'interop-big', '-n', '1', '-size', String(size), '-retry-released']),
    );
    const got = await result(receiver);
    assert.equal(sent.counts.accepted, 1);
    assert.equal(got.received, 1);
    assert.equal(got.sha256_first, sent.sha256_first);
    figure('10MiB-message-across-2-routers', Date.now() - t0, 'ms');
  });

  test('anycast with no receiver anywhere: released (not accepted, not modified), and no more credit until a receiver appears', async () => {
    const sender = go([
      '-url',
      A.url,
      '-mode',
      'send',
      '-addr',
      'interop-nobody',
      '-n',
      '3',
      '-window',
      '1',
      '-verbose',
      '-timeout',
      '20s',
    ]);
    // The first message is released at once; the second waits for credit, which comes with a receiver.
    await sender.waitLine('the first outcome', (l) => l.outcome);
    await new Promise((r) => setTimeout(r, 300));
    const receiver = go(['-url', B.url, '-mode', 'recv', '-addr', 'interop-nobody', '-n', '2']);
    const sent = await result(sender);
    assert.deepEqual(sent.counts, { released: 1, accepted: 2 });
    assert.deepEqual((await result(receiver)).ids, [1, 2]);
  });

  test('a receiver that releases: the message goes to another receiver (on the other router), accepted there', async () => {
    // The releasing receiver is on A, the sender's router (closest, so tried first); the other on B.
    const releaser = go([
      '-url',
      A.url,
      '-mode',
      'recv',
      '-addr',
      'interop-release',
      '-n',
      '1',
      '-release-first',
      '1000000',
      '-idle',
      '2s',
    ]);
    const acceptor = go(['-url', B.url, '-mode', 'recv', '-addr', 'interop-release', '-n', '21', '-idle', '5s']);
    await releaser.waitLine('releaser attached', (l) => l.ready);
    await acceptor.waitLine('acceptor attached', (l) => l.ready);
    // One message sent until accepted: then A knows B's receiver.
    await result(
      go(['-url', A.url, '-mode', 'send', '-addr', 'interop-release', '-n', '1', '-first-id', '1000', '-retry-released', '-window', '1']),
    );
    const sent = await result(go(['-url', A.url, '-mode', 'send', '-addr', 'interop-release', '-n', '20']));
    assert.deepEqual(sent.counts, { accepted: 20 });
    const got = await result(acceptor);
    assert.deepEqual(
      [...got.ids].sort((a: number, b: number) => a - b),
      [...ids(0, 20), 1000],
    );
    const released = await releaser.done;
    assert.ok(released.last.released >= 20, `the releasing receiver saw ${released.last.released} messages`);
  });

  test('a receiver that releases, and no other: the sender is told released', async () => {
    const releaser = go(['-url', B.url, '-mode', 'recv', '-addr', 'interop-release-only', '-n', '1', '-release-first', '5', '-idle', '6s']);
    await releaser.waitLine('releaser attached', (l) => l.ready);
    const sent = await result(go(['-url', B.url, '-mode', 'send', '-addr', 'interop-release-only', '-n', '6', '-window', '1']));
    // The first five are released by the only receiver and come back; the sixth is accepted.
    assert.deepEqual(sent.counts, { released: 5, accepted: 1 });
    const got = await result(releaser);
    assert.equal(got.released, 5);
    assert.deepEqual(got.ids, [5]);
  });
});
