// Skupper 2.x from the editor on the real control plane: open a YAML holding a Site and a Listener,
// right-click → Apply to Context…, pick the context; the controller (run by this test, watching the
// test's namespace, after `van crds install`'s CRDs) makes the site; the Clusters tree shows it, and its
// "Skupper 2.x resources" folder lists the Listener. Screenshots: test-output/ui/v2-*.png.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { parse, stringify } from 'yaml';
import { KubeClient } from '../../src/core/kube/client';
import { readRouterBundleGzip } from '../../src/core/site/bundle';
import { V2Controller } from '../../src/core/v2/controller';
import { installCrds } from '../../src/core/v2/install';
import { ensureControlPlane } from '../cluster/controlplane';
import { createNamespace, deleteNamespace, eventually, uniqueName } from '../cluster/helpers';
import { Kube } from '../cluster/kube';
import {
  S,
  clearToasts,
  openFile,
  openSkupper,
  openWorkbench,
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

const resources = (ns: string) =>
  [
    { apiVersion: 'skupper.io/v2alpha1', kind: 'Site', metadata: { name: ns, namespace: ns }, spec: { linkAccess: 'none' } },
    {
      apiVersion: 'skupper.io/v2alpha1',
      kind: 'Listener',
      metadata: { name: 'backend', namespace: ns },
      spec: { routingKey: 'backend', host: 'backend', port: 8080 },
    },
  ]
    .map((d) => stringify(d))
    .join('---\n');

describe('Skupper 2.x: Apply to Context… from a YAML, then the site and its Listener in the tree', { skip, timeout: 300_000 }, () => {
  let server: Server;
  let wb: Workbench;
  let kube: Kube;
  let ns: string;
  let controller: V2Controller | undefined;
  const { step, shot } = walk('v2', () => wb);

  before(async () => {
    const cp = await ensureControlPlane({ clusters: [CONTEXT] });
    // sorts first among the context's namespaces, so other tests' sites do not move our rows
    ns = uniqueName('0ui-v2');
    kube = new Kube(cp.kubeconfigPath, CONTEXT);
    await createNamespace(kube, ns);
    const admin = KubeClient.forContext({ kubeconfig: cp.kubeconfigPath, context: CONTEXT, namespace: ns, timeoutMs: 20_000 });
    await installCrds(admin);
    const bundle = readRouterBundleGzip().gzip;
    controller = new V2Controller({ client: admin, namespaces: [ns], bundleGzip: () => bundle, resyncMs: 1000 });
    controller.start();
    const kc = parse(readFileSync(cp.kubeconfigPath, 'utf8'));
    kc.contexts = kc.contexts.filter((c: any) => c.name === CONTEXT);
    kc.contexts[0].context.namespace = ns;
    kc['current-context'] = CONTEXT;
    const kubeconfig = join(mkdtempSync(join(tmpdir(), 'van-ui-v2-')), 'kubeconfig');
    writeFileSync(kubeconfig, stringify(kc));
    server = await startCodeServer({ kubeconfig });
    writeFileSync(join(server.workspace, 'v2-site.yaml'), resources(ns));
    wb = await openWorkbench(server, { height: 1200 });
  });

  after(async () => {
    await controller?.stop();
    await wb?.close();
    await server?.stop();
    if (kube && ns) await deleteNamespace(kube, ns).catch(() => undefined);
  });

  step('1. right-click the YAML → Apply to Context…, pick the context: both resources created', async () => {
    const { page } = wb;
    await openSkupper(page);
    await setPaneExpanded(page, 'Links', false);
    await setPaneExpanded(page, 'Services', false);
    await clearToasts(page);
    await openFile(page, 'v2-site.yaml');
    const line = page.locator('.monaco-editor .view-line').filter({ hasText: 'kind: Listener' });
    await line.click();
    await page.waitForTimeout(400); // the context key follows the cursor (debounced)
    await line.click({ button: 'right' });
    await page.locator(S.contextMenu).waitFor();
    await shot('editor-context-menu');
    await page.getByRole('menuitem', { name: 'Apply to Context…', exact: true }).click();
    await quickPick(page, new RegExp(`^${CONTEXT}$`));
    const msg = await waitToast(page, /created/, 60_000);
    assert.match(msg, new RegExp(`Site ${ns} created, Listener backend created in ${CONTEXT}/${ns}`));
    const r = await kube.get(`/apis/skupper.io/v2alpha1/namespaces/${ns}/listeners/backend`);
    assert.equal(r.status, 200);
    assert.equal(r.body.spec.host, 'backend');
    await shot('applied');
  });

  step('2. the controller makes the site: it shows in Clusters, with its Skupper 2.x resources', async () => {
    const { page } = wb;
    await viewRow(page, 'Clusters', ns, 3).first().waitFor({ timeout: 90_000 });
    await eventually('the Skupper 2.x folder opened', 60_000, async () => {
      const folder = viewRow(page, 'Clusters', 'Skupper 2.x resources', 4).first();
      if (!(await folder.isVisible())) return false;
      if ((await folder.getAttribute('aria-expanded')) === 'false') await folder.click({ timeout: 3000 }).catch(() => undefined);
      return (await viewRow(page, 'Clusters', 'Listener backend', 5).count()) > 0;
    });
    const listener = viewRow(page, 'Clusters', 'Listener backend', 5).first();
    const description = await listener.locator('.label-description').innerText();
    // no Connector anywhere: the Listener is there, waiting for one
    assert.match(description, /^backend:8080 → backend · Pending$/);
    assert.ok((await viewRow(page, 'Clusters', `Site ${ns}`, 5).count()) > 0, 'the Site is listed too');
    await shot('site-and-listener');
  });
});
