// Skupper 2.x from the editor: "Apply to context..." on a YAML of Sites, Connectors, Listeners...; and
// Expose on a 2.x site, which writes a Connector (and, if wanted, a Listener on another 2.x site).
import * as vscode from 'vscode';
import { UserError } from '../../core/errors';
import { KubeClient } from '../../core/kube/client';
import { applyV2Documents, v2DocumentsIn } from '../../core/v2/apply';
import { createListener, exposeAsConnector } from '../../core/v2/expose';
import type { NodeDesc } from '../../views/model/nodes';
import type { Target } from '../core-adapter';
import { need, pickContext, pickNamespace } from '../pickers';
import type { Workload } from '../yaml';
import { type Ext, where, withProgress } from './shared';

const clientOf = (t: Target) => KubeClient.forContext({ kubeconfig: t.kubeconfig, context: t.context, namespace: t.namespace });

/** Applies the Skupper 2.x documents of the active YAML editor (or of the file given) to a chosen context and namespace. */
export async function applyToContext(ext: Ext, node?: NodeDesc | vscode.Uri): Promise<void> {
  const uri = node instanceof vscode.Uri ? node : vscode.window.activeTextEditor?.document.uri;
  if (!uri) throw new UserError('open a YAML file with Skupper 2.x resources (Site, Connector, Listener, ...) first');
  const document = await vscode.workspace.openTextDocument(uri);
  const docs = v2DocumentsIn(document.getText());
  if (docs.length === 0) {
    throw new UserError('this file holds no skupper.io/v2alpha1 resource (Site, Link, AccessGrant, AccessToken, Listener, Connector)');
  }
  await ext.ensureStarted();
  const named = docs.find((d) => d.namespace)?.namespace;
  const context = await pickContext(ext.reader, `Context to apply ${docs.map((d) => `${d.kind} ${d.name}`).join(', ')} to`);
  const namespace = named ?? (await pickNamespace(ext.reader, context));
  const t: Target = { context, namespace };
  const applied = await withProgress(`Applying ${docs.length} Skupper 2.x resource(s) to ${where(t)}`, () =>
    applyV2Documents(clientOf(t), docs),
  );
  await ext.refresh(context);
  void vscode.window.showInformationMessage(
    `${applied.map((a) => `${a.kind} ${a.name} ${a.action}`).join(', ')} in ${where(t)}: the controller there makes them so (see the site's Skupper 2.x resources)`,
  );
}

/** Expose on a 2.x site: a Connector here; a Listener on another 2.x site if one is chosen. */
export async function exposeV2(
  ext: Ext,
  t: Target,
  w: { kind: Workload['kind'] | 'service'; name: string; ports: number[] },
): Promise<void> {
  if (w.kind === 'service') throw new UserError('on a Skupper 2.x site, expose a deployment or statefulset (a Connector selects pods)');
  const port =
    w.ports.length === 1
      ? w.ports[0]!
      : Number(
          need(await vscode.window.showQuickPick(w.ports.map(String), { placeHolder: `Port of ${w.kind}/${w.name} for the Connector` })),
        );
  const connector = await withProgress(`Writing Connector ${w.name} in ${where(t)}`, () =>
    exposeAsConnector(clientOf(t), { kind: w.kind as Workload['kind'], name: w.name, port }),
  );
  const others = ext.reader.current.contexts.flatMap((c) =>
    c.namespaces
      .filter((n) => n.site?.mode === 'v2' && !(c.name === t.context && n.name === t.namespace))
      .map((n) => ({ label: n.site!.name, description: `${c.name} / ${n.name}`, t: { context: c.name, namespace: n.name } as Target })),
  );
  const none = { label: 'No listener now', description: 'add a Listener with this routing key where clients are', t: undefined };
  const pick = others.length
    ? await vscode.window.showQuickPick([...others, none], {
        placeHolder: `Listener for ${connector.spec!.routingKey}:${port} on another site?`,
        ignoreFocusOut: true,
      })
    : undefined;
  if (pick?.t) {
    await withProgress(`Writing Listener ${connector.spec!.routingKey} in ${where(pick.t)}`, () =>
      createListener(clientOf(pick.t!), connector.spec!.routingKey!, port),
    );
  }
  await ext.refresh(t.context);
  void vscode.window.showInformationMessage(
    `Connector ${w.name} (routing key ${connector.spec!.routingKey}, port ${port}) written in ${where(t)}` +
      (pick?.t ? `; Listener ${connector.spec!.routingKey}:${port} in ${where(pick.t)}` : ''),
  );
}
