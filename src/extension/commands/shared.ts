// What the extension's commands share: the extension handle, settings, progress and waiting.
import * as vscode from 'vscode';
import { DEFAULT_ROUTER_IMAGE } from '../../core/site/build';
import type { NetworkReader } from '../../core/network/reader';
import type { NodeDesc } from '../../views/model/nodes';
import { type Target } from '../core-adapter';
import { log } from '../log';
import { need } from '../pickers';
import { routerImageNotice, tokenSettings } from '../settings';

export interface Ext {
  reader: NetworkReader;
  context: vscode.ExtensionContext;
  ensureStarted(): Promise<void>;
  refresh(context?: string): Promise<void>;
  /** Laptop sites only (their folders): cheap, no cluster call. */
  refreshLocal(): void;
  showTopology(): void;
  /** The traffic panel of a service (asked for when not given). */
  showTraffic?(address?: string): Promise<void>;
  chooseNamespace(context: string, namespace: string): Promise<void>;
  reveal(ref: NodeDesc['ref']): Promise<void>;
}

export type Handler = (ext: Ext, node?: NodeDesc, nodes?: NodeDesc[]) => Promise<unknown>;

export const cfg = () => vscode.workspace.getConfiguration('skupper');

export const where = (t: Target) => (t.local ? `laptop site ${t.local.name}` : `${t.context}/${t.namespace}`);

export function withProgress<T>(
  title: string,
  task: (report: (m: string) => void, token: vscode.CancellationToken) => Promise<T>,
  cancellable = false,
): Promise<T> {
  return Promise.resolve(
    vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable }, (p, token) =>
      task((message) => {
        log.info(`${title}: ${message}`);
        p.report({ message });
      }, token),
    ),
  );
}

/**
 * The router image for a new site: skupper.routerImage (machine-scoped: never from a repository's
 * settings). When it is not the default, the user sees it and chooses before anything is created.
 */
export async function routerImage(): Promise<string | undefined> {
  const image = cfg().get<string>('routerImage');
  const notice = routerImageNotice(image, cfg().inspect('routerImage')?.globalValue !== undefined ? 'your user settings' : undefined);
  if (!notice || !image) return image;
  const use = `Use ${image.trim()}`;
  const fallback = `Use ${DEFAULT_ROUTER_IMAGE}`;
  const pick = need(await vscode.window.showWarningMessage(notice, { modal: true }, use, fallback));
  log.info(`router image: ${pick === use ? image.trim() : DEFAULT_ROUTER_IMAGE} (skupper.routerImage is ${image.trim()})`);
  return pick === use ? image.trim() : DEFAULT_ROUTER_IMAGE;
}

/** skupper.tokenExpiry and skupper.tokenUses, capped; what was changed goes to the log. */
export function tokenSettingsNow() {
  const s = tokenSettings(cfg().get('tokenExpiry'), cfg().get('tokenUses'));
  for (const note of s.notes) log.warn(note);
  return s;
}

export async function waitFor(
  ext: Ext,
  t: Target,
  pred: () => boolean,
  timeoutMs: number,
  token?: vscode.CancellationToken,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !token?.isCancellationRequested) {
    await ext.refresh(t.context);
    if (pred()) return true;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return pred();
}

export const validatePort = (v: string) =>
  /^\d+$/.test(v.trim()) && Number(v) >= 1 && Number(v) <= 65535 ? undefined : 'a port number, 1-65535';
