// Service commands: expose and unexpose workloads (from the tree or the YAML editor).
import * as vscode from 'vscode';
import { UserError } from '../../core/errors';
import type { NodeDesc } from '../../views/model/nodes';
import { adapter, type Target } from '../core-adapter';
import { need, pickContext, siteAt, targetOf, validateDnsLabel } from '../pickers';
import { workloadAtCursor, type Workload } from '../yaml';
import { exposeLaptopPort, laptopTarget } from './laptop';
import { type Ext, where, withProgress } from './shared';
import { exposeV2 } from './v2';

export async function exposeWorkload(ext: Ext, w: Workload | undefined, node?: NodeDesc, fromTree = false): Promise<void> {
  await ext.ensureStarted();
  let t: Target;
  if (w?.namespace && node?.ref.context === undefined) {
    const context = await pickContext(ext.reader, `Context where ${w.kind}/${w.name} runs (namespace ${w.namespace})`);
    t = { context, namespace: w.namespace };
  } else {
    t = await targetOf(ext.reader, node, {
      withSite: true,
      placeHolder: w ? `Context where ${w.kind}/${w.name} runs` : 'Context of the workload',
    });
  }
  if (!siteAt(ext.reader, t)) throw new UserError(`${where(t)} has no Skupper site: initialize one first (Skupper: Initialize Site)`);
  let kind = w?.kind;
  let name = w?.name;
  if (!kind || !name) {
    kind = need(
      await vscode.window.showQuickPick(['deployment', 'statefulset', 'service'], { placeHolder: 'Kind of workload' }),
    ) as Workload['kind'];
    name = need(
      await vscode.window.showInputBox({
        prompt: `Name of the ${kind} in ${where(t)}`,
        validateInput: validateDnsLabel,
        ignoreFocusOut: true,
      }),
    );
  }
  let ports = w?.ports ?? [];
  // from the tree: the containerPorts are offered to accept (or edit); from YAML they are taken as written
  if (ports.length === 0 || fromTree) {
    const text = need(
      await vscode.window.showInputBox({
        prompt: ports.length ? `Port(s) of ${kind}/${name} to expose (its containerPorts; Enter to accept)` : `Port(s) of ${kind}/${name}`,
        value: ports.join(','),
        placeHolder: '8080 or 8080,9090',
        validateInput: (v) => (/^\d+(\s*,\s*\d+)*$/.test(v.trim()) ? undefined : 'one or more port numbers'),
        ignoreFocusOut: true,
      }),
    );
    ports = text.split(',').map((p) => Number(p.trim()));
  }
  // A site managed by Skupper 2.x resources: the exposure is a Connector resource.
  if (siteAt(ext.reader, t)?.mode === 'v2') return exposeV2(ext, t, { kind, name, ports });
  const exists = await adapter.workloadExists(t, kind, name);
  if (exists === false)
    throw new UserError(
      `${kind}/${name} is not deployed in ${where(t)}: apply the manifest there first, or pick the context where it runs`,
    );
  const msg = await withProgress(`Exposing ${kind}/${name} in ${where(t)}`, async () => adapter.expose(t, { kind, name: name!, ports }));
  await ext.refresh(t.context);
  void vscode.window.showInformationMessage(msg || `${kind}/${name} exposed on port(s) ${ports.join(', ')} from ${where(t)}`);
}

/** The workload a tree node stands for (a Deployment/StatefulSet under a site's Workloads folder). */
export function workloadOf(node: NodeDesc | undefined): Workload | undefined {
  const r = node?.ref;
  if (!r?.kind || !r.name || !r.context || !r.namespace) return undefined;
  return { kind: r.kind, name: r.name, namespace: r.namespace, ports: [...(r.ports ?? [])] };
}

export async function expose(ext: Ext, node?: NodeDesc | vscode.Uri): Promise<void> {
  // a laptop site's node: expose a port of this machine
  if (node && !(node instanceof vscode.Uri) && node.ref.platform === 'local') {
    await ext.ensureStarted();
    return exposeLaptopPort(ext, await laptopTarget(ext, node, 'Laptop site'));
  }
  // from the YAML editor: the argument is the document's Uri (or nothing)
  if (!node || node instanceof vscode.Uri) {
    const editor = vscode.window.activeTextEditor;
    const w = editor ? workloadAtCursor(editor.document.getText(), editor.document.offsetAt(editor.selection.active)) : undefined;
    if (w) return exposeWorkload(ext, w);
    return exposeWorkload(ext, undefined);
  }
  // a workload node in the tree carries its context, namespace, kind, name and ports
  const wl = workloadOf(node);
  if (wl) return exposeWorkload(ext, wl, node, true);
  return exposeWorkload(ext, undefined, node);
}

export async function unexpose(ext: Ext, node?: NodeDesc): Promise<void> {
  await ext.ensureStarted();
  const t = await targetOf(ext.reader, node, { withSite: true });
  let address = node?.ref.address;
  if (!address) {
    const services = siteAt(ext.reader, t)?.services.filter((s) => s.exposedHere) ?? [];
    if (services.length === 0) throw new UserError(`nothing is exposed from ${where(t)}`);
    address = need(
      await vscode.window.showQuickPick(
        services.map((s) => ({ label: s.address, description: s.targets.join(', ') })),
        { placeHolder: 'Service to stop exposing' },
      ),
    ).label;
  }
  // from a workload node: its kind and name say which target to remove
  const wl = workloadOf(node);
  await adapter.unexpose(t, wl ? { kind: wl.kind, name: wl.name, address } : { address });
  if (t.local) ext.refreshLocal();
  else await ext.refresh(t.context);
  void vscode.window.showInformationMessage(
    wl ? `${wl.kind}/${wl.name} is no longer exposed as ${address} from ${where(t)}` : `${address} is no longer exposed from ${where(t)}`,
  );
}
