// Site commands: initialize, delete, status, revoke access, events, connect two contexts, namespace.
import * as vscode from 'vscode';
import { UserError } from '../../core/errors';
import type { NodeDesc } from '../../views/model/nodes';
import { adapter, type Target } from '../core-adapter';
import { log } from '../log';
import { need, pickContext, pickNamespace, siteAt, targetOf, validateDnsLabel } from '../pickers';
import { type Ext, cfg, routerImage, tokenSettingsNow, waitFor, where, withProgress } from './shared';

/**
 * How other sites reach the new one, like `van init --ingress`: the setting skupper.defaultIngress comes
 * first (Enter takes it); "links out only" is the tutorial's private cluster, which opens no port.
 */
export async function pickIngress(site: string): Promise<string> {
  const choices = [
    {
      id: 'loadbalancer',
      label: 'Accepts links',
      description: 'loadbalancer',
      detail: 'Other sites link to this one through a LoadBalancer Service (e.g. a public cluster)',
    },
    {
      id: 'none',
      label: 'Links out only',
      description: 'none',
      detail: 'Opens no port: this site links to others, none link to it (e.g. a private cluster)',
    },
    {
      id: 'nodeport',
      label: 'Accepts links on a NodePort',
      description: 'nodeport',
      detail: "For clusters without LoadBalancers (the nodes' address must be reachable)",
    },
  ];
  const preferred = cfg().get<string>('defaultIngress', 'loadbalancer');
  // nodeport needs the nodes' address, which the extension cannot ask the cluster for: offered only when chosen in the settings
  const items = [...choices.filter((c) => c.id === preferred), ...choices.filter((c) => c.id !== preferred && c.id !== 'nodeport')].map(
    (c) => (c.id === preferred ? { ...c, description: `${c.description} · default (skupper.defaultIngress)` } : c),
  );
  return need(
    await vscode.window.showQuickPick(items, { placeHolder: `How do other sites reach the site in ${site}?`, ignoreFocusOut: true }),
  ).id;
}

export async function init(ext: Ext, node?: NodeDesc): Promise<void> {
  await ext.ensureStarted();
  const t = await targetOf(ext.reader, node, { withoutSite: true, placeHolder: 'Context to initialize a site in' });
  // A skupper-site ConfigMap written by hand (Skupper 1.x's declarative way) is adopted: its settings are the site's.
  const declared = await adapter.declaredSite(t);
  if (declared === undefined && siteAt(ext.reader, t))
    throw new UserError(`${where(t)} already has a site (${siteAt(ext.reader, t)!.name})`);
  const ingress = declared === undefined ? await pickIngress(where(t)) : undefined;
  const image = await routerImage();
  await withProgress(
    `Initializing site in ${where(t)}`,
    async (report, token) => {
      const controller = new AbortController();
      token.onCancellationRequested(() => controller.abort());
      const msg = await adapter.init(t, { ingress, routerImage: image }, report, controller.signal);
      await ext.refresh(t.context);
      void vscode.window.showInformationMessage(msg || `Site initialized in ${where(t)}`);
    },
    true,
  );
}

export async function deleteSite(ext: Ext, node?: NodeDesc, nodes?: NodeDesc[]): Promise<void> {
  await ext.ensureStarted();
  const targets =
    nodes && nodes.length > 1
      ? nodes.filter((n) => n.ref.context && n.ref.namespace).map((n) => ({ context: n.ref.context!, namespace: n.ref.namespace! }))
      : [await targetOf(ext.reader, node, { withSite: true, placeHolder: 'Context of the site to delete' })];
  const names = targets.map(where).join(', ');
  const ok = await vscode.window.showWarningMessage(
    `Delete the Skupper site in ${names}? Its links and exposed services stop working.`,
    { modal: true },
    'Delete',
  );
  if (ok !== 'Delete') return;
  for (const t of targets) {
    await withProgress(`Deleting site in ${where(t)}`, async (report) => {
      const msg = await adapter.deleteSite(t, report);
      await ext.refresh(t.context);
      void vscode.window.showInformationMessage(msg || `Site deleted from ${where(t)}`);
    });
  }
}

export async function status(ext: Ext, node?: NodeDesc): Promise<void> {
  await ext.ensureStarted();
  const t = await targetOf(ext.reader, node, { withSite: true });
  const text = await adapter.status(t);
  log.info(`status ${where(t)}:\n${text}`);
  const first = text.split('\n')[0] ?? '';
  const pick = await vscode.window.showInformationMessage(first, 'Show details');
  if (pick) log.show();
}

export async function revokeAccess(ext: Ext, node?: NodeDesc): Promise<void> {
  await ext.ensureStarted();
  const t = await targetOf(ext.reader, node, { withSite: true });
  const ok = await vscode.window.showWarningMessage(
    `Revoke every token and link issued by ${where(t)}? Sites linked to it disconnect until given a new token.`,
    { modal: true },
    'Revoke',
  );
  if (ok !== 'Revoke') return;
  const msg = await withProgress(`Revoking access to ${where(t)}`, async () => adapter.revokeAccess(t));
  await ext.refresh();
  void vscode.window.showInformationMessage(msg || `Access to ${where(t)} revoked`);
}

export async function showEvents(ext: Ext, node?: NodeDesc): Promise<void> {
  await ext.ensureStarted();
  const t = await targetOf(ext.reader, node, { withSite: true });
  const text = await adapter.events(t);
  const doc = await vscode.workspace.openTextDocument({ content: `# Skupper events in ${where(t)}\n${text}`, language: 'log' });
  await vscode.window.showTextDocument(doc, { preview: true });
}

export async function connectContexts(ext: Ext): Promise<void> {
  await ext.ensureStarted();
  const acceptContext = await pickContext(ext.reader, '1/2 Context that accepts the link (e.g. the public cluster)');
  const acceptNs = await pickNamespace(ext.reader, acceptContext, { preferOwn: true });
  const linkContext = await pickContext(ext.reader, '2/2 Context that links to it (e.g. the private cluster)', undefined);
  const linkNs = await pickNamespace(ext.reader, linkContext, { preferOwn: true });
  const a: Target = { context: acceptContext, namespace: acceptNs };
  const b: Target = { context: linkContext, namespace: linkNs };
  if (where(a) === where(b)) throw new UserError('pick two different sites');
  const image = !siteAt(ext.reader, a) || !siteAt(ext.reader, b) ? await routerImage() : undefined;
  await withProgress(
    `Connecting ${where(b)} → ${where(a)}`,
    async (report, token) => {
      const controller = new AbortController();
      token.onCancellationRequested(() => controller.abort());
      for (const t of [a, b]) {
        if (!siteAt(ext.reader, t)) {
          report(`initializing a site in ${where(t)}`);
          await adapter.init(t, { ingress: cfg().get('defaultIngress'), routerImage: image }, report, controller.signal);
          await ext.refresh(t.context);
        }
      }
      report(`creating a token in ${where(a)}`);
      const tok = await adapter.createToken(a, { expiry: tokenSettingsNow().expiry, uses: 1 });
      report(`creating the link in ${where(b)}`);
      const name = await adapter.createLink(b, tok, {}, report);
      report(`waiting for link ${name} to come up`);
      const up = await waitFor(ext, b, () => siteAt(ext.reader, b)?.links.find((l) => l.name === name)?.state === 'up', 120_000, token);
      if (!up) {
        const l = siteAt(ext.reader, b)?.links.find((x) => x.name === name);
        throw new UserError(`link ${name} was created but is ${l?.state ?? 'not reported'}${l?.error ? `: ${l.error}` : ''}`);
      }
      void vscode.window.showInformationMessage(`Connected: ${where(b)} → ${where(a)} (link ${name} is up)`);
    },
    true,
  );
}

export async function chooseNamespace(ext: Ext, node?: NodeDesc): Promise<void> {
  await ext.ensureStarted();
  const context = node?.ref.context ?? (await pickContext(ext.reader));
  const current = ext.reader.current.contexts.find((c) => c.name === context)?.namespace ?? 'default';
  const ns = need(
    await vscode.window.showInputBox({
      prompt: `Namespace to use in ${context} (kept by the extension; the kubeconfig is not changed)`,
      value: current,
      validateInput: validateDnsLabel,
    }),
  );
  await ext.chooseNamespace(context, ns);
}
