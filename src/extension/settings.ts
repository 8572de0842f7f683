// The settings that decide what a site runs and what a token grants, read with limits. They are
// machine-scoped (package.json), so a repository's .vscode/settings.json cannot set them; the limits
// and the notice below are the second line. No vscode import: the rules are tested without an editor.
import { isAbsolute, relative, resolve } from 'node:path';
import { DEFAULT_ROUTER_IMAGE } from '../core/site/build';
import { parseDuration } from '../core/token/token';

/** A token made from the editor is redeemable for at most a day, and at most 10 times (the CLI's flags are not capped). */
export const MAX_TOKEN_EXPIRY_MS = 24 * 3600_000;
export const MAX_TOKEN_USES = 10;
export const DEFAULT_TOKEN_EXPIRY = '15m';

export interface TokenSettings {
  expiry: string;
  expiryMs: number;
  uses: number;
  /** What was changed from the settings, in words (empty when nothing). */
  notes: string[];
}

/** skupper.tokenExpiry and skupper.tokenUses, checked and capped. */
export function tokenSettings(expiry: unknown, uses: unknown): TokenSettings {
  const notes: string[] = [];
  let text = typeof expiry === 'string' && expiry.trim() ? expiry.trim() : DEFAULT_TOKEN_EXPIRY;
  let ms: number;
  try {
    ms = parseDuration(text, 'skupper.tokenExpiry');
  } catch {
    notes.push(`skupper.tokenExpiry "${String(expiry).slice(0, 40)}" is not a duration: ${DEFAULT_TOKEN_EXPIRY} used`);
    text = DEFAULT_TOKEN_EXPIRY;
    ms = parseDuration(text);
  }
  if (ms > MAX_TOKEN_EXPIRY_MS) {
    notes.push(`skupper.tokenExpiry ${text} is over the limit: 24h used (van token create --expiry for longer)`);
    text = '24h';
    ms = MAX_TOKEN_EXPIRY_MS;
  }
  let n = typeof uses === 'number' && Number.isInteger(uses) && uses >= 1 ? uses : 1;
  if (n === 1 && uses !== undefined && uses !== 1)
    notes.push(`skupper.tokenUses ${String(uses).slice(0, 20)} is not a whole number of at least 1: 1 used`);
  if (n > MAX_TOKEN_USES) {
    notes.push(`skupper.tokenUses ${n} is over the limit: ${MAX_TOKEN_USES} used (van token create --uses for more)`);
    n = MAX_TOKEN_USES;
  }
  return { expiry: text, expiryMs: ms, uses: n, notes };
}

/**
 * What to ask before init when skupper.routerImage is not the default (the image the router pods run,
 * with the site's keys), or undefined when it is the default.
 */
export function routerImageNotice(image: unknown, where?: string): string | undefined {
  if (typeof image !== 'string' || image.trim() === '' || image.trim() === DEFAULT_ROUTER_IMAGE) return undefined;
  return (
    `The router pods will run the image "${image.trim().slice(0, 200)}" (setting skupper.routerImage${where ? ` in ${where}` : ''}), not the default ${DEFAULT_ROUTER_IMAGE}. ` +
    `It runs the site's router with the site's certificates and keys: use it only if you trust it.`
  );
}

/** The workspace folder `path` is in (itself or below), if any. */
export function workspaceFolderOf(path: string, folders: readonly string[]): string | undefined {
  const target = resolve(path);
  return folders.find((folder) => {
    const rel = relative(resolve(folder), target);
    return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
  });
}
