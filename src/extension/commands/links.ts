// Token and link commands: create a token (to a file or the clipboard), create and delete links.
import { homedir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { UserError } from '../../core/errors';
import type { NodeDesc } from '../../views/model/nodes';
import { adapter, type Target } from '../core-adapter';
import { log } from '../log';
import { Cancelled, need, pickSite, siteAt, targetOf } from '../pickers';
import { workspaceFolderOf } from '../settings';
import { type Ext, tokenSettingsNow, where, withProgress } from './shared';

export async function createToken(ext: Ext, node?: NodeDesc): Promise<void> {
  await ext.ensureStarted();
  const t = await targetOf(ext.reader, node, { withSite: true, placeHolder: 'Site that will accept the link (issues the token)' });
  const { expiry, uses, notes } = tokenSettingsNow();
  const dest = need(
    await vscode.window.showQuickPick(
      [
        {
          label: 'Save to file…',
          id: 'file',
          detail: `A token for ${where(t)}: expires in ${expiry}, ${uses} use(s) (settings skupper.tokenExpiry, skupper.tokenUses${notes.length ? `; ${notes.join('; ')}` : ''})`,
        },
        { label: 'Copy to clipboard', id: 'clipboard', detail: 'Paste it into Create Link on the other site' },
      ],
      { placeHolder: 'Where should the token go?', ignoreFocusOut: true },
    ),
  );
  if (dest.id === 'file') {
    // Outside the workspace by default: a token in a repository gets committed, synced or shared.
    const uri = await vscode.window.showSaveDialog({
      defaultUri: vscode.Uri.file(join(homedir(), `${siteAt(ext.reader, t)?.name ?? t.namespace}-token.yaml`)),
      filters: { 'Skupper token': ['yaml', 'yml'] },
      title: 'Save token (outside the workspace)',
    });
    if (!uri) return;
    if (uri.scheme !== 'file')
      throw new UserError(`save the token to a file on this machine (its permissions cannot be set on ${uri.scheme}:)`);
    const folder = workspaceFolderOf(
      uri.fsPath,
      (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath),
    );
    if (folder) {
      const ok = await vscode.window.showWarningMessage(
        `${uri.fsPath} is inside the workspace folder ${folder}: a token there can end up committed or shared, and it grants a link to ${where(t)}. Save it there anyway?`,
        { modal: true },
        'Save here',
      );
      if (ok !== 'Save here') throw new Cancelled();
    }
    await withProgress(`Creating token in ${where(t)}`, async () => adapter.saveToken(t, { expiry, uses }, uri.fsPath));
    log.info(`token for ${where(t)} written to ${uri.fsPath} (owner-only, 0600)`);
    void vscode.window.showInformationMessage(
      `Token written to ${uri.fsPath}, readable by you only. Keep it secret: it grants a link to ${where(t)}.`,
    );
    return;
  }
  const yaml = await withProgress(`Creating token in ${where(t)}`, async () => adapter.createToken(t, { expiry, uses }));
  await vscode.env.clipboard.writeText(yaml);
  void vscode.window.showInformationMessage(`Token for ${where(t)} copied to the clipboard.`);
}

export async function tokenFromSource(ext: Ext, t: Target): Promise<string> {
  const items = [
    { label: '$(file) From a token file…', id: 'file' },
    { label: '$(clippy) From the clipboard', id: 'clipboard' },
    { label: '$(key) From another site (creates a token there)', id: 'site' },
  ];
  const pick = need(await vscode.window.showQuickPick(items, { placeHolder: `Link ${where(t)} using…`, ignoreFocusOut: true }));
  if (pick.id === 'file') {
    const uris = await vscode.window.showOpenDialog({
      canSelectMany: false,
      filters: { 'Skupper token': ['yaml', 'yml'] },
      defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
      title: 'Token file',
    });
    const uri = need(uris?.[0]);
    return Buffer.from(await vscode.workspace.fs.readFile(uri)).toString('utf8');
  }
  if (pick.id === 'clipboard') {
    const text = await vscode.env.clipboard.readText();
    if (!text.trim()) throw new UserError('the clipboard is empty: copy a token first (Skupper: Create Token → Copy to clipboard)');
    return text;
  }
  const from = await pickSite(ext.reader, 'Site to link to', t);
  return adapter.createToken(from, { expiry: tokenSettingsNow().expiry, uses: 1 });
}

export async function createLink(ext: Ext, node?: NodeDesc): Promise<void> {
  await ext.ensureStarted();
  const t = await targetOf(ext.reader, node, { withSite: true, placeHolder: 'Site that will link out (uses the token)' });
  const token = await tokenFromSource(ext, t);
  const name = await withProgress(`Creating link from ${where(t)}`, async (report) => adapter.createLink(t, token, {}, report));
  await ext.refresh(t.context);
  void vscode.window.showInformationMessage(`Link ${name} created in ${where(t)}; it shows as up in the Links view once connected.`);
}

export async function deleteLink(ext: Ext, node?: NodeDesc): Promise<void> {
  await ext.ensureStarted();
  const t = await targetOf(ext.reader, node, { withSite: true });
  let name = node?.ref.link;
  if (!name) {
    const links = siteAt(ext.reader, t)?.links.filter((l) => !l.incoming) ?? [];
    if (links.length === 0) throw new UserError(`${where(t)} has no links`);
    name = need(
      await vscode.window.showQuickPick(
        links.map((l) => ({ label: l.name, description: `${l.state} → ${l.remoteSiteName ?? '?'}` })),
        { placeHolder: 'Link to delete' },
      ),
    ).label;
  }
  const ok = await vscode.window.showWarningMessage(`Delete link ${name} from ${where(t)}?`, { modal: true }, 'Delete');
  if (ok !== 'Delete') return;
  await adapter.deleteLink(t, name);
  await ext.refresh(t.context);
  void vscode.window.showInformationMessage(`Link ${name} deleted from ${where(t)}`);
}
