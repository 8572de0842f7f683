// Integration tests inside the real extension host: bundles test/ui/exthost/suite.ts, loads the
// workbench with extensionDevelopmentPath + extensionTestsPath, and reports each check it ran. The
// contexts read sites seeded as real objects on the real API servers of the test control plane (seed.ts).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as esbuild from 'esbuild';
import { chromium } from 'playwright-core';
import { Seed, type KubeconfigContext } from './seed';
import { CHROMIUM, ROOT, startCodeServer, uiUnavailable, type Server } from './harness';

const skip = uiUnavailable();

describe('extension host integration', { skip, timeout: 180_000 }, () => {
  let seed: Seed;
  let dir: string;
  let server: Server;
  let results: { name: string; ok: boolean; error?: string; ms: number }[] = [];
  let exitCode: unknown;

  before(async () => {
    seed = await new Seed().init();
    const a = await seed.namespace('public', `${seed.run}-a`);
    const b = await seed.namespace('private', `${seed.run}-b`);
    await seed.site('public', a, 'site-a');
    const siteB = await seed.site('private', b, 'site-b');
    await seed.siteState('public', a, { links: [{ name: 'l1', remote: 'site-b', remoteId: siteB, state: 'up' }] });
    dir = mkdtempSync(join(tmpdir(), 'van-exthost-'));
    const kubeconfig = join(dir, 'config');
    const contexts: KubeconfigContext[] = [
      { name: 'alpha', cluster: 'public', namespace: a },
      { name: 'beta', cluster: 'private', namespace: b },
      { name: 'dead', cluster: { server: 'https://127.0.0.1:1' } },
    ];
    seed.writeKubeconfig(kubeconfig, contexts);
    // the same kubeconfig plus a live context "gamma": the suite writes it over KUBECONFIG and back
    const withGamma = join(dir, 'config-gamma');
    seed.writeKubeconfig(withGamma, [...contexts, { name: 'gamma', cluster: 'east' }]);
    const entry = join(dir, 'suite.js');
    await esbuild.build({
      entryPoints: [join(ROOT, 'test/ui/exthost/suite.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      external: ['vscode'],
      outfile: entry,
      logLevel: 'warning',
    });
    const resultFile = join(dir, 'results.jsonl');
    server = await startCodeServer({ kubeconfig, env: { VAN_EXTHOST_RESULT: resultFile, VAN_EXTHOST_GAMMA: withGamma } });
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    try {
      const ctx = await browser.newContext();
      await ctx.route(/^(https?|wss?):\/\//, (r) => (new URL(r.request().url()).hostname === '127.0.0.1' ? r.continue() : r.abort()));
      const page = await ctx.newPage();
      let done!: (code: unknown) => void;
      const exited = new Promise((r) => (done = r));
      await page.exposeFunction('codeAutomationExit', (code: unknown) => done(code));
      await page.exposeFunction('codeAutomationLog', () => undefined);
      const payload = [
        ['extensionDevelopmentPath', `vscode-remote://remote${ROOT}`],
        ['extensionTestsPath', `vscode-remote://remote${entry}`],
      ];
      await page.goto(
        `http://127.0.0.1:${server.port}/?folder=${encodeURIComponent(server.workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`,
      );
      let timer: NodeJS.Timeout | undefined;
      exitCode = await Promise.race([exited, new Promise((r) => (timer = setTimeout(() => r('timeout'), 120_000)))]);
      clearTimeout(timer);
    } finally {
      await browser.close();
    }
    if (existsSync(resultFile))
      results = readFileSync(resultFile, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
  });

  after(async () => {
    await server?.stop();
    await seed?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the run ends with exit code 0', () => {
    assert.equal(exitCode, 0, JSON.stringify(results.filter((r) => !r.ok)));
  });
  for (const name of [
    'activates quickly and registers every declared command',
    'reads every context: live ones ok, the dead one as an error within seconds',
    'follows kubeconfig edits (the file is watched)',
    'the topology panel opens and reports its render',
    'a failing command reports one line and does not throw',
  ]) {
    it(`in the extension host: ${name}`, () => {
      const r = results.find((x) => x.name === name);
      assert.ok(r, 'ran');
      assert.ok(r.ok, r.error);
    });
  }
});
