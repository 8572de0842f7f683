// The packaged extension: `npm run package` makes a .vsix that installs into a fresh code-server and
// shows the Skupper activity bar container with its three views.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CS_BIN, ROOT, S, openWorkbench, startCodeServer, uiUnavailable, type Server, type Workbench } from './harness';

const skip = uiUnavailable();
const VSIX = join(ROOT, 'dist', 'vscode-skupper.vsix');

describe('the packaged .vsix', { skip }, () => {
  let server: Server;
  let wb: Workbench;

  before(async () => {
    const packaged = spawnSync(
      'npx',
      [
        'vsce',
        'package',
        '--no-dependencies',
        '--baseContentUrl',
        'https://example.invalid/vscode-skupper',
        '--baseImagesUrl',
        'https://example.invalid/vscode-skupper',
        '--out',
        VSIX,
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    assert.equal(packaged.status, 0, packaged.stderr + packaged.stdout);
    server = await startCodeServer({ kubeconfig: join(ROOT, 'does-not-exist.kubeconfig') });
  });

  after(async () => {
    await wb?.close();
    await server?.stop();
  });

  it('is small and holds what the extension needs and nothing of the sources', () => {
    const listed = spawnSync('npx', ['vsce', 'ls', '--no-dependencies'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(listed.status, 0, listed.stderr);
    const files = listed.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    for (const needed of ['package.json', 'dist/extension.js', 'dist/router.js', 'dist/media/topology.js', 'media/skupper.svg'])
      assert.ok(files.includes(needed), `missing ${needed}`);
    assert.ok(!files.some((f) => f.startsWith('src/') || f.endsWith('.ts') || f.endsWith('.map')), `sources packaged: ${files.join(', ')}`);
    const size = statSync(VSIX).size;
    console.log(`FIGURES ${JSON.stringify({ vsixBytes: size, vsixFiles: files.length })}`);
    assert.ok(size < 2 * 1024 * 1024, `vsix is ${size} bytes`);
  });

  it('installs into code-server and the Skupper container appears with its views', async () => {
    const installed = spawnSync(
      CS_BIN,
      ['--extensions-dir', join(server.dir, 'ext'), '--user-data-dir', join(server.dir, 'ud'), '--install-extension', VSIX],
      { encoding: 'utf8' },
    );
    assert.equal(installed.status, 0, installed.stderr + installed.stdout);
    assert.match(installed.stdout, /successfully installed/);
    assert.ok(existsSync(join(server.dir, 'ext', 'vscode-skupper.vscode-skupper-0.1.0', 'dist', 'router.js')));
    wb = await openWorkbench(server, { installed: true });
    const item = wb.page.locator(S.activityItem('Skupper'));
    await item.waitFor({ timeout: 60_000 });
    await item.locator('a.action-label').click();
    for (const view of ['Clusters', 'Links', 'Services']) {
      await wb.page.locator('.part.sidebar .pane-header', { hasText: view }).first().waitFor({ timeout: 30_000 });
    }
    // Activated: the Clusters view answers (here with its no-kubeconfig welcome), not the placeholder.
    await wb.page.getByText('There is no data provider').first().waitFor({ state: 'hidden', timeout: 60_000 });
    await wb.page
      .locator('.part.sidebar .welcome-view-content', { hasText: /kubeconfig/i })
      .first()
      .waitFor({ timeout: 30_000 });
    await wb.shot('00-vsix-installed');
  });
});
