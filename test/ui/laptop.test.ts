// A laptop site walked as a person, on the real control plane: `public` runs tcp-go-echo, exposed (seeded
// with the core as `van` would). In VS Code: start a laptop site from the tree, link it to public with a
// token file, forward tcp-go-echo to a local port from its node (and get the echo on that port), expose a
// port of this machine from the laptop site's node (and reach it from public), see the laptop's events,
// stop forwarding. Screenshots: test-output/ui/laptop-*.png.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import type { Locator } from 'playwright-core';
import { parse, stringify } from 'yaml';
import { KubeClient } from '../../src/core/kube/client';
import { KubeLinkSite } from '../../src/core/link/kubeSite';
import { expose } from '../../src/core/service/expose';
import { deleteLocalSite, listLocalSites, localSiteDir } from '../../src/core/site/local';
import { initSite } from '../../src/core/site/kube';
import { createToken } from '../../src/core/token/issue';
import { tokenYaml } from '../../src/core/token/token';
import { ensureControlPlane } from '../cluster/controlplane';
import { createNamespace, deleteNamespace, eventually, tcpExchange, uniqueName } from '../cluster/helpers';
import { Kube } from '../cluster/kube';
import { freePort, refused } from '../net';
import {
  S,
  clearToasts,
  fileDialog,
  openSkupper,
  openWorkbench,
  quickInput,
  quickPick,
  setPaneExpanded,
  startCodeServer,
  uiUnavailable,
  viewRow,
  waitToast,
  type Server,
  type Workbench,
  walk,
} from './harness';

const skip = uiUnavailable() ?? (process.env.VAN_UI_SKIP_CLUSTER ? 'VAN_UI_SKIP_CLUSTER set' : undefined);
const CONTEXT = 'public';
const LAPTOP = 'laptop';

const echoDeployment = (ns: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'tcp-go-echo', namespace: ns, labels: { application: 'tcp-go-echo' } },
  spec: {
    replicas: 1,
    selector: { matchLabels: { application: 'tcp-go-echo' } },
    template: {
      metadata: { labels: { application: 'tcp-go-echo' } },
      spec: {
        containers: [
          {
            name: 'tcp-go-echo',
            image: 'quay.io/skupper/tcp-go-echo',
            ports: [{ containerPort: 9090 }],
            readinessProbe: { tcpSocket: { port: 9090 }, periodSeconds: 1 },
          },
        ],
      },
    },
  },
});

describe('Laptop site: start, link, forward a service to a local port, expose a local port', { skip, timeout: 420_000 }, () => {
  let server: Server;
  let wb: Workbench;
  let kube: Kube;
  let client: KubeClient;
  let ns: string;
  let home: string;
  let db: NetServer;
  let dbPort = 0;
  let forwardPort = 0;
  const { step, shot } = walk('laptop', () => wb);

  before(async () => {
    const cp = await ensureControlPlane({ clusters: [CONTEXT] });
    ns = uniqueName('0ui-lap');
    kube = new Kube(cp.kubeconfigPath, CONTEXT);
    await createNamespace(kube, ns);
    // public: a site with the echo exposed, made with the core as `van init` / `van expose` would
    client = KubeClient.forContext({ kubeconfig: cp.kubeconfigPath, context: CONTEXT, namespace: ns, timeoutMs: 20_000 });
    const r = await kube.post(`/apis/apps/v1/namespaces/${ns}/deployments`, echoDeployment(ns));
    assert.equal(r.status, 201, r.text);
    await initSite(client, { namespace: ns, siteName: ns });
    await expose(client, { kind: 'deployment', name: 'tcp-go-echo', ports: [9090] });
    // a program on this machine that the laptop will expose: answers each line upper-cased
    db = createServer((s) => s.on('data', (d) => s.write(`laptop-db : ${d.toString().trim().toUpperCase()}\n`)));
    await new Promise<void>((res) => db.listen(0, '127.0.0.1', () => res()));
    dbPort = (db.address() as { port: number }).port;
    // the person's kubeconfig: the public context, using the test namespace
    const kc = parse(readFileSync(cp.kubeconfigPath, 'utf8'));
    kc.contexts = kc.contexts.filter((c: any) => c.name === CONTEXT);
    kc.contexts[0].context.namespace = ns;
    kc['current-context'] = CONTEXT;
    const kubeconfig = join(mkdtempSync(join(tmpdir(), 'van-ui-laptop-')), 'kubeconfig');
    writeFileSync(kubeconfig, stringify(kc));
    home = mkdtempSync(join(tmpdir(), 'van-ui-laptop-home-'));
    server = await startCodeServer({ kubeconfig, env: { VAN_LOCAL_HOME: home } });
    // the token public's admin sends to the laptop's owner
    const token = await createToken(new KubeLinkSite(client), { type: 'claim', expiryMs: 15 * 60_000, uses: 1 });
    writeFileSync(join(server.workspace, 'public-token.yaml'), tokenYaml(token.secret));
    wb = await openWorkbench(server, { height: 1100 });
  });

  after(async () => {
    await wb?.close();
    await server?.stop();
    // the laptop router is a detached process: stop it and remove its folder
    const env = { ...process.env, VAN_LOCAL_HOME: home };
    if (home) for (const name of listLocalSites(env)) await deleteLocalSite(localSiteDir(name, env)).catch(() => undefined);
    if (home) rmSync(home, { recursive: true, force: true });
    db?.close();
    if (kube && ns) await deleteNamespace(kube, ns).catch(() => undefined);
  });

  // levels under "This machine" (1): the laptop site 2, its folders 3, their rows 4
  const row = (label: string | RegExp, level: number, description?: RegExp): Locator => {
    const r = viewRow(wb.page, 'Clusters', label, level);
    return description ? r.filter({ has: wb.page.locator('.label-description', { hasText: description }) }) : r;
  };

  // right-click → item. The menu ignores a click right after it opens, and a tree refresh can move the
  // row under the pointer: check the menu has the item, let it settle, click, see it close. A refresh
  // at the moment of the click can also leave the command without its tree element (it then asks, as
  // from the palette): `expected` says what the right command shows first; on anything else, Escape and again.
  const quickText = async () => {
    const w = wb.page.locator('.quick-input-widget');
    return (await w.isVisible()) ? (await w.innerText()).replace(/\u00a0/g, ' ') : '';
  };
  const menu = async (what: string, target: () => Locator, item: string, expected: () => Promise<boolean>) => {
    const { page } = wb;
    await eventually(`${item} on ${what}`, 60_000, async () => {
      try {
        await target().first().click({ button: 'right', timeout: 3000 });
        await page.locator(S.contextMenu).waitFor({ timeout: 3000 });
        if ((await page.getByRole('menuitem', { name: item, exact: true }).count()) === 0) throw new Error(`no ${item}`);
        await page.waitForTimeout(400);
        await page.getByRole('menuitem', { name: item, exact: true }).first().click();
        await page.locator(S.contextMenu).waitFor({ state: 'hidden', timeout: 5000 });
      } catch {
        await page.keyboard.press('Escape');
        return undefined;
      }
      for (let i = 0; i < 20; i++) {
        if (await expected()) return true;
        await page.waitForTimeout(250);
      }
      console.log(`# ${item} on ${what}: not what was expected (quick input: ${JSON.stringify((await quickText()).slice(0, 120))}); again`);
      await page.keyboard.press('Escape');
      return undefined;
    });
  };
  const prompt = (re: RegExp) => async () => re.test(await quickText());

  // a row open or closed, by its twistie; again until the tree shows it so (rows re-render)
  const setExpanded = (label: string, open: boolean, level = 1) =>
    eventually(`${label} ${open ? 'open' : 'closed'}`, 30_000, async () => {
      const r = row(label, level);
      if ((await r.getAttribute('aria-expanded', { timeout: 3000 })) === String(open)) return true;
      await r
        .locator('.monaco-tl-twistie')
        .click({ timeout: 3000 })
        .catch(() => undefined);
      await wb.page.waitForTimeout(500);
      return undefined;
    });

  step('1. "This machine" offers to start a laptop site; starting it adds the site to the tree', async () => {
    const { page } = wb;
    await openSkupper(page);
    await setPaneExpanded(page, 'Links', false);
    await setPaneExpanded(page, 'Services', false);
    // a wider side bar, so the rows' descriptions read whole in the screenshots: drag its edge
    const bar = await page.locator('.part.sidebar').boundingBox();
    if (bar) {
      const edge = { x: bar.x + bar.width, y: bar.y + bar.height / 2 };
      await page.mouse.move(edge.x, edge.y);
      await page.mouse.down();
      await page.mouse.move(edge.x + 260, edge.y, { steps: 8 });
      await page.mouse.up();
    }
    // the cluster is not this story's subject: fold it so the laptop's rows stay in view
    await row(CONTEXT, 1).waitFor({ timeout: 60_000 });
    await setExpanded(CONTEXT, false);
    await setExpanded('This machine', true);
    await row('Start a laptop site', 2).click();
    await quickInput(page, LAPTOP);
    const msg = await waitToast(page, /Laptop site laptop (started|is already running)/, 90_000);
    assert.match(msg, /Laptop site laptop started \(pid \d+\)/);
    await row(LAPTOP, 2, /local/).waitFor({ timeout: 30_000 });
    await shot('started');
  });

  step("2. Create Link on the laptop site from public's token file: the link comes up", async () => {
    const { page } = wb;
    await clearToasts(page);
    await menu('the laptop site', () => row(LAPTOP, 2), 'Create Link', prompt(/From a token file/));
    await quickPick(page, /From a token file/);
    await fileDialog(page, join(server.workspace, 'public-token.yaml'));
    await waitToast(page, /Link \S+ created in laptop/, 120_000);
    // the folders were empty (nothing to open) until now
    await setExpanded('Links', true, 3);
    await setExpanded('Services', true, 3);
    await row(/^link\d*$/, 4, /^up · → /).waitFor({ timeout: 60_000 });
    await shot('linked');
  });

  const laptopOpen = async () => {
    await setExpanded(LAPTOP, true, 2);
    await setExpanded('Links', true, 3);
    await setExpanded('Services', true, 3);
  };

  step("3. tcp-go-echo shows under the laptop's Services, not forwarded; Forward to Local Port; the echo answers there", async () => {
    const { page } = wb;
    await clearToasts(page);
    await laptopOpen();
    await row('tcp-go-echo', 4, /not forwarded/).waitFor({ timeout: 60_000 });
    await shot('service-not-forwarded');
    await menu('tcp-go-echo', () => row('tcp-go-echo', 4, /not forwarded/), 'Forward to Local Port…', prompt(/Local port for tcp-go-echo/));
    const box = page.locator(S.quickInputBox);
    await box.waitFor({ state: 'visible', timeout: 30_000 });
    assert.equal(await box.inputValue(), '9090', 'the service port is offered');
    forwardPort = await freePort();
    await quickInput(page, String(forwardPort));
    const msg = await waitToast(page, /is reachable at/, 60_000);
    assert.equal(msg, `tcp-go-echo is reachable at 127.0.0.1:${forwardPort} on this machine`);
    await row('tcp-go-echo', 4, new RegExp(`→ 127\\.0\\.0\\.1:${forwardPort}`)).waitFor({ timeout: 30_000 });
    const answer = await eventually('the echo on the forwarded port', 30_000, () =>
      tcpExchange('127.0.0.1', forwardPort, 'hello from the laptop'),
    );
    assert.match(answer, /^tcp-go-echo-\S+ : HELLO FROM THE LAPTOP$/);
    await shot('forwarded');
  });

  step('4. Expose on the laptop site: a port of this machine becomes a Service in public that reaches it', async () => {
    const { page } = wb;
    await clearToasts(page);
    await laptopOpen();
    await menu('the laptop site', () => row(LAPTOP, 2), 'Expose', prompt(/Port on this machine to expose/));
    await quickInput(page, String(dbPort));
    // the second question replaces the first in the same widget: type only once it is there
    await eventually('the service name question', 10_000, prompt(/Service name for 127\.0\.0\.1:\d+/));
    await quickInput(page, 'laptop-db');
    const msg = await waitToast(page, /exposed as laptop-db/, 60_000);
    assert.equal(msg, `127.0.0.1:${dbPort} exposed as laptop-db (port ${dbPort}) from laptop site laptop`);
    await row('laptop-db', 4, /exposed here \(host\/127\.0\.0\.1\)/).waitFor({ timeout: 30_000 });
    // public made a Service for it, backed by its router: a client there reaches this machine
    const endpoint = await eventually('laptop-db endpoints in public', 60_000, async () => {
      const r = await kube.get(
        `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices?labelSelector=${encodeURIComponent('kubernetes.io/service-name=laptop-db')}`,
      );
      const slice = (r.body.items ?? []).find((s: any) => s.endpoints?.some((e: any) => e.conditions?.ready !== false));
      return slice ? { ip: slice.endpoints[0].addresses[0] as string, port: slice.ports[0].port as number } : undefined;
    });
    assert.equal(
      await eventually('an answer from the laptop through public', 30_000, () => tcpExchange(endpoint.ip, endpoint.port, 'select 1')),
      'laptop-db : SELECT 1',
    );
    await shot('exposed');
  });

  step('5. Show Events on the laptop site lists what happened', async () => {
    const { page } = wb;
    const tab = page
      .locator('.tabs-container .tab')
      .filter({ hasText: /Skupper events in laptop site laptop/ })
      .first();
    await menu(
      'the laptop site',
      () => row(LAPTOP, 2),
      'Show Events',
      () => tab.isVisible(),
    );
    // the editor renders spaces as no-break spaces
    const text = (await page.locator('.monaco-editor .view-lines').first().innerText()).replace(/\u00a0/g, ' ');
    assert.match(text, /^# Skupper events in laptop site laptop$/m);
    assert.match(text, /LinkUp .* link link1 to \S+ is active/);
    assert.match(text, /ServiceAdded .* service tcp-go-echo \(tcp 9090\) from site /);
    await shot('events');
  });

  step('6. Stop Forwarding on tcp-go-echo closes the local port', async () => {
    const { page } = wb;
    await clearToasts(page);
    await laptopOpen();
    await menu(
      'tcp-go-echo',
      () => row('tcp-go-echo', 4, /→ 127\.0\.0\.1/),
      'Stop Forwarding',
      async () =>
        (await page
          .locator(S.toastDone)
          .filter({ hasText: /no longer forwarded/ })
          .count()) > 0,
    );
    await waitToast(page, /tcp-go-echo is no longer forwarded/, 30_000);
    await row('tcp-go-echo', 4, /not forwarded/).waitFor({ timeout: 30_000 });
    await eventually('the forwarded port closed', 30_000, async () => ((await refused('127.0.0.1', forwardPort)) ? true : undefined));
    await shot('unforwarded');
  });
});
