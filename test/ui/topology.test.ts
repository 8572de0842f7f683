// The topology at 50 sites: render time, readable grouped layout, click reveals the site in Clusters,
// and the panel comes back after a window reload (serializer) with the positions it had.
// The 50 sites are real objects on the real API servers of the test control plane (seed.ts): one
// namespace per site, spread over the three clusters, each read through its own kubeconfig context
// (a ServiceAccount scoped to this run's namespaces, so other runs' sites never show up).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLUSTERS, Seed, type KubeconfigContext, type SeedLink } from './seed';
import {
  S,
  openSkupper,
  openWorkbench,
  palette,
  startCodeServer,
  uiUnavailable,
  viewRow,
  webview,
  type Server,
  type Workbench,
} from './harness';

const skip = uiUnavailable();
const SITES = 50;

describe('topology at 50 sites', { skip, timeout: 240_000 }, () => {
  let seed: Seed;
  let dir: string;
  let server: Server;
  let wb: Workbench;
  const figures: Record<string, number> = {};

  before(async () => {
    const t0 = Date.now();
    seed = await new Seed().init();
    const name = (n: number) => `s${String(n).padStart(2, '0')}`;
    const sites = Array.from({ length: SITES }, (_, n) => ({
      n,
      name: name(n),
      cluster: CLUSTERS[n % 3]!,
      ns: `${seed.run}-${name(n)}`,
      id: '',
    }));
    await Promise.all(sites.map((s) => seed.namespace(s.cluster, s.ns)));
    await Promise.all(sites.map(async (s) => (s.id = await seed.site(s.cluster, s.ns, s.name))));
    await Promise.all(
      sites.map(async (s) => {
        const n = s.n;
        // a chain across all sites plus a few cross links; every 7th link down
        const links: SeedLink[] =
          n > 0
            ? [
                {
                  name: `to-${n - 1}`,
                  remote: name(n - 1),
                  remoteId: sites[n - 1]!.id,
                  state: n % 7 === 0 ? 'down' : 'up',
                  cost: 1 + (n % 3),
                },
              ]
            : [];
        if (n % 10 === 5) links.push({ name: `x-${n}`, remote: 's00', remoteId: sites[0]!.id, state: 'connecting', cost: 5 });
        await seed.siteState(s.cluster, s.ns, {
          links,
          services: n % 4 === 0 ? [{ address: `svc-${n}`, port: 8080, target: `app-${n}` }] : [],
        });
      }),
    );
    figures.seed50SitesMs = Date.now() - t0;
    const contexts: KubeconfigContext[] = sites.map((s) => ({ name: `${s.cluster}-${s.name}`, cluster: s.cluster, namespace: s.ns }));
    dir = mkdtempSync(join(tmpdir(), 'van-ui-topo-'));
    const kubeconfig = join(dir, 'config');
    seed.writeKubeconfig(kubeconfig, contexts);
    server = await startCodeServer({ kubeconfig });
    wb = await openWorkbench(server, { width: 1600, height: 1000 });
  });

  after(async () => {
    await wb?.close();
    await server?.stop();
    await seed?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
    console.log('FIGURES ' + JSON.stringify(figures));
  });

  it('renders 50 sites grouped by context, with link states', async () => {
    const { page } = wb;
    await openSkupper(page);
    await page
      .locator('.statusbar-item')
      .filter({ hasText: /50 sites/ })
      .first()
      .waitFor({ timeout: 30_000 });
    const t0 = Date.now();
    await palette(page, 'Skupper: Show Topology');
    const frame = webview(page);
    await frame.locator('body[data-sites="50"]').waitFor({ timeout: 30_000 });
    figures.topologyOpenTo50SitesMs = Date.now() - t0;
    figures.topologyRender50SitesMs = Number(await frame.locator('body').getAttribute('data-render-ms'));
    assert.match(await frame.locator('#summary').innerText(), /50 sites · 42\/54 links up · 13 services/);
    assert.ok(figures.topologyRender50SitesMs < 3000, `render took ${figures.topologyRender50SitesMs} ms`);
    await page.waitForTimeout(500);
    await wb.shot('05-topology-50-sites');
  });

  it('clicking a site reveals it in the Clusters view', async () => {
    const { page } = wb;
    const frame = page.frames().find((f) => f.url().includes('index.html') && f.parentFrame()?.parentFrame());
    const inner = await findCyFrame(page);
    assert.ok(inner ?? frame, 'webview frame');
    const pos = (await inner!.evaluate(
      `(() => { const n = window.__cy.nodes('[label = "s23"]')[0]; const p = n.renderedPosition(); const r = document.getElementById('cy').getBoundingClientRect(); return { x: p.x + r.left, y: p.y + r.top }; })()`,
    )) as { x: number; y: number };
    const box = await page.frameLocator(S.webviewOuter).locator(S.webviewInner).boundingBox();
    await page.mouse.click(box!.x + pos.x, box!.y + pos.y);
    await viewRow(page, 'Clusters', 's23', 3).and(page.locator('.selected')).waitFor({ timeout: 15_000 });
    assert.match(await webview(page).locator('#details').innerText(), /Site s23/);
    await wb.shot('06-topology-click-reveals');
  });

  it('comes back after a window reload (serializer), positions kept', async () => {
    const { page } = wb;
    // drag s07 somewhere else first: the new position must survive the reload
    const cyFrame = (await findCyFrame(page))!;
    const start = (await cyFrame.evaluate(
      `(() => { const n = window.__cy.nodes('[label = "s07"]')[0]; const p = n.renderedPosition(); const r = document.getElementById('cy').getBoundingClientRect(); return { x: p.x + r.left, y: p.y + r.top, model: n.position() }; })()`,
    )) as { x: number; y: number; model: { x: number; y: number } };
    const box = (await page.frameLocator(S.webviewOuter).locator(S.webviewInner).boundingBox())!;
    await page.mouse.move(box.x + start.x, box.y + start.y);
    await page.mouse.down();
    for (let i = 1; i <= 10; i++) await page.mouse.move(box.x + start.x + i * 8, box.y + start.y + i * 5);
    await page.mouse.up();
    const before = await cyFrame.evaluate(`JSON.stringify(window.__cy.nodes('[label = "s07"]')[0].position())`);
    assert.notEqual(before, JSON.stringify(start.model), 'the drag moved the site');
    // as a person does: Developer: Reload Window (a proper shutdown that saves the open editors)
    await palette(page, 'Developer: Reload Window');
    await page.waitForEvent('load', { timeout: 30_000 });
    await page.locator(S.workbench).waitFor();
    const frame = webview(page);
    try {
      await frame.locator('body[data-sites="50"]').waitFor({ timeout: 60_000 });
    } catch (e) {
      await wb.shot('FAILED-topology-reload');
      throw e;
    }
    await wb.shot('07-topology-after-reload');
    const afterPos = await (await findCyFrame(page))!.evaluate(`JSON.stringify(window.__cy.nodes('[label = "s07"]')[0].position())`);
    assert.equal(afterPos, before);
  });
});

async function findCyFrame(page: import('playwright-core').Page) {
  for (const f of page.frames()) {
    if (await f.$('#cy').catch(() => null)) return f;
  }
  return undefined;
}
