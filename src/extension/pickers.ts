// Ask only for what cannot be inferred: QuickPicks of contexts, namespaces, sites, links, services.
import * as vscode from 'vscode';
import type { NetworkReader } from '../core/network/reader';
import type { SiteRecord } from '../core/network/types';
import type { NodeDesc } from '../views/model/nodes';
import type { Target } from './core-adapter';
import { Cancelled, UserError } from '../core/errors';

export { Cancelled };

export function need<T>(v: T | undefined): T {
  if (v === undefined) throw new Cancelled();
  return v;
}

export async function pickContext(reader: NetworkReader, placeHolder = 'Kubernetes context', exclude?: string): Promise<string> {
  if (reader.current.contexts.length === 0) reader.loadContexts();
  const items = reader.current.contexts
    .filter((c) => c.name !== exclude)
    .sort((a, b) => Number(!!b.current) - Number(!!a.current))
    .map((c) => ({
      label: c.name,
      description: [c.current ? 'current' : undefined, c.server].filter(Boolean).join(' · '),
      detail:
        c.phase === 'error'
          ? `$(warning) ${c.error}`
          : c.phase === 'ok'
            ? `${c.namespaces.filter((n) => n.site).length} site(s) · namespace ${c.namespace}`
            : undefined,
    }));
  if (items.length === 0) throw new Error('no Kubernetes contexts in the kubeconfig');
  const pick = await vscode.window.showQuickPick(items, { placeHolder, ignoreFocusOut: true, matchOnDescription: true });
  return need(pick).label;
}

export async function pickNamespace(
  reader: NetworkReader,
  context: string,
  opts: { withSite?: boolean; withoutSite?: boolean; preferOwn?: boolean } = {},
): Promise<string> {
  const rec = reader.current.contexts.find((c) => c.name === context);
  const own = rec?.namespace ?? 'default';
  const names = (rec?.namespaces ?? []).filter((n) => (opts.withSite ? !!n.site : opts.withoutSite ? !n.site : true)).map((n) => n.name);
  if (!opts.withSite && !names.includes(own)) names.unshift(own);
  // like the CLI: the context's own namespace when it fits what the command needs
  const ownRec = rec?.namespaces.find((n) => n.name === own);
  if (opts.preferOwn) return own;
  if (opts.withSite && ownRec?.site) return own;
  if (opts.withoutSite && !ownRec?.site) return own;
  if (opts.withSite && names.length === 1) return names[0]!;
  if (opts.withSite && names.length === 0) throw new UserError(`no site in ${context}: initialize one first (Skupper: Initialize Site)`);
  if (!opts.withSite && names.length === 1 && names[0] === own && !rec?.namespaces.some((n) => n.site && n.name !== own)) {
    // nothing to choose between: the context's own namespace
    return own;
  }
  const other = '$(edit) Other namespace…';
  const pick = await vscode.window.showQuickPick(
    [...names.map((n) => ({ label: n, description: n === own ? "this context's namespace" : undefined })), { label: other }],
    {
      placeHolder: `Namespace in ${context}`,
      ignoreFocusOut: true,
    },
  );
  const label = need(pick).label;
  if (label !== other) return label;
  return need(
    await vscode.window.showInputBox({
      prompt: `Namespace in ${context}`,
      value: own,
      validateInput: validateDnsLabel,
      ignoreFocusOut: true,
    }),
  );
}

export function validateDnsLabel(v: string): string | undefined {
  return /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(v) ? undefined : 'lower case letters, digits and "-", at most 63 characters';
}

/** Target from a tree node, else asked for. */
export async function targetOf(
  reader: NetworkReader,
  node: NodeDesc | undefined,
  opts: { withSite?: boolean; withoutSite?: boolean; placeHolder?: string } = {},
): Promise<Target> {
  const ref = node?.ref;
  if (ref?.platform === 'local' && ref.namespace && ref.siteName)
    return { context: 'laptop', namespace: ref.siteName, local: { dir: ref.namespace, name: ref.siteName } };
  if (ref?.context && ref.namespace) return { context: ref.context, namespace: ref.namespace };
  const context = ref?.context ?? (await pickContext(reader, opts.placeHolder));
  const namespace = await pickNamespace(reader, context, opts);
  return { context, namespace };
}

export function siteAt(reader: NetworkReader, t: Target): SiteRecord | undefined {
  if (t.local) return reader.current.local.find((s) => s.namespace === t.local!.dir);
  return reader.current.contexts.find((c) => c.name === t.context)?.namespaces.find((n) => n.name === t.namespace)?.site;
}

/** Pick a site anywhere in the network (for a token source, or a link's site). */
export async function pickSite(reader: NetworkReader, placeHolder: string, exclude?: Target): Promise<Target> {
  const items: (vscode.QuickPickItem & { t: Target })[] = [];
  for (const c of reader.current.contexts) {
    for (const n of c.namespaces) {
      if (!n.site) continue;
      if (exclude && exclude.context === c.name && exclude.namespace === n.name) continue;
      items.push({ label: n.site.name, description: `${c.name} / ${n.name}`, t: { context: c.name, namespace: n.name } });
    }
  }
  for (const s of reader.current.local) {
    if (exclude?.local?.dir === s.namespace) continue;
    items.push({
      label: s.name,
      description: 'laptop site',
      t: { context: 'laptop', namespace: s.name, local: { dir: s.namespace, name: s.name } },
    });
  }
  if (items.length === 0) throw new Error('no reachable site to take a token from');
  return need(await vscode.window.showQuickPick(items, { placeHolder, ignoreFocusOut: true })).t;
}
