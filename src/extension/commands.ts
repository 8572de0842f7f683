// The command table: one entry per command, each `(node?, nodes?)` so one function serves the palette and
// the tree. `wrap` adds error reporting once: the core's one-line reason and a "Show log" button.
import * as vscode from 'vscode';
import { UserError, errorMessage } from '../core/errors';
import type { NetworkReader } from '../core/network/reader';
import type { NodeDesc } from '../views/model/nodes';
import { adapter, type Target } from './core-adapter';
import { log } from './log';
import { Cancelled, need, pickContext, pickNamespace, pickSite, siteAt, targetOf, validateDnsLabel } from './pickers';
import { workloadAtCursor, type Workload } from './yaml';

export interface Ext {
  reader: NetworkReader;
  context: vscode.ExtensionContext;
  ensureStarted(): Promise<void>;
  refresh(context?: string): Promise<void>;
  /** Laptop sites only (their folders): cheap, no cluster call. */
  refreshLocal(): void;
  showTopology(): void;
  chooseNamespace(context: string, namespace: string): Promise<void>;
  reveal(ref: NodeDesc['ref']): Promise<void>;
}

type Handler = (ext: Ext, node?: NodeDesc, nodes?: NodeDesc[]) => Promise<unknown>;

const cfg = () => vscode.workspace.getConfiguration('skupper');
const where = (t: Target) => (t.local ? `laptop site ${t.local.name}` : `${t.context}/${t.namespace}`);

function withProgress<T>(title: string, task: (report: (m: string) => void, token: vscode.CancellationToken) => Promise<T>, cancellable = false): Promise<T> {
  return Promise.resolve(
    vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable }, (p, token) =>
      task((message) => {
        log.info(`${title}: ${message}`);
        p.report({ message });
      }, token),
    ),
  );
}

async function waitFor(ext: Ext, t: Target, pred: () => boolean, timeoutMs: number, token?: vscode.CancellationToken): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !token?.isCancellationRequested) {
    await ext.refresh(t.context);
    if (pred()) return true;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return pred();
}

/**
 * How other sites reach the new one, like `van init --ingress`: the setting skupper.defaultIngress comes
 * first (Enter takes it); "links out only" is the tutorial's private cluster, which opens no port.
 */
async function pickIngress(site: string): Promise<string> {
  const choices = [
    { id: 'loadbalancer', label: 'Accepts links', description: 'loadbalancer', detail: 'Other sites link to this one through a LoadBalancer Service (e.g. a public cluster)' },
    { id: 'none', label: 'Links out only', description: 'none', detail: 'Opens no port: this site links to others, none link to it (e.g. a private cluster)' },
    { id: 'nodeport', label: 'Accepts links on a NodePort', description: 'nodeport', detail: 'For clusters without LoadBalancers (the nodes\' address must be reachable)' },
  ];
  const preferred = cfg().get<string>('defaultIngress', 'loadbalancer');
  // nodeport needs the nodes' address, which the extension cannot ask the cluster for: offered only when chosen in the settings
  const items = [...choices.filter((c) => c.id === preferred), ...choices.filter((c) => c.id !== preferred && c.id !== 'nodeport')].map((c) => (c.id === preferred ? { ...c, description: `${c.description} · default (skupper.defaultIngress)` } : c));
  return need(await vscode.window.showQuickPick(items, { placeHolder: `How do other sites reach the site in ${site}?`, ignoreFocusOut: true })).id;
}

async function init(ext: Ext, node?: NodeDesc): Promise<void> {
  await ext.ensureStarted();
  const t = await targetOf(ext.reader, node, { withoutSite: true, placeHolder: 'Context to initialize a site in' });
  if (siteAt(ext.reader, t)) throw new UserError(`${where(t)} already has a site (${siteAt(ext.reader, t)!.name})`);
  const ingress = await pickIngress(where(t));
  await withProgress(`Initializing site in ${where(t)}`, async (report, token) => {
    const controller = new AbortController();
    token.onCancellationRequested(() => controller.abort());
    const msg = await adapter.init(t, { ingress, routerImage: cfg().get('routerImage') }, report, controller.signal);
    await ext.refresh(t.context);
    void vscode.window.showInformationMessage(msg || `Site initialized in ${where(t)}`);
  }, true);
}

async function deleteSite(ext: Ext, node?: NodeDesc, nodes?: NodeDesc[]): Promise<void> {
  await ext.ensureStarted();
  const targets = nodes && nodes.length > 1 ? nodes.filter((n) => n.ref.context && n.ref.namespace).map((n) => ({ context: n.ref.context!, namespace: n.ref.namespace! })) : [await targetOf(ext.reader, node, { withSite: true, placeHolder: 'Context of the site to delete' })];
  const names = targets.map(where).join(', ');
  const ok = await vscode.window.showWarningMessage(`Delete the Skupper site in ${names}? Its links and exposed services stop working.`, { modal: true }, 'Delete');
  if (ok !== 'Delete') return;
  for (const t of targets) {
    await withProgress(`Deleting site in ${where(t)}`, async (report) => {
      const msg = await adapter.deleteSite(t, report);
      await ext.refresh(t.context);
      void vscode.window.showInformationMessage(msg || `Site deleted from ${where(t)}`);
    });
  }
}

async function status(ext: Ext, node?: NodeDesc): Promise<void> {
  await ext.ensureStarted();
  const t = await targetOf(ext.reader, node, { withSite: true });
  const text = await adapter.status(t);
  log.info(`status ${where(t)}:\n${text}`);
  const first = text.split('\n')[0] ?? '';
  const pick = await vscode.window.showInformationMessage(first, 'Show details');
  if (pick) log.show();
}

async function createToken(ext: Ext, node?: NodeDesc): Promise<void> {
  await ext.ensureStarted();
  const t = await targetOf(ext.reader, node, { withSite: true, placeHolder: 'Site that will accept the link (issues the token)' });
  const expiry = cfg().get<string>('tokenExpiry', '15m');
  const uses = cfg().get<number>('tokenUses', 1);
  const dest = need(
    await vscode.window.showQuickPick(
      [
        { label: 'Save to file…', id: 'file', detail: `A token for ${where(t)}: expires in ${expiry}, ${uses} use(s) (settings skupper.tokenExpiry, skupper.tokenUses)` },
        { label: 'Copy to clipboard', id: 'clipboard', detail: 'Paste it into Create Link on the other site' },
      ],
      { placeHolder: 'Where should the token go?', ignoreFocusOut: true },
    ),
  );
  let uri: vscode.Uri | undefined;
  if (dest.id === 'file') {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    uri = await vscode.window.showSaveDialog({ defaultUri: folder ? vscode.Uri.joinPath(folder, `${siteAt(ext.reader, t)?.name ?? t.namespace}-token.yaml`) : undefined, filters: { 'Skupper token': ['yaml', 'yml'] }, title: 'Save token' });
    if (!uri) return;
  }
  const yaml = await withProgress(`Creating token in ${where(t)}`, async () => adapter.createToken(t, { expiry, uses }));
  if (uri) {
    await vscode.workspace.fs.writeFile(uri, Buffer.from(yaml, 'utf8'));
    log.info(`token for ${where(t)} written to ${uri.fsPath}`);
    void vscode.window.showInformationMessage(`Token written to ${uri.fsPath}. Keep it secret: it grants a link to ${where(t)}.`);
  } else {
    await vscode.env.clipboard.writeText(yaml);
    void vscode.window.showInformationMessage(`Token for ${where(t)} copied to the clipboard.`);
  }
}

async function tokenFromSource(ext: Ext, t: Target): Promise<string> {
  const items = [
    { label: '$(file) From a token file…', id: 'file' },
    { label: '$(clippy) From the clipboard', id: 'clipboard' },
    { label: '$(key) From another site (creates a token there)', id: 'site' },
  ];
  const pick = need(await vscode.window.showQuickPick(items, { placeHolder: `Link ${where(t)} using…`, ignoreFocusOut: true }));
  if (pick.id === 'file') {
    const uris = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'Skupper token': ['yaml', 'yml'] }, defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri, title: 'Token file' });
    const uri = need(uris?.[0]);
    return Buffer.from(await vscode.workspace.fs.readFile(uri)).toString('utf8');
  }
  if (pick.id === 'clipboard') {
    const text = await vscode.env.clipboard.readText();
    if (!text.trim()) throw new UserError('the clipboard is empty: copy a token first (Skupper: Create Token → Copy to clipboard)');
    return text;
  }
  const from = await pickSite(ext.reader, 'Site to link to', t);
  return adapter.createToken(from, { expiry: cfg().get('tokenExpiry', '15m'), uses: 1 });
}

async function createLink(ext: Ext, node?: NodeDesc): Promise<void> {
  await ext.ensureStarted();
  const t = await targetOf(ext.reader, node, { withSite: true, placeHolder: 'Site that will link out (uses the token)' });
  const token = await tokenFromSource(ext, t);
  const name = await withProgress(`Creating link from ${where(t)}`, async (report) => adapter.createLink(t, token, {}, report));
  await ext.refresh(t.context);
  void vscode.window.showInformationMessage(`Link ${name} created in ${where(t)}; it shows as up in the Links view once connected.`);
}

async function deleteLink(ext: Ext, node?: NodeDesc): Promise<void> {
  await ext.ensureStarted();
  const t = await targetOf(ext.reader, node, { withSite: true });
  let name = node?.ref.link;
  if (!name) {
    const links = siteAt(ext.reader, t)?.links.filter((l) => !l.incoming) ?? [];
    if (links.length === 0) throw new UserError(`${where(t)} has no links`);
    name = need(await vscode.window.showQuickPick(links.map((l) => ({ label: l.name, description: `${l.state} → ${l.remoteSiteName ?? '?'}` })), { placeHolder: 'Link to delete' })).label;
  }
  const ok = await vscode.window.showWarningMessage(`Delete link ${name} from ${where(t)}?`, { modal: true }, 'Delete');
  if (ok !== 'Delete') return;
  await adapter.deleteLink(t, name);
  await ext.refresh(t.context);
  void vscode.window.showInformationMessage(`Link ${name} deleted from ${where(t)}`);
}

async function exposeWorkload(ext: Ext, w: Workload | undefined, node?: NodeDesc, fromTree = false): Promise<void> {
  await ext.ensureStarted();
  let t: Target;
  if (w?.namespace && node?.ref.context === undefined) {
    const context = await pickContext(ext.reader, `Context where ${w.kind}/${w.name} runs (namespace ${w.namespace})`);
    t = { context, namespace: w.namespace };
  } else {
    t = await targetOf(ext.reader, node, { withSite: true, placeHolder: w ? `Context where ${w.kind}/${w.name} runs` : 'Context of the workload' });
  }
  if (!siteAt(ext.reader, t)) throw new UserError(`${where(t)} has no Skupper site: initialize one first (Skupper: Initialize Site)`);
  let kind = w?.kind;
  let name = w?.name;
  if (!kind || !name) {
    kind = need(await vscode.window.showQuickPick(['deployment', 'statefulset', 'service'], { placeHolder: 'Kind of workload' })) as Workload['kind'];
    name = need(await vscode.window.showInputBox({ prompt: `Name of the ${kind} in ${where(t)}`, validateInput: validateDnsLabel, ignoreFocusOut: true }));
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
  const exists = await adapter.workloadExists(t, kind, name);
  if (exists === false) throw new UserError(`${kind}/${name} is not deployed in ${where(t)}: apply the manifest there first, or pick the context where it runs`);
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

const validatePort = (v: string) => (/^\d+$/.test(v.trim()) && Number(v) >= 1 && Number(v) <= 65535 ? undefined : 'a port number, 1-65535');

/** A laptop site: pick it from the node, else from the laptop sites (the only one when there is one). */
async function laptopTarget(ext: Ext, node: NodeDesc | undefined, placeHolder: string): Promise<Target> {
  const ref = node?.ref;
  if (ref?.platform === 'local' && ref.namespace && ref.siteName) return { context: 'laptop', namespace: ref.siteName, local: { dir: ref.namespace, name: ref.siteName } };
  const sites = ext.reader.current.local;
  if (sites.length === 0) throw new UserError('no laptop site on this machine: start one first (Skupper: Start Laptop Site)');
  const site = sites.length === 1 ? sites[0]! : need(await vscode.window.showQuickPick(sites.map((s) => ({ label: s.name, s })), { placeHolder, ignoreFocusOut: true })).s;
  return { context: 'laptop', namespace: site.name, local: { dir: site.namespace, name: site.name } };
}

/** Expose a port of this machine from a laptop site: the port, then the name the network knows it by. */
async function exposeLaptopPort(ext: Ext, t: Target): Promise<void> {
  const text = need(
    await vscode.window.showInputBox({
      prompt: `Port on this machine to expose to the network from laptop site ${t.local!.name} (host:port for another host)`,
      placeHolder: '8080 or 192.168.1.20:5432',
      validateInput: (v) => (/^(([a-zA-Z0-9][-a-zA-Z0-9.]*|\[[0-9a-fA-F:]+\]):)?\d+$/.test(v.trim()) && !validatePort(v.trim().split(':').pop()!) ? undefined : 'a port (8080), or host:port'),
      ignoreFocusOut: true,
    }),
  ).trim();
  const colon = text.lastIndexOf(':');
  const host = colon > 0 ? text.slice(0, colon).replace(/^\[|\]$/g, '') : '127.0.0.1';
  const port = Number(colon > 0 ? text.slice(colon + 1) : text);
  const address = need(await vscode.window.showInputBox({ prompt: `Service name for ${host}:${port} in every linked site`, validateInput: validateDnsLabel, ignoreFocusOut: true }));
  const msg = await adapter.exposeHost(t, { host, address, ports: [port] });
  ext.refreshLocal();
  void vscode.window.showInformationMessage(msg);
}

/** Reach a network service on a port of this machine (a laptop site listens only where asked). */
async function forwardService(ext: Ext, node?: NodeDesc): Promise<void> {
  await ext.ensureStarted();
  const t = await laptopTarget(ext, node, 'Laptop site that forwards the service');
  const services = siteAt(ext.reader, t)?.services ?? [];
  let address = node?.ref.address;
  if (!address) {
    const choices = services.filter((s) => !s.exposedHere);
    if (choices.length === 0) throw new UserError(`laptop site ${t.local!.name} sees no service in the network yet: link it to a site that exposes one`);
    address = need(await vscode.window.showQuickPick(choices.map((s) => ({ label: s.address, description: [`${s.protocol} ${s.ports.join(',')}`, s.forwardedTo ? `→ ${s.forwardedTo}` : undefined].filter(Boolean).join(' · ') })), { placeHolder: 'Service to reach from this machine', ignoreFocusOut: true })).label;
  }
  const suggested = services.find((s) => s.address === address)?.ports[0];
  const port = Number(
    need(await vscode.window.showInputBox({ prompt: `Local port for ${address} (on 127.0.0.1)`, value: suggested ? String(suggested) : '', placeHolder: '9090', validateInput: validatePort, ignoreFocusOut: true })),
  );
  const at = await adapter.forward(t, { address, port });
  ext.refreshLocal();
  log.info(`${address} forwarded to ${at} by laptop site ${t.local!.name}`);
  void vscode.window.showInformationMessage(`${address} is reachable at ${at} on this machine`, 'Copy address').then((pick) => pick && vscode.env.clipboard.writeText(at));
}

async function unforwardService(ext: Ext, node?: NodeDesc): Promise<void> {
  await ext.ensureStarted();
  const t = await laptopTarget(ext, node, 'Laptop site');
  let address = node?.ref.address;
  if (!address) {
    const forwarded = siteAt(ext.reader, t)?.services.filter((s) => s.forwardedTo) ?? [];
    if (forwarded.length === 0) throw new UserError(`laptop site ${t.local!.name} forwards no service`);
    address = need(await vscode.window.showQuickPick(forwarded.map((s) => ({ label: s.address, description: `→ ${s.forwardedTo}` })), { placeHolder: 'Service to stop forwarding' })).label;
  }
  await adapter.unforward(t, address);
  ext.refreshLocal();
  void vscode.window.showInformationMessage(`${address} is no longer forwarded to this machine`);
}

async function expose(ext: Ext, node?: NodeDesc | vscode.Uri): Promise<void> {
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

async function unexpose(ext: Ext, node?: NodeDesc): Promise<void> {
  await ext.ensureStarted();
  const t = await targetOf(ext.reader, node, { withSite: true });
  let address = node?.ref.address;
  if (!address) {
    const services = siteAt(ext.reader, t)?.services.filter((s) => s.exposedHere) ?? [];
    if (services.length === 0) throw new UserError(`nothing is exposed from ${where(t)}`);
    address = need(await vscode.window.showQuickPick(services.map((s) => ({ label: s.address, description: s.targets.join(', ') })), { placeHolder: 'Service to stop exposing' })).label;
  }
  // from a workload node: its kind and name say which target to remove
  const wl = workloadOf(node);
  await adapter.unexpose(t, wl ? { kind: wl.kind, name: wl.name, address } : { address });
  if (t.local) ext.refreshLocal();
  else await ext.refresh(t.context);
  void vscode.window.showInformationMessage(wl ? `${wl.kind}/${wl.name} is no longer exposed as ${address} from ${where(t)}` : `${address} is no longer exposed from ${where(t)}`);
}

async function revokeAccess(ext: Ext, node?: NodeDesc): Promise<void> {
  await ext.ensureStarted();
  const t = await targetOf(ext.reader, node, { withSite: true });
  const ok = await vscode.window.showWarningMessage(`Revoke every token and link issued by ${where(t)}? Sites linked to it disconnect until given a new token.`, { modal: true }, 'Revoke');
  if (ok !== 'Revoke') return;
  const msg = await withProgress(`Revoking access to ${where(t)}`, async () => adapter.revokeAccess(t));
  await ext.refresh();
  void vscode.window.showInformationMessage(msg || `Access to ${where(t)} revoked`);
}

async function showEvents(ext: Ext, node?: NodeDesc): Promise<void> {
  await ext.ensureStarted();
  const t = await targetOf(ext.reader, node, { withSite: true });
  const text = await adapter.events(t);
  const doc = await vscode.workspace.openTextDocument({ content: `# Skupper events in ${where(t)}\n${text}`, language: 'log' });
  await vscode.window.showTextDocument(doc, { preview: true });
}

async function connectContexts(ext: Ext): Promise<void> {
  await ext.ensureStarted();
  const acceptContext = await pickContext(ext.reader, '1/2 Context that accepts the link (e.g. the public cluster)');
  const acceptNs = await pickNamespace(ext.reader, acceptContext, { preferOwn: true });
  const linkContext = await pickContext(ext.reader, '2/2 Context that links to it (e.g. the private cluster)', undefined);
  const linkNs = await pickNamespace(ext.reader, linkContext, { preferOwn: true });
  const a: Target = { context: acceptContext, namespace: acceptNs };
  const b: Target = { context: linkContext, namespace: linkNs };
  if (where(a) === where(b)) throw new UserError('pick two different sites');
  await withProgress(`Connecting ${where(b)} → ${where(a)}`, async (report, token) => {
    for (const t of [a, b]) {
      if (!siteAt(ext.reader, t)) {
        report(`initializing a site in ${where(t)}`);
        await adapter.init(t, { ingress: cfg().get('defaultIngress'), routerImage: cfg().get('routerImage') }, report);
        await ext.refresh(t.context);
      }
    }
    report(`creating a token in ${where(a)}`);
    const tok = await adapter.createToken(a, { expiry: cfg().get('tokenExpiry', '15m'), uses: 1 });
    report(`creating the link in ${where(b)}`);
    const name = await adapter.createLink(b, tok, {}, report);
    report(`waiting for link ${name} to come up`);
    const up = await waitFor(ext, b, () => siteAt(ext.reader, b)?.links.find((l) => l.name === name)?.state === 'up', 120_000, token);
    if (!up) {
      const l = siteAt(ext.reader, b)?.links.find((x) => x.name === name);
      throw new UserError(`link ${name} was created but is ${l?.state ?? 'not reported'}${l?.error ? `: ${l.error}` : ''}`);
    }
    void vscode.window.showInformationMessage(`Connected: ${where(b)} → ${where(a)} (link ${name} is up)`);
  }, true);
}

async function startLocalSite(ext: Ext, node?: NodeDesc): Promise<void> {
  await ext.ensureStarted();
  const name = node?.ref.platform === 'local' && node.ref.siteName ? node.ref.siteName : need(await vscode.window.showInputBox({ prompt: 'Name of the laptop site (a router process on this machine)', value: ext.reader.current.local[0]?.name ?? 'laptop', validateInput: validateDnsLabel, ignoreFocusOut: true }));
  const msg = await withProgress(`Laptop site ${name}`, async (report) => adapter.startLocal(name, report));
  ext.refreshLocal();
  void vscode.window.showInformationMessage(msg);
}

async function stopLocalSite(ext: Ext, node?: NodeDesc): Promise<void> {
  const name = node?.ref.siteName ?? need(await vscode.window.showQuickPick(ext.reader.current.local.map((s) => s.name), { placeHolder: 'Laptop site to stop' }));
  const msg = await adapter.stopLocal(name);
  ext.refreshLocal();
  void vscode.window.showInformationMessage(msg);
}

async function chooseNamespace(ext: Ext, node?: NodeDesc): Promise<void> {
  await ext.ensureStarted();
  const context = node?.ref.context ?? (await pickContext(ext.reader));
  const current = ext.reader.current.contexts.find((c) => c.name === context)?.namespace ?? 'default';
  const ns = need(await vscode.window.showInputBox({ prompt: `Namespace to use in ${context} (kept by the extension; the kubeconfig is not changed)`, value: current, validateInput: validateDnsLabel }));
  await ext.chooseNamespace(context, ns);
}

export const commandTable: { command: string; handler: Handler }[] = [
  { command: 'skupper.init', handler: init },
  { command: 'skupper.delete', handler: deleteSite },
  { command: 'skupper.status', handler: status },
  { command: 'skupper.createToken', handler: createToken },
  { command: 'skupper.createLink', handler: createLink },
  { command: 'skupper.deleteLink', handler: deleteLink },
  { command: 'skupper.expose', handler: (ext, node) => expose(ext, node as NodeDesc | vscode.Uri | undefined) },
  { command: 'skupper.unexpose', handler: unexpose },
  { command: 'skupper.revokeAccess', handler: revokeAccess },
  { command: 'skupper.showEvents', handler: showEvents },
  { command: 'skupper.showTopology', handler: async (ext) => ext.showTopology() },
  { command: 'skupper.refresh', handler: async (ext) => { await ext.ensureStarted(); ext.reader.loadContexts(); await ext.refresh(); } },
  { command: 'skupper.connectContexts', handler: connectContexts },
  { command: 'skupper.chooseNamespace', handler: chooseNamespace },
  { command: 'skupper.startLocalSite', handler: startLocalSite },
  { command: 'skupper.stopLocalSite', handler: stopLocalSite },
  { command: 'skupper.forwardService', handler: forwardService },
  { command: 'skupper.unforwardService', handler: unforwardService },
  { command: 'skupper.reveal', handler: async (ext, node) => ext.reveal((node as NodeDesc | undefined)?.ref ?? {}) },
];

/** Registers every command through one wrapper that logs and shows errors. */
export function registerCommands(ext: Ext): vscode.Disposable[] {
  return commandTable.map(({ command, handler }) =>
    vscode.commands.registerCommand(command, async (node?: NodeDesc, nodes?: NodeDesc[]) => {
      const started = Date.now();
      log.info(`${command} started`);
      try {
        await handler(ext, node, Array.isArray(nodes) ? nodes : undefined);
        log.info(`${command} done in ${Date.now() - started} ms`);
      } catch (e) {
        if (e instanceof Cancelled) {
          log.info(`${command} cancelled`);
          return;
        }
        const message = errorMessage(e).split('\n')[0] ?? 'failed';
        log.error(`${command} failed: ${message}`, e instanceof UserError ? e.detail : e);
        // not awaited: the command finishes now; the button stays on the notification
        void vscode.window.showErrorMessage(`Skupper: ${message}`, 'Show log').then((pick) => pick === 'Show log' && log.show());
      }
    }),
  );
}
