// Traffic walked as a person, on real routers: two laptop sites on this machine (hub accepts links, edge
// links to it), an echo server here exposed from hub and forwarded by edge to a local port. A load runs
// through edge's port. In VS Code: open the topology, see the traffic edge edge → hub and its label change
// while the load runs, filter it by service, click it and find the flows in the traffic panel; the Services
// view shows the service's rate and active connections. Screenshots: test-output/ui/traffic-*.png.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import type { Frame, Page } from 'playwright-core';
import { createLink, waitForLink } from '../../src/core/link/link';
import { LocalLinkSite } from '../../src/core/link/localSite';
import { initLocalSite, localSiteDir, startLocalSite, stopLocalSite } from '../../src/core/site/local';
import { createToken } from '../../src/core/token/issue';
import { tokenYaml } from '../../src/core/token/token';
import { freePort } from '../net';
import {
  ROOT,
  S,
  openSkupper,
  openWorkbench,
  palette,
  paletteThenPick,
  setPaneExpanded,
  startCodeServer,
  uiUnavailable,
  viewRow,
  walk,
  type Server,
  type Workbench,
} from './harness';

const skip = uiUnavailable();

/** Polls `read` until `ok` (webviews forbid eval: no waitForFunction there). */
async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await read().catch(() => undefined as T);
    if (v !== undefined && ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out: ${what} (last: ${JSON.stringify(v)})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function frameWith(page: Page, selector: string, timeoutMs = 30_000): Promise<Frame> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    for (const f of page.frames()) if (await f.$(selector).catch(() => null)) return f;
    if (Date.now() > until) throw new Error(`no webview shows ${selector}`);
    await page.waitForTimeout(250);
  }
}

const edges = async (frame: Frame) => String((await frame.getAttribute('body', 'data-traffic-edges')) ?? '');

describe('Traffic in the views: topology edges, the Services view, the traffic panel', { skip, timeout: 300_000 }, () => {
  let home: string;
  let server: Server;
  let wb: Workbench;
  let echo: NetServer;
  let forwardPort = 0;
  let load: Socket | undefined;
  let loadTimer: NodeJS.Timeout | undefined;
  let sentByLoad = 0;
  const figures: Record<string, number> = {};
  const { step, shot } = walk('traffic', () => wb);
  const van = (...args: string[]) => {
    const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli.js'), ...args], {
      env: { ...process.env, VAN_LOCAL_HOME: home },
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, `van ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'van-ui-traffic-'));
    process.env.VAN_LOCAL_HOME = join(home, 'sites');
    home = process.env.VAN_LOCAL_HOME;
    echo = createServer((s) => {
      s.on('error', () => undefined);
      s.pipe(s);
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    const echoPort = (echo.address() as { port: number }).port;
    await initLocalSite({ siteName: 'hub', ingress: 'loadbalancer' });
    await initLocalSite({ siteName: 'edge', ingress: 'none' });
    await startLocalSite(localSiteDir('hub'), { timeoutMs: 60_000 });
    await startLocalSite(localSiteDir('edge'), { timeoutMs: 60_000 });
    const hub = new LocalLinkSite(localSiteDir('hub'));
    const edge = new LocalLinkSite(localSiteDir('edge'));
    const token = await createToken(hub, { type: 'claim', expiryMs: 15 * 60_000, uses: 1 });
    const link = await createLink(edge, tokenYaml(token.secret), { source: 'traffic ui test' });
    const up = await waitForLink(edge, link.name, 30_000);
    assert.ok(up.connected, `link up: ${up.error ?? ''}`);
    van('expose', 'host/127.0.0.1', '--address', 'echo', '--port', String(echoPort), '--site-name', 'hub');
    forwardPort = await freePort();
    van('forward', 'echo', String(forwardPort), '--site-name', 'edge');
    // The forward answers once edge learned the service from hub.
    const until = Date.now() + 60_000;
    for (;;) {
      const ok = await new Promise<boolean>((resolve) => {
        const s = connect({ host: '127.0.0.1', port: forwardPort }, () => s.end('ping\n'));
        let got = '';
        s.on('data', (d) => (got += d));
        s.on('close', () => resolve(got === 'ping\n'));
        s.on('error', () => resolve(false));
      });
      if (ok) break;
      assert.ok(Date.now() < until, 'the forwarded echo answers');
      await new Promise((r) => setTimeout(r, 500));
    }
    const kubeconfig = join(home, '..', 'no-kubeconfig.yaml');
    writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n');
    server = await startCodeServer({ kubeconfig, env: { VAN_LOCAL_HOME: home } });
    wb = await openWorkbench(server, { width: 1500, height: 950 });
  });

  after(async () => {
    clearInterval(loadTimer);
    load?.destroy();
    await wb?.close();
    await server?.stop();
    for (const name of ['edge', 'hub']) await stopLocalSite(localSiteDir(name)).catch(() => undefined);
    await new Promise((r) => echo?.close(r));
    if (home) rmSync(join(home, '..'), { recursive: true, force: true });
    console.log('FIGURES ' + JSON.stringify(figures));
  });

  step('opens the topology and sees the traffic edge edge → hub', async () => {
    const { page } = wb;
    await openSkupper(page);
    // The readiness pings of the forward were flows already: the edge appears once edge published them.
    await palette(page, 'Skupper: Show Topology');
    const frame = await frameWith(page, '#cy');
    await frame.waitForSelector('body[data-sites="2"]', { timeout: 60_000 });
    await until(
      'a traffic edge edge>hub',
      () => edges(frame),
      (e) => /edge>hub: /.test(e),
      60_000,
    );
    await shot('topology-edge');
  });

  step('the edge label changes while a load runs', async () => {
    const { page } = wb;
    const frame = await frameWith(page, '#cy');
    const before = await edges(frame);
    load = connect({ host: '127.0.0.1', port: forwardPort });
    load.on('data', () => undefined);
    load.on('error', () => undefined);
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const t0 = Date.now();
    // ~1.3 MB/s through the two routers, for as long as the step needs.
    loadTimer = setInterval(() => {
      for (let i = 0; i < 2; i++) {
        load!.write(chunk);
        sentByLoad += chunk.length;
      }
    }, 100);
    await until(
      'the edge label changes under load',
      () => edges(frame),
      (now) => now !== before && /edge>hub: [\d.]+ (kB|MB)\/s · 1 conn/.test(now),
      60_000,
    );
    figures.loadStartToEdgeLabelMs = Date.now() - t0;
    const label = await edges(frame);
    assert.notEqual(label, before);
    await page.waitForTimeout(300);
    await shot('topology-edge-under-load');
    // The service filter: echo keeps its edge.
    await frame.selectOption('#service', 'echo');
    await until(
      'the echo edge, filtered',
      () => edges(frame),
      (e) => /edge>hub: /.test(e),
      15_000,
    );
  });

  step('the Services view shows the rate and the active connection', async () => {
    const { page } = wb;
    await setPaneExpanded(page, 'Services', true);
    const row = viewRow(page, 'Services', 'echo');
    await row.waitFor({ timeout: 30_000 });
    await until(
      'echo with a rate and one active connection',
      () => row.innerText(),
      (t) => /(kB|MB)\/s · 1 active/.test(t),
      30_000,
    );
    await shot('services-view-rate');
  });

  step('a click on the edge opens the traffic panel, and the flow is there', async () => {
    const { page } = wb;
    const frame = await frameWith(page, '#cy');
    const pos = (await frame.evaluate(
      `(() => { const e = window.__cy.edges('[kind = "traffic"]')[0]; const p = e.renderedMidpoint(); const r = document.getElementById('cy').getBoundingClientRect(); return { x: p.x + r.left, y: p.y + r.top }; })()`,
    )) as { x: number; y: number };
    const outer = page.locator(S.webviewOuter).first();
    const box = await page.frameLocator(S.webviewOuter).first().locator(S.webviewInner).boundingBox();
    assert.ok(box && (await outer.isVisible()));
    await page.mouse.click(box.x + pos.x, box.y + pos.y);
    const panel = await frameWith(page, 'table#flows', 30_000);
    assert.match(await panel.innerText('h1'), /Traffic: edge → hub/);
    // The open load flow, seen at edge (the listener side): going to hub, still open.
    await panel.waitForSelector('tr.end-open', { timeout: 30_000 });
    const rows = (await panel.evaluate(
      `[...document.querySelectorAll('table#flows tbody tr')].map((tr) => tr.innerText.replace(/\\s+/g, ' '))`,
    )) as string[];
    assert.ok(
      rows.some((r) => /echo edge hub .*open/.test(r)),
      `the load's flow: ${rows.join(' | ')}`,
    );
    assert.ok(
      rows.some((r) => /echo edge hub .*closed/.test(r)),
      `an earlier flow that ended: ${rows.join(' | ')}`,
    );
    assert.match(await panel.innerText('#why'), /edge → hub/);
    await page.waitForTimeout(300);
    await shot('traffic-panel');
  });

  step('Show Traffic from the palette picks a service', async () => {
    const { page } = wb;
    await paletteThenPick(page, 'Skupper: Show Traffic', 'echo');
    // The panel is reused: its page is written again for the new selection, so the frame is looked up
    // on each poll (a frame found before the rewrite is detached).
    await until(
      'the panel shows echo',
      async () => (await frameWith(page, 'table#flows', 5_000)).innerText('h1'),
      (t) => /Traffic: echo/.test(t),
      30_000,
    );
    figures.loadBytesSent = sentByLoad;
    await shot('traffic-panel-service');
  });
});
