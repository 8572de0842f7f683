// Laptop site commands: start and stop, expose a local port, forward a service to a local port.
import * as vscode from 'vscode';
import { UserError } from '../../core/errors';
import type { NodeDesc } from '../../views/model/nodes';
import { adapter, type Target } from '../core-adapter';
import { log } from '../log';
import { need, siteAt, validateDnsLabel } from '../pickers';
import { type Ext, validatePort, withProgress } from './shared';

/** A laptop site: pick it from the node, else from the laptop sites (the only one when there is one). */
export async function laptopTarget(ext: Ext, node: NodeDesc | undefined, placeHolder: string): Promise<Target> {
  const ref = node?.ref;
  if (ref?.platform === 'local' && ref.namespace && ref.siteName)
    return { context: 'laptop', namespace: ref.siteName, local: { dir: ref.namespace, name: ref.siteName } };
  const sites = ext.reader.current.local;
  if (sites.length === 0) throw new UserError('no laptop site on this machine: start one first (Skupper: Start Laptop Site)');
  const site =
    sites.length === 1
      ? sites[0]!
      : need(
          await vscode.window.showQuickPick(
            sites.map((s) => ({ label: s.name, s })),
            { placeHolder, ignoreFocusOut: true },
          ),
        ).s;
  return { context: 'laptop', namespace: site.name, local: { dir: site.namespace, name: site.name } };
}

/** Expose a port of this machine from a laptop site: the port, then the name the network knows it by. */
export async function exposeLaptopPort(ext: Ext, t: Target): Promise<void> {
  const text = need(
    await vscode.window.showInputBox({
      prompt: `Port on this machine to expose to the network from laptop site ${t.local!.name} (host:port for another host)`,
      placeHolder: '8080 or 192.168.1.20:5432',
      validateInput: (v) =>
        /^(([a-zA-Z0-9][-a-zA-Z0-9.]*|\[[0-9a-fA-F:]+\]):)?\d+$/.test(v.trim()) && !validatePort(v.trim().split(':').pop()!)
          ? undefined
          : 'a port (8080), or host:port',
      ignoreFocusOut: true,
    }),
  ).trim();
  const colon = text.lastIndexOf(':');
  const host = colon > 0 ? text.slice(0, colon).replace(/^\[|\]$/g, '') : '127.0.0.1';
  const port = Number(colon > 0 ? text.slice(colon + 1) : text);
  const address = need(
    await vscode.window.showInputBox({
      prompt: `Service name for ${host}:${port} in every linked site`,
      validateInput: validateDnsLabel,
      ignoreFocusOut: true,
    }),
  );
  const msg = await adapter.exposeHost(t, { host, address, ports: [port] });
  ext.refreshLocal();
  void vscode.window.showInformationMessage(msg);
}

/** Reach a network service on a port of this machine (a laptop site listens only where asked). */
export async function forwardService(ext: Ext, node?: NodeDesc): Promise<void> {
  await ext.ensureStarted();
  const t = await laptopTarget(ext, node, 'Laptop site that forwards the service');
  const services = siteAt(ext.reader, t)?.services ?? [];
  let address = node?.ref.address;
  if (!address) {
    const choices = services.filter((s) => !s.exposedHere);
    if (choices.length === 0)
      throw new UserError(`laptop site ${t.local!.name} sees no service in the network yet: link it to a site that exposes one`);
    address = need(
      await vscode.window.showQuickPick(
        choices.map((s) => ({
          label: s.address,
          description: [`${s.protocol} ${s.ports.join(',')}`, s.forwardedTo ? `→ ${s.forwardedTo}` : undefined].filter(Boolean).join(' · '),
        })),
        { placeHolder: 'Service to reach from this machine', ignoreFocusOut: true },
      ),
    ).label;
  }
  const suggested = services.find((s) => s.address === address)?.ports[0];
  const port = Number(
    need(
      await vscode.window.showInputBox({
        prompt: `Local port for ${address} (on 127.0.0.1)`,
        value: suggested ? String(suggested) : '',
        placeHolder: '9090',
        validateInput: validatePort,
        ignoreFocusOut: true,
      }),
    ),
  );
  const at = await adapter.forward(t, { address, port });
  ext.refreshLocal();
  log.info(`${address} forwarded to ${at} by laptop site ${t.local!.name}`);
  void vscode.window
    .showInformationMessage(`${address} is reachable at ${at} on this machine`, 'Copy address')
    .then((pick) => pick && vscode.env.clipboard.writeText(at));
}

export async function unforwardService(ext: Ext, node?: NodeDesc): Promise<void> {
  await ext.ensureStarted();
  const t = await laptopTarget(ext, node, 'Laptop site');
  let address = node?.ref.address;
  if (!address) {
    const forwarded = siteAt(ext.reader, t)?.services.filter((s) => s.forwardedTo) ?? [];
    if (forwarded.length === 0) throw new UserError(`laptop site ${t.local!.name} forwards no service`);
    address = need(
      await vscode.window.showQuickPick(
        forwarded.map((s) => ({ label: s.address, description: `→ ${s.forwardedTo}` })),
        { placeHolder: 'Service to stop forwarding' },
      ),
    ).label;
  }
  await adapter.unforward(t, address);
  ext.refreshLocal();
  void vscode.window.showInformationMessage(`${address} is no longer forwarded to this machine`);
}

export async function startLocalSite(ext: Ext, node?: NodeDesc): Promise<void> {
  await ext.ensureStarted();
  const name =
    node?.ref.platform === 'local' && node.ref.siteName
      ? node.ref.siteName
      : need(
          await vscode.window.showInputBox({
            prompt: 'Name of the laptop site (a router process on this machine)',
            value: ext.reader.current.local[0]?.name ?? 'laptop',
            validateInput: validateDnsLabel,
            ignoreFocusOut: true,
          }),
        );
  const msg = await withProgress(`Laptop site ${name}`, async (report) => adapter.startLocal(name, report));
  ext.refreshLocal();
  void vscode.window.showInformationMessage(msg);
}

export async function stopLocalSite(ext: Ext, node?: NodeDesc): Promise<void> {
  const name =
    node?.ref.siteName ??
    need(
      await vscode.window.showQuickPick(
        ext.reader.current.local.map((s) => s.name),
        { placeHolder: 'Laptop site to stop' },
      ),
    );
  const msg = await adapter.stopLocal(name);
  ext.refreshLocal();
  void vscode.window.showInformationMessage(msg);
}
