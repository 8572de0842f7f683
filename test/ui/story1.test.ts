// Story 1 as a person does it, using only the UI, on the real control plane, in the tutorial's order
// (shared/seeds/tcp-echo-tutorial.md): the echo server runs in the `public` cluster; initialize `public`
// (it accepts links), set new sites to accept none and initialize `private`, create a token in public
// to a file, create the link in private from it, expose the echo Deployment in public by right-clicking
// its YAML, see the link up and the service in both sites, send a line through private's own
// `tcp-go-echo` Service and get it back from the echo pod in public, open the topology: two sites, one
// live link. A screenshot of each step goes to test-output/ui/story1-*.png.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { parse, stringify } from 'yaml';
import { ensureControlPlane } from '../cluster/controlplane';
import { Kube } from '../cluster/kube';
import { createNamespace, deleteNamespace, eventually, tcpExchange, uniqueName } from '../cluster/helpers';
import { SiteUnderTest } from '../e2e/helpers';
import {
  S,
  clearToasts,
  expandRow,
  fileDialog,
  openFile,
  openSkupper,
  openWorkbench,
  palette,
  quickPick,
  startCodeServer,
  uiUnavailable,
  viewRow,
  waitToast,
  webview,
  type Server,
  type Workbench,
  walk,
} from './harness';

const skip = uiUnavailable() ?? (process.env.VAN_UI_SKIP_CLUSTER ? 'VAN_UI_SKIP_CLUSTER set' : undefined);

const ECHO = (ns: string) => `# The backend of story 1: a TCP echo on port 9090
apiVersion: v1
kind: ConfigMap
metadata:
  name: echo-settings
data:
  greeting: hello
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: tcp-go-echo
  labels:
    application: tcp-go-echo
spec:
  replicas: 1
  selector:
    matchLabels:
      application: tcp-go-echo
  template:
    metadata:
      labels:
        application: tcp-go-echo
    spec:
      containers:
        - name: tcp-go-echo
          image: quay.io/skupper/tcp-go-echo
          ports:
            - containerPort: 9090
# deployed in ${ns}
`;

describe('story 1 in the UI: two clusters, one link, one service', { skip, timeout: 600_000 }, () => {
  let server: Server;
  let wb: Workbench;
  let pubNs: string;
  let privNs: string;
  let kubePub: Kube;
  let kubePriv: Kube;
  // the test's own view of each site through the API (not the UI): ConfigMaps, Services, pods
  let pub: SiteUnderTest;
  let priv: SiteUnderTest;
  const times: Record<string, number> = {};
  // each step depends on the one before: after a failure the rest are skipped, with a screenshot
  const { step, shot } = walk('story1', () => wb);

  before(async () => {
    const cp = await ensureControlPlane({ clusters: ['public', 'private'] });
    pubNs = uniqueName('0ui-pub');
    privNs = uniqueName('0ui-priv');
    kubePub = new Kube(cp.kubeconfigPath, 'public');
    kubePriv = new Kube(cp.kubeconfigPath, 'private');
    await createNamespace(kubePub, pubNs);
    await createNamespace(kubePriv, privNs);
    // the person's kubeconfig: the two contexts, each with its namespace
    const kc = parse(readFileSync(cp.kubeconfigPath, 'utf8'));
    kc.contexts = kc.contexts.filter((c: any) => ['public', 'private'].includes(c.name));
    for (const c of kc.contexts) c.context.namespace = c.name === 'public' ? pubNs : privNs;
    kc['current-context'] = 'public';
    const kubeconfig = join(mkdtempSync(join(tmpdir(), 'van-ui-story1-')), 'kubeconfig');
    writeFileSync(kubeconfig, stringify(kc));
    server = await startCodeServer({ kubeconfig });
    writeFileSync(join(server.workspace, 'tcp-go-echo.yaml'), ECHO(pubNs));
    // "kubectl apply" of the echo server in the public cluster (the tutorial's step 2.1, done before)
    const r = await kubePub.post(`/apis/apps/v1/namespaces/${pubNs}/deployments`, {
      ...(parse(ECHO(pubNs).split('---\n')[1]!) as object),
      metadata: { name: 'tcp-go-echo', namespace: pubNs, labels: { application: 'tcp-go-echo' } },
    });
    assert.equal(r.status, 201, r.text);
    pub = new SiteUnderTest(cp.kubeconfigPath, 'public', pubNs);
    priv = new SiteUnderTest(cp.kubeconfigPath, 'private', privNs);
    wb = await openWorkbench(server);
  });

  after(async () => {
    await wb?.close();
    await server?.stop();
    await Promise.all([
      kubePub && deleteNamespace(kubePub, pubNs).catch(() => undefined),
      kubePriv && deleteNamespace(kubePriv, privNs).catch(() => undefined),
    ]);
    console.log('STORY1 TIMES ' + JSON.stringify(times));
  });

  const timed = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    try {
      return await fn();
    } finally {
      times[name] = Date.now() - t0;
    }
  };

  step('1. the Clusters view shows both contexts with their namespace and no site', async () => {
    const { page } = wb;
    await openSkupper(page);
    await viewRow(page, 'Clusters', 'public', 1).waitFor({ timeout: 30_000 });
    await expandRow(page, 'Clusters', 'public', 1);
    await viewRow(page, 'Clusters', pubNs).waitFor({ timeout: 30_000 });
    await expandRow(page, 'Clusters', 'private', 1);
    await viewRow(page, 'Clusters', privNs).waitFor({ timeout: 30_000 });
    await shot('clusters-no-site');
  });

  const ingressOf = async (site: SiteUnderTest) => (await site.kube.get(`${site.ns}/configmaps/skupper-site`)).body?.data?.ingress;

  // the ingress question offers the setting skupper.defaultIngress first: Enter takes it
  const initSiteFromPalette = async (ctx: 'public' | 'private', ns: string, ingress: RegExp) => {
    const { page } = wb;
    await clearToasts(page);
    await timed(`init-${ctx}`, async () => {
      await palette(page, 'Skupper: Initialize Site', () => (ctx === 'public' ? shot('palette-init') : Promise.resolve()));
      await quickPick(page, new RegExp(`^${ctx}$`));
      const first = page.locator(S.quickRow).first();
      await eventually('the ingress question', 30_000, async () =>
        /default \(skupper\.defaultIngress\)/.test(await first.innerText({ timeout: 2000 })),
      );
      assert.match(await first.innerText(), ingress, "the setting's ingress comes first");
      await shot(`init-${ctx}-ingress`);
      await page.keyboard.press('Enter');
      const msg = await waitToast(page, /initialized/, 180_000);
      assert.match(msg, new RegExp(`${ctx}/${ns}`));
    });
    await viewRow(page, 'Clusters', `site ${ns}`)
      .or(viewRow(page, 'Clusters', ns))
      .first()
      .waitFor();
    await eventually(
      `site row in ${ctx}`,
      30_000,
      async () =>
        (await page
          .locator('.part.sidebar .monaco-list-row[role="treeitem"]')
          .filter({ hasText: `site ${ns}` })
          .count()) > 0,
    );
    await shot(`init-${ctx}`);
  };

  step('2. Initialize Site in public from the palette: it accepts links (the default ingress)', async () => {
    await initSiteFromPalette('public', pubNs, /^Accepts links/);
    assert.equal(await ingressOf(pub), 'loadbalancer');
  });

  /** The Settings editor, searched down to one setting; returns its dropdown. */
  const settingDropdown = async (id: string) => {
    const { page } = wb;
    await palette(page, 'Preferences: Open User Settings');
    const select = page.locator(`.settings-editor select[aria-label="${id}"]`);
    // the search box takes focus once the editor has loaded: type until the setting shows
    await eventually(`${id} in the Settings editor`, 30_000, async () => {
      await page.locator('.settings-editor .settings-header .monaco-editor').first().click({ timeout: 3000 });
      await page.keyboard.press('Control+A');
      await page.keyboard.type(id);
      return select.waitFor({ state: 'visible', timeout: 3000 }).then(() => true);
    });
    return select;
  };

  step('3. Settings: new sites accept no links (Skupper: Default Ingress = none), for the private cluster', async () => {
    const { page } = wb;
    const select = await settingDropdown('skupper.defaultIngress');
    assert.equal(await select.inputValue(), 'loadbalancer');
    await select.click();
    await page
      .locator('.monaco-select-box-dropdown-container .monaco-list-row')
      .filter({ hasText: /^none$/ })
      .click();
    // written to the user's settings.json, where the extension host's configuration comes from
    const file = join(server.dir, 'ud', 'User', 'settings.json');
    await eventually(
      'skupper.defaultIngress in settings.json',
      10_000,
      async () => JSON.parse(readFileSync(file, 'utf8'))['skupper.defaultIngress'] === 'none',
    );
    // the editor that made the first change to settings.json may go on showing the old value: look again
    await palette(page, 'View: Close Editor');
    const again = await settingDropdown('skupper.defaultIngress');
    await eventually('the Settings editor shows none', 10_000, async () => (await again.inputValue()) === 'none');
    await shot('settings-ingress-none');
    await palette(page, 'View: Close Editor');
  });

  step('4. Initialize Site in private from the palette: no ingress, it only links out', async () => {
    await initSiteFromPalette('private', privNs, /^Links out only/);
    assert.equal(await ingressOf(priv), 'none');
  });

  step('5. Create Token in public, saved to a file', async () => {
    const { page } = wb;
    await clearToasts(page);
    const file = join(server.workspace, 'public-token.yaml');
    await timed('token', async () => {
      await palette(page, 'Skupper: Create Token');
      await quickPick(page, /^public$/);
      await quickPick(page, /Save to file/);
      await shot('token-save-dialog');
      await fileDialog(page, file);
      // A file inside the workspace: the extension asks first (a token there can end up committed).
      await page.getByRole('button', { name: 'Save here' }).click({ timeout: 30_000 });
      await waitToast(page, /Token written to/, 60_000);
    });
    assert.ok(existsSync(file), 'token file written');
    assert.match(readFileSync(file, 'utf8'), /kind: Secret/);
    await shot('token-written');
  });

  step('6. Create Link in private from the token file; the link comes up', async () => {
    const { page } = wb;
    await clearToasts(page);
    await timed('link', async () => {
      await palette(page, 'Skupper: Create Link');
      await quickPick(page, /^private$/);
      await quickPick(page, /From a token file/);
      await fileDialog(page, join(server.workspace, 'public-token.yaml'));
      await waitToast(page, /Link \S+ created/, 120_000);
    });
    await timed('link-up-in-tree', async () => {
      await viewRow(page, 'Links', `${privNs} → ${pubNs}`)
        .filter({ has: page.locator('.label-description', { hasText: /^up/ }) })
        .first()
        .waitFor({ timeout: 60_000 });
    });
    await shot('link-up');
  });

  step('7. Expose the echo Deployment in public by right-clicking its YAML', async () => {
    const { page } = wb;
    await clearToasts(page);
    await openFile(page, 'tcp-go-echo.yaml');
    // put the cursor inside the Deployment (not the ConfigMap above it), then right-click there
    const line = page.locator('.monaco-editor .view-line').filter({ hasText: 'image: quay.io/skupper/tcp-go-echo' });
    await line.click();
    await page.waitForTimeout(400); // the context key follows the cursor (debounced)
    await line.click({ button: 'right' });
    await page.locator(S.contextMenu).waitFor();
    await shot('editor-context-menu');
    await timed('expose', async () => {
      await page.getByRole('menuitem', { name: 'Expose', exact: true }).click();
      await quickPick(page, /^public$/);
      const msg = await waitToast(page, /exposed/, 60_000);
      assert.match(msg, new RegExp(`deployment/tcp-go-echo exposed as tcp-go-echo .*from public/${pubNs}`));
    });
    await shot('exposed');
  });

  step('8. The service shows in both sites, exposed in public', async () => {
    const { page } = wb;
    await timed('service-in-both-sites', async () => {
      await eventually('tcp-go-echo exposed in public, reachable in both sites', 90_000, async () => {
        const rows = viewRow(page, 'Services', 'tcp-go-echo');
        if ((await rows.count()) === 0) return false;
        const d = await rows.first().locator('.label-description').innerText();
        return new RegExp(`exposed in ${pubNs}\\b`).test(d) && !d.includes(privNs) && /reachable in 2/.test(d) ? d : false;
      });
    });
    const svc = viewRow(page, 'Services', 'tcp-go-echo').first();
    await svc.click();
    await page.keyboard.press('ArrowRight');
    await page.waitForTimeout(300);
    await shot('service-both-sites');
  });

  step("9. A line sent to private's own tcp-go-echo Service comes back from the echo pod in public", async () => {
    // the tutorial's telnet: private's Service (made by its site, its endpoint is private's router)
    const eps = await timed('service-endpoint-in-private', () =>
      eventually('tcp-go-echo Service with a ready endpoint in private', 60_000, async () => {
        const svc = await priv.service('tcp-go-echo');
        const e = svc ? await priv.endpoints('tcp-go-echo') : [];
        return e.length ? { svc, e } : undefined;
      }),
    );
    assert.deepEqual(
      eps.svc.spec.ports.map((p: { port: number }) => p.port),
      [9090],
    );
    const routerPods = await priv.readyPods('application=skupper-router');
    assert.ok(
      routerPods.some((p) => p.ip === eps.e[0]!.ip),
      "the endpoint is private's router pod",
    );
    const answer = await timed('first-echo', () =>
      eventually('an echo through the VAN', 30_000, () =>
        tcpExchange(eps.e[0]!.ip, eps.e[0]!.port, 'Do what thou wilt shall be the whole of the law.'),
      ),
    );
    assert.match(answer, /^tcp-go-echo-\S+ : DO WHAT THOU WILT SHALL BE THE WHOLE OF THE LAW\.$/);
    const echoPods = await pub.readyPods('application=tcp-go-echo');
    assert.ok(
      echoPods.some((p) => answer.startsWith(`${p.name} : `)),
      `the answer names the echo pod in public: ${answer}`,
    );
    // the echo runs only in public: private has no pod of it
    assert.deepEqual(await priv.readyPods('application=tcp-go-echo'), []);
  });

  step('10. The topology shows two sites and one live link, private → public', async () => {
    const { page } = wb;
    await timed('topology', async () => {
      await palette(page, 'Skupper: Show Topology');
      const frame = webview(page);
      // the shared control plane may hold other tests' sites too: look for ours
      await frame.locator(`body[data-up-edges*="${privNs}>${pubNs}"]`).waitFor({ timeout: 30_000 });
      const names = (await frame.locator('body').getAttribute('data-site-names'))!.split(',');
      assert.ok(names.includes(pubNs) && names.includes(privNs), names.join(','));
    });
    await page.waitForTimeout(800);
    await shot('topology');
  });
});
