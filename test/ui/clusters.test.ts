// The Skupper container appears in the activity bar; Clusters lists every kubeconfig context at once,
// dead ones with their error as a child node within seconds; Links/Services and the status bar follow.
// 20 contexts: 15 on the real API servers of the test control plane (test/cluster/controlplane.ts; sites
// seeded as real objects by seed.ts, read through a ServiceAccount scoped to this run's namespaces) and
// 5 unreachable ones (4 refuse the connection, 1 accepts and never answers: the per-context timeout).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLUSTERS, Seed, type KubeconfigContext } from './seed';
import {
  S,
  openSkupper,
  palette,
  quickPick,
  setPaneExpanded,
  openWorkbench,
  startCodeServer,
  uiUnavailable,
  viewRow,
  webview,
  type Server,
  type Workbench,
} from './harness';

const skip = uiUnavailable();

describe('Clusters view (20 contexts, 5 unreachable)', { skip, timeout: 240_000 }, () => {
  let seed: Seed;
  let dir: string;
  let server: Server;
  let wb: Workbench;
  const figures: Record<string, number> = {};

  before(async () => {
    seed = await new Seed().init();
    dir = mkdtempSync(join(tmpdir(), 'van-ui-kc-'));
    const pubNs = await seed.namespace('public', `${seed.run}-public`);
    const privNs = await seed.namespace('private', `${seed.run}-private`);
    const publicId = await seed.site('public', pubNs, 'public');
    const privateId = await seed.site('private', privNs, 'private');
    await seed.siteState('public', pubNs, { services: [{ address: 'backend', port: 9090, origin: privateId }] });
    await seed.siteState('private', privNs, {
      links: [{ name: 'link-to-public', remote: 'public', remoteId: publicId, state: 'up', cost: 1 }],
      services: [{ address: 'backend', port: 9090, target: 'backend' }],
    });
    const contexts: KubeconfigContext[] = [
      { name: 'public', cluster: 'public', namespace: pubNs },
      { name: 'private', cluster: 'private', namespace: privNs },
    ];
    // 13 more live contexts spread over the three API servers (their own namespace: no site)
    for (let i = 3; i <= 15; i++) contexts.push({ name: `cluster-${String(i).padStart(2, '0')}`, cluster: CLUSTERS[i % 3]! });
    for (let i = 1; i <= 4; i++) contexts.push({ name: `dead-${i}`, cluster: { server: 'https://127.0.0.1:1' } });
    contexts.push({ name: 'dead-5', cluster: { server: await seed.hangingServer() } });
    const kubeconfig = join(dir, 'config');
    seed.writeKubeconfig(kubeconfig, contexts, 'public');
    writeFileSync(join(dir, 'README'), 'kubeconfig for the UI test');
    server = await startCodeServer({ kubeconfig });
    wb = await openWorkbench(server, { height: 1700 });
  });

  after(async () => {
    await wb?.close();
    await server?.stop();
    await seed?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (Object.keys(figures).length) console.log('FIGURES ' + JSON.stringify(figures));
  });

  it('shows the Skupper container and every context, dead ones with their error', async () => {
    const { page } = wb;
    await page.locator(S.activityItem('Skupper')).waitFor({ timeout: 60_000 });
    await wb.shot('01-activity-bar');
    const t0 = Date.now();
    await openSkupper(page);
    await viewRow(page, 'Clusters', 'public', 1).waitFor({ timeout: 30_000 });
    // give Clusters the whole side bar so all 20 contexts are in the (virtualised) list
    await setPaneExpanded(page, 'Links', false);
    await setPaneExpanded(page, 'Services', false);
    // everything settled: every dead context shows "unreachable", every live one its site count
    // (a string: tsx would wrap a function with helpers the page does not have)
    await page
      .waitForFunction(
        `(() => {
        const rows = [...document.querySelectorAll('.part.sidebar .monaco-list-row[role="treeitem"][aria-level="1"]')];
        const desc = (label) => rows.find((r) => r.querySelector('.label-name')?.textContent === label)?.querySelector('.label-description')?.textContent ?? '';
        const dead = [1, 2, 3, 4, 5].every((i) => desc('dead-' + i).includes('unreachable'));
        return dead && /site/.test(desc('public')) && /site/.test(desc('cluster-15'));
      })()`,
        undefined,
        { timeout: 30_000, polling: 50 },
      )
      .catch(async (e) => {
        await wb.shot('FAILED-02-clusters-20-contexts');
        throw e;
      });
    figures.render20ContextsMs = Date.now() - t0;
    await wb.shot('02-clusters-20-contexts');
    for (const name of ['public', 'private', 'cluster-03', 'cluster-15', 'dead-1', 'dead-5']) {
      assert.equal(await viewRow(page, 'Clusters', name, 1).count(), 1, `row ${name}`);
    }
    const errors = viewRow(page, 'Clusters', /connection refused/);
    assert.ok((await errors.count()) >= 1, 'error child nodes');
    assert.equal(await viewRow(page, 'Clusters', /no answer within/).count(), 1, 'the hanging server times out');
    assert.ok(figures.render20ContextsMs < 15_000, `rendered in ${figures.render20ContextsMs} ms`);
    // the extension's own figures, from its output channel's log file
    const log = findLog(server.dir);
    assert.ok(log, 'Skupper log file');
    const text = readFileSync(log!, 'utf8');
    figures.activateMs = Number(/activated in (\d+) ms/.exec(text)?.[1]);
    figures.read20ContextsMs = Number(/read 20 contexts in (\d+) ms/.exec(text)?.[1]);
    assert.ok(figures.activateMs < 500, `activate took ${figures.activateMs} ms`);
    // every context is read on its own: the live ones and the refused ones answer long before the
    // hanging one (dead-5) gives up after the per-context timeout (5 s)
    const reads = new Map(
      [...text.matchAll(/read (\S+): (ok|error)(?: \((.*)\))? in (\d+) ms/g)].map((m) => [
        m[1]!,
        { phase: m[2]!, error: m[3], ms: Number(m[4]) },
      ]),
    );
    const live = ['public', 'private', ...Array.from({ length: 13 }, (_, i) => `cluster-${String(i + 3).padStart(2, '0')}`)];
    for (const name of live) assert.equal(reads.get(name)?.phase, 'ok', `${name}: ${JSON.stringify(reads.get(name))}`);
    for (let i = 1; i <= 4; i++) assert.match(reads.get(`dead-${i}`)?.error ?? '', /connection refused/);
    assert.match(reads.get('dead-5')?.error ?? '', /no answer within 5 s/);
    figures.slowestLiveContextReadMs = Math.max(...live.map((n) => reads.get(n)!.ms));
    figures.hangingContextTimeoutMs = reads.get('dead-5')!.ms;
    assert.ok(figures.slowestLiveContextReadMs < 3000, `a live context took ${figures.slowestLiveContextReadMs} ms`);
  });

  it('shows the site with its link and service, the network-wide Links and Services, and the status bar', async () => {
    const { page } = wb;
    await setPaneExpanded(page, 'Links', true);
    await setPaneExpanded(page, 'Services', true);
    await viewRow(page, 'Clusters', 'link-to-public').first().waitFor({ timeout: 15_000 });
    const desc = await viewRow(page, 'Clusters', 'link-to-public').first().locator('.label-description').innerText();
    assert.match(desc, /up · → public · cost 1/);
    await viewRow(page, 'Links', 'private → public').waitFor({ timeout: 15_000 });
    await viewRow(page, 'Services', 'backend').waitFor({ timeout: 15_000 });
    const svc = await viewRow(page, 'Services', 'backend').locator('.label-description').innerText();
    assert.match(svc, /exposed in private/);
    const status = page.locator(S.statusItem('vscode-skupper.vscode-skupper.skupper.status'));
    const statusText = await page
      .locator('.statusbar-item')
      .filter({ hasText: /sites · / })
      .first()
      .innerText();
    assert.match(statusText, /2 sites · 1\/1 links/);
    void status;
    await wb.shot('03-site-links-services');
  });

  it('tree context menus offer the right actions per node, matched by context value', async () => {
    const { page } = wb;
    const labels = async (row: import('playwright-core').Locator) => {
      await row.click({ button: 'right' });
      await page.locator(S.contextMenu).waitFor();
      const items = (await page.locator('.context-view .monaco-menu .action-label').allInnerTexts()).map((t) => t.trim()).filter(Boolean);
      await page.keyboard.press('Escape');
      return items;
    };
    const site = await labels(viewRow(page, 'Clusters', 'private', 3));
    for (const item of ['Site Status', 'Create Token', 'Create Link', 'Expose', 'Show Events', 'Revoke Access', 'Delete Site'])
      assert.ok(site.includes(item), `site menu has ${item}: ${site.join(', ')}`);
    assert.ok(!site.includes('Delete Link'));
    await viewRow(page, 'Clusters', 'private', 3).click({ button: 'right' });
    await page.locator(S.contextMenu).waitFor();
    await wb.shot('03a-site-context-menu');
    await page.keyboard.press('Escape');
    const link = await labels(viewRow(page, 'Clusters', 'link-to-public'));
    // the Services view: expand the service to reach the sites under it
    await viewRow(page, 'Services', 'backend').click();
    await page.keyboard.press('ArrowRight');
    assert.deepEqual(link, ['Delete Link']);
    const svc = await labels(viewRow(page, 'Services', 'private', 2));
    assert.ok(svc.includes('Unexpose') && svc.includes('Reveal in Clusters'), svc.join(', '));
    await setPaneExpanded(page, 'Services', false);
    await setPaneExpanded(page, 'Links', false);
    // a context without a site stays folded: open one to reach its (own) namespace
    await viewRow(page, 'Clusters', 'cluster-03', 1).click();
    await page.keyboard.press('ArrowRight');
    const empty = viewRow(page, 'Clusters', seed.home(), 2).first();
    await empty.waitFor({ timeout: 15_000 });
    const ns = await labels(empty);
    assert.ok(ns.includes('Initialize Site'), ns.join(', '));
    await setPaneExpanded(page, 'Links', true);
    await setPaneExpanded(page, 'Services', true);
  });

  it('an action that fails shows the one-line reason with a "Show log" button', async () => {
    const { page } = wb;
    await palette(page, 'Skupper: Site Status');
    await quickPick(page, /^dead-3$/, { filter: 'dead-3' });
    const toast = page
      .locator(S.toastDone)
      .filter({ hasText: /no site in dead-3/ })
      .first();
    await toast.waitFor({ timeout: 15_000 });
    assert.match(await toast.innerText(), /Skupper: no site in dead-3: initialize one first/);
    await wb.shot('03b-error-show-log');
    await toast.getByRole('button', { name: 'Show log' }).click();
    await page
      .locator('.part.panel .view-line')
      .filter({ hasText: /status\sfailed:\sno\ssite\sin\sdead-3/ })
      .first()
      .waitFor({ timeout: 15_000 });
    await wb.shot('03c-output-channel');
  });

  it('opens the topology from the status bar: two sites, one live link', async () => {
    const { page } = wb;
    const t0 = Date.now();
    await page
      .locator('.statusbar-item')
      .filter({ hasText: /sites · / })
      .first()
      .click();
    const frame = webview(page);
    await frame.locator('body[data-sites="2"]').waitFor({ timeout: 30_000 });
    figures.topologyOpenMs = Date.now() - t0;
    const summary = await frame.locator('#summary').innerText();
    assert.match(summary, /2 sites · 1\/1 links up · 1 services/);
    await page.waitForTimeout(500);
    await wb.shot('04-topology');
    assert.deepEqual(
      wb.blocked.filter((u) => !/vsda|marketplace|gallery/.test(u)),
      [],
      'only loopback requests',
    );
  });
});

function findLog(dir: string): string | undefined {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      const found = findLog(p);
      if (found) return found;
    } else if (name === 'Skupper.log') return p;
  }
  return undefined;
}
