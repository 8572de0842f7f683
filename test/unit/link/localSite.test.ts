// A laptop site's claim records: a lock left by a crashed process must not block the claim for good.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { FileClaimStore } from '../../../src/core/link/localSite';
import { newClaimRecord, redeemClaim } from '../../../src/core/token/claims';

const dir = mkdtempSync(join(tmpdir(), 'van-claim-files-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const future = () => new Date(Date.now() + 15 * 60_000);

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('file claim store', () => {
  test('a lock holding the pid of a process that is gone is cleared; the claim is redeemed', async () => {
    const store = new FileClaimStore(join(dir, 'a'));
    await store.create(newClaimRecord('c1', 'pw', 1, future()));
    writeFileSync(join(dir, 'a', 'c1.yaml.lock'), `${deadPid()} 2026-01-01T00:00:00Z\n`);
    const outcome = await redeemClaim(store, 'c1', 'pw', { siteName: 'b' });
    assert.equal(outcome.ok, true, outcome.ok ? '' : outcome.message);
    assert.equal(existsSync(join(dir, 'a', 'c1.yaml.lock')), false);
  });

  test('an old empty lock (as earlier versions left them) is cleared', async () => {
    const store = new FileClaimStore(join(dir, 'b'));
    await store.create(newClaimRecord('c2', 'pw', 1, future()));
    const lock = join(dir, 'b', 'c2.yaml.lock');
    writeFileSync(lock, '');
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    const outcome = await redeemClaim(store, 'c2', 'pw', { siteName: 'b' });
    assert.equal(outcome.ok, true, outcome.ok ? '' : outcome.message);
  });

  test('a fresh lock of a live process is respected (a concurrent update wins)', async () => {
    const store = new FileClaimStore(join(dir, 'c'));
    await store.create(newClaimRecord('c3', 'pw', 1, future()));
    writeFileSync(join(dir, 'c', 'c3.yaml.lock'), `${process.pid} now\n`);
    const hit = await store.get('c3');
    assert.equal(await store.update({ ...hit!.record, usesMade: 1 }, hit!.version), 'conflict');
  });

  test('delete removes one record', async () => {
    const store = new FileClaimStore(join(dir, 'd'));
    await store.create(newClaimRecord('c4', 'pw', 1, future()));
    assert.equal(await store.delete('c4'), true);
    assert.equal(await store.get('c4'), undefined);
    assert.equal(await store.delete('../d/c4'), false);
  });
});
