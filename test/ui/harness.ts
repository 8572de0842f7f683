// UI test harness: real VS Code (code-server, installed by scripts/ui/install.sh into a cache folder)
// in Debian's Chromium driven by playwright-core. Each run gets fresh user-data, extensions and config
// folders; the extension is loaded from this repository as a development extension (build it first);
// KUBECONFIG is set for the server process (so for the extension host). Only loopback is reachable.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import * as http from 'node:http';

import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type FrameLocator, type Locator, type Page } from 'playwright-core';
import { freePort } from '../net';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CS_VERSION = '4.100.3';
export const CS_DIR =
  process.env.VAN_UI_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'vscode-skupper', `code-server-${CS_VERSION}`);
export const CS_BIN = join(CS_DIR, 'node_modules', '.bin', 'code-server');
export const CHROMIUM = process.env.VAN_UI_CHROMIUM ?? '/usr/bin/chromium';
export const SHOTS = join(ROOT, 'test-output', 'ui');

/** Why the UI tests cannot run here, or undefined. Installs code-server when VAN_UI_INSTALL=1. */
export function uiUnavailable(): string | undefined {
  if (!existsSync(CS_BIN) && process.env.VAN_UI_INSTALL === '1') {
    spawnSync('bash', [join(ROOT, 'scripts/ui/install.sh')], { stdio: 'inherit' });
  }
  if (!existsSync(CS_BIN)) return `code-server not installed (run: bash scripts/ui/install.sh)`;
  if (!existsSync(CHROMIUM)) return `chromium not found at ${CHROMIUM}`;
  if (!existsSync(join(ROOT, 'dist/extension.js'))) return 'dist/extension.js missing (run: node scripts/build.mjs)';
  return undefined;
}

export function buildExtension(): void {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts/build.mjs')], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('build failed');
}

const healthy = (port: number) =>
  new Promise<boolean>((resolve) => {
    http
      .get({ host: '127.0.0.1', port, path: '/healthz' }, (r) => {
        r.resume();
        resolve(r.statusCode === 200);
      })
      .on('error', () => resolve(false));
  });

const SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.enableExperiments': false,
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'chat.commandCenter.enabled': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'window.commandCenter': false,
  'git.enabled': false,
  'npm.autoDetect': 'off',
  'editor.minimap.enabled': false,
  'files.simpleDialog.enable': true,
  'window.confirmBeforeClose': 'never',
};

export interface Server {
  port: number;
  dir: string;
  workspace: string;
  log: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

export async function startCodeServer(
  opts: { kubeconfig?: string; env?: Record<string, string>; settings?: Record<string, unknown>; workspace?: string } = {},
): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'van-ui-'));
  const ud = join(dir, 'ud');
  mkdirSync(join(ud, 'User'), { recursive: true });
  writeFileSync(join(ud, 'User', 'settings.json'), JSON.stringify({ ...SETTINGS, ...opts.settings }, null, 2));
  const workspace = opts.workspace ?? join(dir, 'ws');
  mkdirSync(workspace, { recursive: true });
  mkdirSync(join(dir, 'ext'), { recursive: true });
  writeFileSync(join(dir, 'config.yaml'), '');
  const port = await freePort();
  const log = join(dir, 'code-server.log');
  const out = openSync(log, 'w');
  // laptop sites of this run live in the run's folder, not the user's data folder
  const env: Record<string, string | undefined> = {
    ...process.env,
    EXTENSIONS_GALLERY: '{"serviceUrl":""}',
    VAN_LOCAL_HOME: join(dir, 'local'),
    ...opts.env,
  };
  if (opts.kubeconfig !== undefined) env.KUBECONFIG = opts.kubeconfig;
  const proc = spawn(
    CS_BIN,
    [
      '--auth',
      'none',
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--config',
      join(dir, 'config.yaml'),
      '--user-data-dir',
      ud,
      '--extensions-dir',
      join(dir, 'ext'),
      workspace,
    ],
    { env: env as NodeJS.ProcessEnv, stdio: ['ignore', out, out], detached: true },
  );
  for (let i = 0; !(await healthy(port)); i++) {
    if (i > 240 || proc.exitCode !== null) throw new Error(`code-server did not start:\n${readFileSync(log, 'utf8').slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    port,
    dir,
    workspace,
    log,
    proc,
    async stop() {
      if (proc.exitCode === null) {
        try {
          process.kill(-proc.pid!, 'SIGTERM');
        } catch {
          proc.kill();
        }
        await new Promise((r) => {
          const t = setTimeout(r, 3000);
          proc.once('exit', () => {
            clearTimeout(t);
            r(undefined);
          });
        });
      }
      if (!process.env.VAN_UI_KEEP) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const S = {
  workbench: '.monaco-workbench',
  activityItem: (title: string) => `.activitybar li.action-item:has(a.action-label[aria-label^="${title}"])`,
  treeRows: '.part.sidebar .monaco-list-row[role="treeitem"]',
  contextMenu: '.context-view .monaco-menu',
  quickInput: '.quick-input-widget',
  quickInputBox: '.quick-input-widget .quick-input-box input',
  quickRow: '.quick-input-list .monaco-list-row',
  toastDone: '.notifications-toasts .notification-toast.notification-fade-in-done',
  statusItem: (id: string) => `.statusbar-item[id="${id}"]`,
  webviewOuter: 'iframe.webview.ready',
  webviewInner: '#active-frame',
};

export interface Workbench {
  page: Page;
  browser: Browser;
  context: BrowserContext;
  server: Server;
  errors: string[];
  blocked: string[];
  shot(name: string): Promise<string>;
  close(): Promise<void>;
}

export async function openWorkbench(
  server: Server,
  opts: { folder?: string; width?: number; height?: number; installed?: boolean } = {},
): Promise<Workbench> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
  const context = await browser.newContext({ viewport: { width: opts.width ?? 1440, height: opts.height ?? 900 } });
  const blocked: string[] = [];
  await context.route(/^(https?|wss?):\/\//, (route) => {
    const u = new URL(route.request().url());
    if (u.hostname === '127.0.0.1') return route.continue();
    blocked.push(route.request().url());
    return route.abort();
  });
  await context
    .grantPermissions(['clipboard-read', 'clipboard-write'], { origin: `http://127.0.0.1:${server.port}` })
    .catch(() => undefined);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  const payload = [['extensionDevelopmentPath', `vscode-remote://remote${ROOT}`]];
  const folder = opts.folder ?? server.workspace;
  // `installed`: the extension comes from the extensions folder (an installed .vsix), not the repo.
  const query = opts.installed ? '' : `&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  await page.goto(`http://127.0.0.1:${server.port}/?folder=${encodeURIComponent(folder)}${query}`);
  await page.locator(S.workbench).waitFor({ timeout: 60_000 });
  mkdirSync(SHOTS, { recursive: true });
  return {
    page,
    browser,
    context,
    server,
    errors,
    blocked,
    async shot(name) {
      const path = join(SHOTS, `${name}.png`);
      await page.screenshot({ path });
      return path;
    },
    async close() {
      await browser.close().catch(() => undefined);
    },
  };
}

/**
 * A person's walk, as dependent steps: after a failure the rest are skipped, and the failure leaves a
 * screenshot `<prefix>-FAILED-<step>.png`; `shot(name)` numbers the walk's screenshots in order
 * (test-output/ui/<prefix>-NN-<name>.png).
 */
export function walk(
  prefix: string,
  workbench: () => Workbench | undefined,
): { step: (name: string, fn: () => Promise<void>) => void; shot: (name: string) => Promise<string> } {
  let shots = 0;
  let failed = false;
  const shot = (name: string) => workbench()!.shot(`${prefix}-${String(++shots).padStart(2, '0')}-${name}`);
  const step = (name: string, fn: () => Promise<void>) => {
    it(name, async (t) => {
      if (failed) return t.skip('an earlier step failed');
      try {
        await fn();
      } catch (e) {
        failed = true;
        await workbench()
          ?.shot(`${prefix}-FAILED-${name.slice(0, 24).replace(/\W+/g, '_')}`)
          .catch(() => undefined);
        throw e;
      }
    });
  };
  return { step, shot };
}

/** A tree row in the side bar by its visible label (exact). */
export function treeRow(page: Page, label: string | RegExp, scope = '.part.sidebar'): Locator {
  const re = typeof label === 'string' ? new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) : label;
  return page.locator(`${scope} .monaco-list-row[role="treeitem"]`).filter({ has: page.locator('.label-name', { hasText: re }) });
}

/** A row inside one of our views (by the view's title in its pane header). */
export function viewRow(page: Page, view: 'Clusters' | 'Links' | 'Services', label: string | RegExp, level?: number): Locator {
  const pane = page
    .locator('.part.sidebar .pane')
    .filter({ has: page.locator('.pane-header', { hasText: new RegExp(`^\\s*${view}`, 'i') }) });
  const re = typeof label === 'string' ? new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) : label;
  const rows = level ? `.monaco-list-row[role="treeitem"][aria-level="${level}"]` : '.monaco-list-row[role="treeitem"]';
  return pane.locator(rows).filter({ has: page.locator('.label-name', { hasText: re }) });
}

/**
 * Opens a tree row by its twistie, as a person would, until the tree shows it open (bounded: 30 s). A
 * context without a site is folded when the tree first shows it already read, open when it first showed
 * it loading: which one a test gets depends on timing.
 */
export async function expandRow(page: Page, view: 'Clusters' | 'Links' | 'Services', label: string, level?: number): Promise<void> {
  const row = viewRow(page, view, label, level);
  const deadline = Date.now() + 30_000;
  for (;;) {
    if ((await row.getAttribute('aria-expanded', { timeout: 3000 }).catch(() => undefined)) === 'true') return;
    if (Date.now() > deadline) throw new Error(`the ${view} row ${label} did not open`);
    await row
      .locator('.monaco-tl-twistie')
      .click({ timeout: 3000 })
      .catch(() => undefined);
    await page.waitForTimeout(500);
  }
}

export async function openSkupper(page: Page): Promise<void> {
  const item = page.locator(S.activityItem('Skupper'));
  await item.waitFor({ timeout: 60_000 });
  const selected = await item.getAttribute('class');
  if (!/checked/.test(selected ?? '')) await item.click();
}

export async function palette(page: Page, title: string, shot?: () => Promise<unknown>): Promise<void> {
  await page.keyboard.press('F1');
  const box = page.locator(S.quickInputBox);
  await box.waitFor({ state: 'visible' });
  await box.fill('>' + title);
  await page.locator(S.quickRow).filter({ hasText: title }).first().waitFor({ state: 'visible' });
  if (shot) await shot();
  await page.keyboard.press('Enter');
}

/** Choose an entry in an open QuickPick (by label text). */
export async function quickPick(page: Page, label: string | RegExp, opts: { timeout?: number; filter?: string } = {}): Promise<void> {
  // long lists are virtualised: type to filter first
  if (opts.filter) await page.locator(S.quickInputBox).fill(opts.filter);
  const row = page
    .locator(S.quickRow)
    .filter({ has: page.locator('.label-name, .monaco-highlighted-label', { hasText: label }) })
    .first();
  await row.waitFor({ state: 'visible', timeout: opts.timeout ?? 30_000 });
  await row.click();
}

/**
 * Run a palette command that asks with a QuickPick, and choose `label` in it. A QuickPick closes when
 * focus leaves it; a webview that takes focus back just after the command opened it (the traffic panel
 * does, right after it was clicked) closes it before a row is shown. A person opens it again: so does
 * this, up to `attempts` times, and then throws with what each attempt saw.
 */
export async function paletteThenPick(page: Page, title: string, label: string | RegExp, attempts = 3): Promise<void> {
  const misses: string[] = [];
  for (let i = 1; i <= attempts; i++) {
    await palette(page, title);
    try {
      await quickPick(page, label, { timeout: 10_000 });
      return;
    } catch (e) {
      const open = await page.locator(S.quickInputBox).isVisible();
      misses.push(
        `attempt ${i}: ${open ? 'the pick stayed open without the row' : 'the pick was closed'} (${(e as Error).message.split('\n')[0]})`,
      );
      if (open) await page.keyboard.press('Escape');
      console.log(`paletteThenPick: ${misses[misses.length - 1]}; opening it again`);
    }
  }
  throw new Error(`"${title}" then "${String(label)}" not chosen after ${attempts} attempts:\n${misses.join('\n')}`);
}

/** Type into an open QuickPick/InputBox and accept. */
export async function quickInput(page: Page, text: string): Promise<void> {
  const box = page.locator(S.quickInputBox);
  await box.waitFor({ state: 'visible' });
  await box.fill(text);
  await page.keyboard.press('Enter');
}

export async function waitToast(page: Page, re: RegExp, timeout = 30_000): Promise<string> {
  const toast = page.locator(S.toastDone).filter({ hasText: re }).first();
  await toast.waitFor({ state: 'visible', timeout });
  return (await toast.locator('.notification-list-item-message').innerText()).trim();
}

export async function clearToasts(page: Page): Promise<void> {
  await palette(page, 'Notifications: Clear All Notifications');
}

export interface MenuOptions {
  /** right-clicks before giving up (default 4) */
  attempts?: number;
  /**
   * Called before each right-click; returns the check made once the menu closed on the click: why the
   * item's action did not run as asked (on that row), which right-clicks again, or undefined when it did.
   * Default: the menu closing is enough.
   */
  verify?: () => () => Promise<string | undefined>;
  /** told why an attempt is retried (for the test's diagnostics) */
  onRetry?: (why: string) => void;
}

/** A menu item is live only once its mouse-up listener is on: VS Code adds it 100 ms after rendering. */
const MENU_ITEM_LIVE_MS = 100;

/**
 * Right-click a row and choose an item of its context menu, checking each step, because a tree that
 * re-renders (the Clusters tree does every ~2 s while a router publishes status) can put another row
 * under the pointer, close the menu, or hand the command no tree item at all. An attempt: right-click
 * the row (found afresh when `row` is a function), wait for the item to be visible and still, click it,
 * see the menu close, then `verify`. Any miss closes what is open and starts over, at most
 * `attempts` times; then it throws with every attempt's reason.
 */
export async function contextMenu(
  page: Page,
  row: Locator | (() => Promise<Locator | undefined>),
  item: string,
  opts: MenuOptions = {},
): Promise<void> {
  const attempts = opts.attempts ?? 4;
  const misses: string[] = [];
  for (let i = 1; i <= attempts; i++) {
    const check = opts.verify?.();
    const miss = await menuAttempt(page, typeof row === 'function' ? await row() : row, item);
    const why = miss ?? (await check?.());
    if (!why) return;
    misses.push(`${i}: ${why}`);
    if (i < attempts) opts.onRetry?.(why);
    await closeMenu(page);
  }
  throw new Error(`context menu item "${item}" not run after ${attempts} attempts:\n${misses.join('\n')}`);
}

/** One right-click and click; returns why it missed, or undefined once the menu closed on the click. */
async function menuAttempt(page: Page, row: Locator | undefined, item: string): Promise<string | undefined> {
  if (!row) return 'row not found';
  const menu = page.locator(S.contextMenu);
  try {
    // short: a row that moved is found afresh by the next attempt sooner than it is waited for here
    await row.click({ button: 'right', timeout: 3000 });
    await menu.waitFor({ state: 'visible', timeout: 5000 });
  } catch (e) {
    return `no menu on right-click (${briefly(e)})`;
  }
  const entry = menu.getByRole('menuitem', { name: item, exact: true }).first();
  // another row under the pointer (the tree re-rendered) opens another menu, without the item
  if (
    !(await entry.waitFor({ state: 'visible', timeout: 2000 }).then(
      () => true,
      () => false,
    ))
  ) {
    const items = await menu
      .locator('.action-label')
      .allInnerTexts()
      .catch(() => []);
    return `the menu has no "${item}" (${
      items
        .map((t) => t.trim())
        .filter(Boolean)
        .join(', ') || 'empty'
    })`;
  }
  if (!(await settled(page, entry))) return `"${item}" kept moving`;
  for (let click = 0; click < 2; click++) {
    if (
      !(await entry.click({ timeout: 3000 }).then(
        () => true,
        () => false,
      ))
    )
      return `"${item}" could not be clicked (the menu closed?)`;
    if (
      await menu.waitFor({ state: 'hidden', timeout: 2000 }).then(
        () => true,
        () => false,
      )
    )
      return undefined;
    // still open: the click came before the item listened; once more
  }
  return `the menu stayed open after clicking "${item}"`;
}

/** Waits until the element has kept its place for two samples, and for the menu item to listen. */
async function settled(page: Page, el: Locator): Promise<boolean> {
  await page.waitForTimeout(MENU_ITEM_LIVE_MS * 2);
  let last = await el.boundingBox().catch(() => null);
  for (let i = 0; i < 10; i++) {
    await page.waitForTimeout(80);
    const now = await el.boundingBox().catch(() => null);
    if (last && now && last.x === now.x && last.y === now.y && last.width === now.width && last.height === now.height) return true;
    last = now;
  }
  return false;
}

async function closeMenu(page: Page): Promise<void> {
  if (
    await page
      .locator(S.contextMenu)
      .isVisible()
      .catch(() => false)
  )
    await page.keyboard.press('Escape');
  await page
    .locator(S.contextMenu)
    .waitFor({ state: 'hidden', timeout: 3000 })
    .catch(() => undefined);
}

/** The error's first line and the last step of Playwright's call log (what it was waiting for). */
const briefly = (e: unknown) => {
  const text = (e instanceof Error ? e.message : String(e)).replace(/\u001b\[\d+m/g, '');
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.length > 1 ? `${lines[0]} … ${lines[lines.length - 1]}` : lines[0];
};

/**
 * A command's runs as the extension's log tells them: the command table writes "<id> started", then
 * "<id> done in", "<id> failed: ..." or "<id> cancelled". Take one before the click, then ask.
 */
export function commandRuns(server: Server, command: string): CommandRuns {
  const lines = () =>
    extensionLog(server)
      .split('\n')
      .filter((l) => l.includes(`${command} `));
  const count = (what: string) => lines().filter((l) => l.includes(`${command} ${what}`)).length;
  const base = { started: count('started'), done: count('done in'), failed: count('failed:'), cancelled: count('cancelled') };
  return {
    started: () => count('started') > base.started,
    done: () => count('done in') > base.done,
    failed: () => count('failed:') > base.failed,
    cancelled: () => count('cancelled') > base.cancelled,
    log: () => lines().slice(-6).join('\n'),
  };
}

export interface CommandRuns {
  /** a run started since `commandRuns` was called (the click reached the extension) */
  started(): boolean;
  done(): boolean;
  failed(): boolean;
  cancelled(): boolean;
  /** the command's last lines in the log, for messages */
  log(): string;
}

export interface QuickInputState {
  /** a QuickPick's question */
  placeholder: string;
  /** an InputBox's question (a QuickPick shows its usage hint here) */
  prompt: string;
  value: string;
}

/** What the open quick input asks, or undefined when none is open. */
export async function openQuickInput(page: Page): Promise<QuickInputState | undefined> {
  const widget = page.locator(S.quickInput);
  if (!(await widget.isVisible().catch(() => false))) return undefined;
  const box = page.locator(S.quickInputBox);
  return {
    placeholder: (await box.getAttribute('placeholder', { timeout: 1000 }).catch(() => null)) ?? '',
    prompt: (
      await widget
        .locator('.quick-input-message')
        .innerText({ timeout: 1000 })
        .catch(() => '')
    ).trim(),
    value: await box.inputValue({ timeout: 1000 }).catch(() => ''),
  };
}

export function webview(page: Page): FrameLocator {
  return page.frameLocator(S.webviewOuter).frameLocator(S.webviewInner);
}

/** Runs an extension-host command through the palette is not possible for internal ones; read status through the output log. */
export function copyShotTo(src: string, dest: string): void {
  mkdirSync(dirname(dest), { recursive: true });
  copyFileSync(src, dest);
}

/** Collapse or expand one of our view panes (by its header title). */
export async function setPaneExpanded(page: Page, view: 'Clusters' | 'Links' | 'Services', expanded: boolean): Promise<void> {
  const header = page
    .locator('.part.sidebar .pane-header')
    .filter({ hasText: new RegExp(`^\\s*${view}`, 'i') })
    .first();
  const now = (await header.getAttribute('aria-expanded')) === 'true';
  if (now !== expanded) await header.click();
}

/** Quick Open a workspace file by name and wait for its editor. */
export async function openFile(page: Page, name: string): Promise<void> {
  await page.keyboard.press('Control+P');
  const box = page.locator(S.quickInputBox);
  await box.waitFor({ state: 'visible' });
  await box.fill(name);
  await page.locator(S.quickRow).filter({ hasText: name }).first().waitFor({ state: 'visible', timeout: 30_000 });
  await page.keyboard.press('Enter');
  await page.locator(`.tabs-container .tab[aria-label^="${name}"]`).waitFor({ timeout: 30_000 });
  await page.locator('.monaco-editor .view-lines').first().waitFor({ timeout: 30_000 });
}

/** Answer VS Code's simple file dialog (open or save): wait until it has settled, then type the path. */
export async function fileDialog(page: Page, path: string): Promise<void> {
  const box = page.locator(S.quickInputBox);
  await box.waitFor({ state: 'visible' });
  // the dialog fills in its starting folder asynchronously; typing before that gets appended to it
  await page.waitForFunction(
    `(() => { const i = document.querySelector('.quick-input-widget .quick-input-box input'); return i && i.value.length > 0 && document.querySelectorAll('.quick-input-list .monaco-list-row').length > 0; })()`,
    undefined,
    { timeout: 30_000 },
  );
  await page.waitForTimeout(300);
  for (let i = 0; i < 5; i++) {
    await box.fill(path);
    await page.waitForTimeout(200);
    if ((await box.inputValue()) === path) break;
  }
  await page.keyboard.press('Enter');
}

/** The extension's output channel ("Skupper") as written to the run's log folder. */
export function extensionLog(server: Server): string {
  const find = (dir: string): string | undefined => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) {
        const f = find(p);
        if (f) return f;
      } else if (name === 'Skupper.log') return p;
    }
    return undefined;
  };
  const file = find(server.dir);
  return file ? readFileSync(file, 'utf8') : '';
}
