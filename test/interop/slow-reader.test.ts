// A receiver that grants a million credits and then stops reading its socket (python3-qpid-proton with
// its event loop asleep), and a go-amqp sender with many messages in flight. The router must hold the
// sender back (credit) rather than buffer without bound or drop: every message the sender is told was
// accepted is one the receiver got, and the router's memory stays bounded.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { figure, go, goUnavailable, memoryOf, proton, protonUnavailable, result, startTestRouter, type TestRouter } from './helpers.js';

const skip = goUnavailable() ?? protonUnavailable();

async function slowReader(R: TestRouter, address: string, n: number, size: number, stallS: number) {
  const receiver = proton(['slow-recv', R.url, address, '--credit', '1000000', '--stall', String(stallS), '--idle', '2'], 120_000);
  await receiver.waitLine('receiver attached', (l) => l.ready);
  const before = memoryOf(R.pid);
  const sender = go(
    ['-url', R.url, '-mode', 'send', '-addr', address, '-n', String(n), '-size', String(size), '-window', '500', '-timeout', '100s'],
    120_000,
  );
  await receiver.waitLine('receiver stalled', (l) => l.stalled, 20_000);
  const sent = await result(sender);
  const got = await result(receiver);
  const afterRun = memoryOf(R.pid);
  return { sent, got, before, after: afterRun };
}

describe('interop: a slow reader', { skip }, () => {
  let R: TestRouter;

  before(async () => {
    R = await startTestRouter('IS');
  });

  after(async () => {
    await R?.stop();
  });

  test('50,000 small messages: all accepted only as delivered, none lost', async () => {
    const n = 50_000;
    const r = await slowReader(R, 'interop-slow-small', n, 64, 2);
    const accepted: number[] = r.sent.accepted_ids;
    const received = new Set<number>(r.got.ids);
    const lost = accepted.filter((id) => !received.has(id));
    figure('slow-reader-small-accepted', r.sent.counts.accepted ?? 0, 'messages');
    figure('slow-reader-small-received', received.size, 'messages');
    figure('slow-reader-small-accepted-but-lost', lost.length, 'messages');
    figure('slow-reader-small-router-rss-peak', Math.round(r.after.peakKb / 1024), 'MiB');
    assert.equal(lost.length, 0, `${lost.length} messages the sender was told were accepted never reached the receiver`);
    // Held back by credit, not refused: everything arrives once the reader reads again.
    assert.equal(r.sent.counts.accepted, n, JSON.stringify(r.sent.counts));
    assert.equal(received.size, n);
  });

  test('200 messages of 1 MiB: router memory bounded, none lost', async () => {
    const n = 200;
    const r = await slowReader(R, 'interop-slow-large', n, 1024 * 1024, 3);
    const received = new Set<number>(r.got.ids);
    const lost = (r.sent.accepted_ids as number[]).filter((id) => !received.has(id));
    const growthMiB = Math.round((r.after.peakKb - r.before.rssKb) / 1024);
    figure('slow-reader-1MiB-router-rss-before', Math.round(r.before.rssKb / 1024), 'MiB');
    figure('slow-reader-1MiB-router-rss-peak', Math.round(r.after.peakKb / 1024), 'MiB');
    figure('slow-reader-1MiB-router-rss-growth', growthMiB, 'MiB');
    figure('slow-reader-1MiB-accepted', r.sent.counts.accepted ?? 0, 'messages');
    assert.equal(lost.length, 0);
    assert.equal(r.sent.counts.accepted, n, JSON.stringify(r.sent.counts));
    // 200 MiB went through; what the router holds per sender and receiver is a few MiB (plus GC slack).
    assert.ok(growthMiB < 120, `router RSS grew by ${growthMiB} MiB`);
  });
});
