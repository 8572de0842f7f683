// The Clusters tree's Workloads folder on the real control plane: a site in a fresh namespace with the
// tcp-go-echo Deployment; expand the site's Workloads (read when opened), see the Deployment with its
// containerPort, right-click it → Expose, accept the inferred port, see the toast and the service
// under the site's Services; then Unexpose from the same node. Screenshots: test-output/ui/workloads-*.png.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import type { Locator } from 'playwright-core';
import { parse, stringify } from 'yaml';
import { KubeClient } from '../../src/core/kube/client';
import { initSite } from '../../src/core/site/kube';
import { ensureControlPlane } from '../cluster/controlplane';
import { createNamespace, deleteNamespace, eventually, uniqueName } from '../cluster/helpers';
import { Kube } from '../cluster/kube';
import {
  S,
  clearToasts,
  commandRuns,
  contextMenu,
  openQuickInput,
  setPaneExpanded,
  openSkupper,
  openWorkbench,
  startCodeServer,
  uiUnavailable,
  viewRow,
  waitToast,
  type QuickInputState,
  type Server,
  type Workbench,
  walk,
} from './harness';

/** Polls fn until it returns something truthy, or undefined once timeoutMs has passed. */
async function until<T>(timeoutMs: number, fn: () => Promise<T | undefined | false>): Promise<T | undefined> {
  return eventually('', timeoutMs, fn).catch(() => undefined);
}

const skip = uiUnavailable() ?? (process.env.VAN_UI_SKIP_CLUSTER ? 'VAN_UI_SKIP_CLUSTER set' : undefined);
const CONTEXT = 'public';

const echoDeployment = (ns: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'tcp-go-echo', namespace: ns, labels: { application: 'tcp-go-echo' } },
  spec: {
    replicas: 1,
    selector: { matchLabels: { application: 'tcp-go-echo' } },
    template: {
      metadata: { labels: { application: 'tcp-go-echo' } },
      spec: { containers: [{ name: 'tcp-go-echo', image: 'quay.io/skupper/tcp-go-echo', ports: [{ containerPort: 9090 }] }] },
    },
  },
});

describe('Workloads in the Clusters tree: expose a Deployment from its node', { skip, timeout: 300_000 }, () => {
  let server: Server;
  let wb: Workbench;
  let kube: Kube;
  let ns: string;
  const { step, shot } = walk('workloads', () => wb);

  before(async () => {
    const cp = await ensureControlPlane({ clusters: [CONTEXT] });
    // sorts first among the context's namespaces, so other tests' sites coming and going do not move our rows
    ns = uniqueName('0ui-wl');
    kube = new Kube(cp.kubeconfigPath, CONTEXT);
    await createNamespace(kube, ns);
    // a site, made with the core as `van init` would
    const client = KubeClient.forContext({ kubeconfig: cp.kubeconfigPath, context: CONTEXT, namespace: ns, timeoutMs: 20_000 });
    await initSite(client, { namespace: ns, siteName: ns, ingress: 'none', noWait: true });
    // "kubectl apply" of the echo backend
    const r = await kube.post(`/apis/apps/v1/namespaces/${ns}/deployments`, echoDeployment(ns));
    assert.equal(r.status, 201, r.text);
    // the person's kubeconfig: one context, using the test namespace
    const kc = parse(readFileSync(cp.kubeconfigPath, 'utf8'));
    kc.contexts = kc.contexts.filter((c: any) => c.name === CONTEXT);
    kc.contexts[0].context.namespace = ns;
    kc['current-context'] = CONTEXT;
    const kubeconfig = join(mkdtempSync(join(tmpdir(), 'van-ui-workloads-')), 'kubeconfig');
    writeFileSync(kubeconfig, stringify(kc));
    server = await startCodeServer({ kubeconfig });
    wb = await openWorkbench(server, { height: 1200 });
  });

  after(async () => {
    if (retries.length) console.log(`WORKLOADS MENU RETRIES ${JSON.stringify(retries)}`);
    await wb?.close();
    await server?.stop();
    if (kube && ns) await deleteNamespace(kube, ns).catch(() => undefined);
  });

  // levels: context 1, namespace 2, site 3, folders 4, their children 5. The shared control plane may
  // hold other tests' sites in the same context: look only at the rows under our site.
  const rowUnderSite = async (level: number, label: string, description?: RegExp) => {
    const rows = await viewRow(wb.page, 'Clusters', /.*/).evaluateAll((els) =>
      els.map((e) => ({
        index: Number(e.getAttribute('data-index')),
        level: Number(e.getAttribute('aria-level')),
        expanded: e.getAttribute('aria-expanded'),
        label: e.querySelector('.label-name')?.textContent?.trim() ?? '',
        description: e.querySelector('.label-description')?.textContent?.trim() ?? '',
      })),
    );
    rows.sort((a, b) => a.index - b.index);
    const start = rows.findIndex((r) => r.level === 3 && r.label === ns);
    const found =
      start < 0
        ? undefined
        : rows
            .slice(start + 1)
            .find(
              (r, i, rest) =>
                !rest.slice(0, i + 1).some((x) => x.level <= 3) &&
                r.level === level &&
                r.label === label &&
                (!description || description.test(r.description)),
            );
    if (!found) {
      // the list is virtualised and other tests' sites may share the context: scroll on and look again
      await wb.page
        .locator('.part.sidebar .pane')
        .filter({ has: wb.page.locator('.pane-header', { hasText: /^\s*Clusters/i }) })
        .locator('.monaco-list')
        .first()
        .hover();
      await wb.page.mouse.wheel(0, start < 0 ? 300 : 150);
      return undefined;
    }
    const row = viewRow(wb.page, 'Clusters', label, level).and(wb.page.locator(`[data-index="${found.index}"]`));
    if (
      !(await row.scrollIntoViewIfNeeded({ timeout: 2000 }).then(
        () => true,
        () => false,
      ))
    )
      return undefined;
    return { row, description: found.description, expanded: found.expanded };
  };
  const find = (what: string, level: number, label: string, description?: RegExp, timeout = 30_000) =>
    eventually(what, timeout, () => rowUnderSite(level, label, description));
  // rows move as the tree re-renders (other sites come and go): find and act together, again on a miss
  const onRow = (what: string, level: number, label: string, description: RegExp | undefined, action: (row: Locator) => Promise<unknown>) =>
    eventually(what, 30_000, async () => {
      const r = await rowUnderSite(level, label, description);
      if (!r) return undefined;
      try {
        await action(r.row);
        return r;
      } catch {
        return undefined;
      }
    });
  const workloadRow = (description = /^port /) => find('tcp-go-echo under Workloads', 5, 'tcp-go-echo', description);

  // Right-click the workload's row → item, through the harness (which re-finds the row and retries a
  // missed menu). Each attempt is checked against the extension's log: the command must have started and
  // must have had its tree item. VS Code's extension host forgets a tree's items when the tree is
  // refreshed and knows them again only once it has re-read their parents; a click in between runs the
  // command with no item, and the command then asks which context: that attempt is cancelled and retried.
  const retries: string[] = [];
  const onWorkload = (description: RegExp, item: string, command: string, ranOnItem: (q: QuickInputState) => boolean) =>
    contextMenu(
      wb.page,
      async () => (await find('tcp-go-echo under Workloads', 5, 'tcp-go-echo', description, 15_000).catch(() => undefined))?.row,
      item,
      {
        onRetry: (why) => retries.push(`${item}: ${why}`),
        verify: () => {
          const run = commandRuns(server, command);
          return async () => {
            if (!(await until(10_000, async () => run.started()))) return `${command} did not start`;
            // it ends (Unexpose asks nothing) or asks something (Expose asks for the port)
            const asked = await until(30_000, async () => (run.done() || run.failed() ? 'ended' : await openQuickInput(wb.page)));
            if (run.failed()) throw new Error(`${command} failed:\n${run.log()}`);
            if (asked === 'ended' || (asked && ranOnItem(asked))) return undefined;
            if (!asked) throw new Error(`${command} neither ended nor asked anything within 30 s:\n${run.log()}`);
            await wb.page.keyboard.press('Escape');
            await until(10_000, async () => run.cancelled());
            return `${command} ran without its tree item (asked "${asked.placeholder || asked.prompt}")`;
          };
        },
      },
    );
  const askedForContext = (q: QuickInputState) => /context/i.test(`${q.placeholder} ${q.prompt}`);

  step('1. the site has a Workloads folder; expanding it lists tcp-go-echo with its port', async () => {
    const { page } = wb;
    await openSkupper(page);
    // room for the Clusters tree: other tests may have sites in the same context
    await setPaneExpanded(page, 'Links', false);
    await setPaneExpanded(page, 'Services', false);
    await viewRow(page, 'Clusters', ns, 3).waitFor({ timeout: 60_000 });
    await onRow("our site's Workloads folder, opened", 4, 'Workloads', undefined, async (row) => {
      assert.equal(await row.getAttribute('aria-expanded', { timeout: 3000 }), 'false', 'read only when opened');
      await row.click({ timeout: 3000 });
    });
    const row = await workloadRow();
    assert.equal(row.description, 'port 9090');
    await shot('folder-expanded');
  });

  step('2. right-click tcp-go-echo → Expose, accept the inferred port: toast, and the service under the site', async () => {
    const { page } = wb;
    await clearToasts(page);
    await onWorkload(/^port /, 'Expose', 'skupper.expose', (q) => !askedForContext(q) && /deployment\/tcp-go-echo/.test(q.prompt));
    // no context, namespace, kind or name to pick: only the port, filled in from the containerPort
    const box = page.locator(S.quickInputBox);
    await box.waitFor({ state: 'visible', timeout: 30_000 });
    assert.equal(await box.inputValue(), '9090');
    await shot('inferred-port');
    await page.keyboard.press('Enter');
    const msg = await waitToast(page, /exposed/, 60_000);
    assert.match(msg, new RegExp(`deployment/tcp-go-echo exposed as tcp-go-echo \\(port 9090\\) from ${CONTEXT}/${ns}`));
    // the site's Services folder lists it (open the folder if VS Code kept it closed; a click that lands
    // while the tree re-reads can be lost, so look again and click again until it is open)
    const svc = await eventually('tcp-go-echo under Services', 30_000, async () => {
      const folder = await rowUnderSite(4, 'Services', /exposed here/);
      if (folder?.expanded === 'false') await folder.row.click({ timeout: 3000 }).catch(() => undefined);
      return rowUnderSite(5, 'tcp-go-echo', /exposed here/);
    });
    assert.match(svc.description, /tcp 9090 · exposed here \(tcp-go-echo\)/);
    // the workload node says so too (its folder is read again on refresh)
    await workloadRow(/exposed as tcp-go-echo/);
    await shot('exposed');
  });

  step('3. Unexpose from the exposed workload node: toast, the service leaves the site, the node shows its port again', async () => {
    const { page } = wb;
    await clearToasts(page);
    await onWorkload(/exposed as/, 'Unexpose', 'skupper.unexpose', () => false);
    const msg = await waitToast(page, /no longer exposed/, 60_000);
    assert.match(msg, new RegExp(`deployment/tcp-go-echo is no longer exposed as tcp-go-echo from ${CONTEXT}/${ns}`));
    await eventually('service gone from the site', 30_000, async () => !(await rowUnderSite(5, 'tcp-go-echo', /exposed here/)));
    await workloadRow(/^port 9090$/);
    await shot('unexposed');
  });
});
