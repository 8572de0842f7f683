// "Connect Two Contexts" from the palette on the real control plane: both namespaces start empty; the
// command initializes both sites, creates a token, the link, and waits until the link is up.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { ensureControlPlane } from '../cluster/controlplane';
import { Kube } from '../cluster/kube';
import { createNamespace, deleteNamespace, uniqueName } from '../cluster/helpers';
import {
  extensionLog,
  openSkupper,
  openWorkbench,
  palette,
  quickPick,
  startCodeServer,
  uiUnavailable,
  viewRow,
  waitToast,
  type Server,
  type Workbench,
} from './harness';

const skip = uiUnavailable() ?? (process.env.VAN_UI_SKIP_CLUSTER ? 'VAN_UI_SKIP_CLUSTER set' : undefined);

describe('Connect Two Contexts', { skip, timeout: 400_000 }, () => {
  let server: Server;
  let wb: Workbench;
  const ns: Record<string, string> = {};
  const kube: Record<string, Kube> = {};
  const figures: Record<string, number> = {};

  before(async () => {
    const cp = await ensureControlPlane({ clusters: ['public', 'east'] });
    for (const c of ['public', 'east']) {
      // Names that sort first: sites other suites left in these clusters never push them out of view.
      ns[c] = uniqueName(`0ui-cc-${c.slice(0, 3)}`);
      kube[c] = new Kube(cp.kubeconfigPath, c);
      await createNamespace(kube[c]!, ns[c]!);
    }
    const kc = parse(readFileSync(cp.kubeconfigPath, 'utf8'));
    kc.contexts = kc.contexts.filter((c: any) => ['public', 'east'].includes(c.name));
    for (const c of kc.contexts) c.context.namespace = ns[c.name];
    kc['current-context'] = 'public';
    const kubeconfig = join(mkdtempSync(join(tmpdir(), 'van-ui-cc-')), 'kubeconfig');
    writeFileSync(kubeconfig, stringify(kc));
    server = await startCodeServer({ kubeconfig });
    wb = await openWorkbench(server);
  });

  after(async () => {
    await wb?.close();
    await server?.stop();
    await Promise.all(Object.keys(ns).map((c) => deleteNamespace(kube[c]!, ns[c]!).catch(() => undefined)));
    console.log('FIGURES ' + JSON.stringify(figures));
  });

  it('initializes both sites, links them and waits until the link is up', async () => {
    const { page } = wb;
    await openSkupper(page);
    // public's namespaces (with whatever other suites left there) come first: fold them away, as a
    // person would, so that east's rows are in view.
    const pub = viewRow(page, 'Clusters', 'public', 1);
    await pub.waitFor({ timeout: 30_000 });
    if ((await pub.getAttribute('aria-expanded')) === 'true') await pub.locator('.monaco-tl-twistie').click();
    await viewRow(page, 'Clusters', ns.east!).waitFor({ timeout: 30_000 });
    const t0 = Date.now();
    await palette(page, 'Skupper: Connect Two Contexts');
    await quickPick(page, /^public$/);
    await quickPick(page, /^east$/);
    let msg: string;
    try {
      msg = await waitToast(page, /Connected:/, 240_000);
    } catch (e) {
      await wb.shot('FAILED-connect');
      const log = extensionLog(server);
      console.log(log.split('\n').slice(-30).join('\n'));
      throw e;
    }
    figures.connectTwoContextsMs = Date.now() - t0;
    assert.match(msg, new RegExp(`east/${ns.east} → public/${ns.public}`));
    await viewRow(page, 'Links', new RegExp(`^${ns.east} → ${ns.public}$`)).waitFor({ timeout: 30_000 });
    await wb.shot('08-connect-two-contexts');
  });
});
