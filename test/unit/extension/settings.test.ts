// The settings that decide what a site runs and what a token grants: a repository's
// .vscode/settings.json cannot set them (machine scope), and they are capped when read.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { DEFAULT_ROUTER_IMAGE } from '../../../src/core/site/build';
import { MAX_TOKEN_USES, routerImageNotice, tokenSettings, workspaceFolderOf } from '../../../src/extension/settings';

const manifest = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8'));
const properties = manifest.contributes.configuration.properties as Record<string, { scope?: string; maximum?: number }>;

describe('extension settings', () => {
  test('skupper.routerImage, tokenExpiry and tokenUses cannot come from a workspace', () => {
    for (const key of ['skupper.routerImage', 'skupper.tokenExpiry', 'skupper.tokenUses']) {
      assert.ok(
        ['machine', 'application'].includes(properties[key]?.scope ?? ''),
        `${key} has scope ${properties[key]?.scope ?? '(window, the default)'}`,
      );
    }
    assert.equal(properties['skupper.tokenUses'].maximum, MAX_TOKEN_USES);
  });

  test('token expiry and uses are capped, and bad values fall back to the defaults with a note', () => {
    assert.deepEqual(tokenSettings('15m', 1), { expiry: '15m', expiryMs: 15 * 60_000, uses: 1, notes: [] });
    const big = tokenSettings('8760h', 1000);
    assert.equal(big.expiryMs, 24 * 3600_000);
    assert.equal(big.uses, 10);
    assert.equal(big.notes.length, 2);
    const bad = tokenSettings('forever', -3);
    assert.equal(bad.expiry, '15m');
    assert.equal(bad.uses, 1);
    assert.equal(bad.notes.length, 2);
  });

  test('a router image other than the default is shown before init', () => {
    assert.equal(routerImageNotice(DEFAULT_ROUTER_IMAGE), undefined);
    assert.equal(routerImageNotice(undefined), undefined);
    assert.match(
      routerImageNotice('evil.example/miner:latest', 'your user settings') ?? '',
      /"evil\.example\/miner:latest" \(setting skupper\.routerImage in your user settings\), not the default/,
    );
  });

  test('a save location inside a workspace folder is recognised', () => {
    assert.equal(workspaceFolderOf('/home/u/repo/token.yaml', ['/home/u/repo']), '/home/u/repo');
    assert.equal(workspaceFolderOf('/home/u/repo/sub/t.yaml', ['/other', '/home/u/repo']), '/home/u/repo');
    assert.equal(workspaceFolderOf('/home/u/token.yaml', ['/home/u/repo']), undefined);
    assert.equal(workspaceFolderOf('/home/u/repo2/t.yaml', ['/home/u/repo']), undefined);
  });
});
