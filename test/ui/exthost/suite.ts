// Integration checks that run INSIDE the real extension host (code-server's Node extension host):
// the workbench loads this file as extensionTestsPath and calls run(); its promise settles the run's
// exit code. Bundled to CommonJS by exthost.test.ts (vscode stays external). Results also go to the
// JSON file named by VAN_EXTHOST_RESULT, for the node:test side to report each check.
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import * as vscode from 'vscode';

type Check = { name: string; fn: () => Promise<void> };
const checks: Check[] = [];
const check = (name: string, fn: () => Promise<void>) => checks.push({ name, fn });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}
async function until<T>(what: string, ms: number, fn: () => Promise<T | undefined | false>): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last as T;
    await sleep(100);
  }
  throw new Error(`timed out: ${what} (last: ${JSON.stringify(last)?.slice(0, 300)})`);
}
const state = () => vscode.commands.executeCommand<any>('skupper.internal.state');

check('activates quickly and registers every declared command', async () => {
  const ext = vscode.extensions.getExtension('vscode-skupper.vscode-skupper');
  assert(ext, 'extension present');
  const api = (await ext.activate()) as { activationMs: number };
  assert(api.activationMs < 500, `activation took ${api.activationMs} ms`);
  const declared = (ext.packageJSON.contributes.commands as { command: string }[]).map((c) => c.command);
  const all = new Set(await vscode.commands.getCommands(true));
  const missing = declared.filter((c) => !all.has(c));
  assert(missing.length === 0, `not registered: ${missing.join(', ')}`);
});

check('reads every context: live ones ok, the dead one as an error within seconds', async () => {
  await vscode.commands.executeCommand('skupper.refresh');
  const s = await until('contexts settled', 10_000, async () => {
    const st = await state();
    return st.contexts.length >= 3 && st.contexts.every((c: any) => c.phase === 'ok' || c.phase === 'error') ? st : undefined;
  });
  const by = Object.fromEntries(s.contexts.map((c: any) => [c.name, c]));
  assert(by.alpha.phase === 'ok' && by.beta.phase === 'ok', JSON.stringify(s.contexts));
  assert(by.dead.phase === 'error' && /connection refused/.test(by.dead.error), by.dead.error);
  assert(s.network.sites.length === 2, `sites: ${s.network.sites.length}`);
  assert(s.network.links.length === 1 && s.network.links[0].state === 'up', JSON.stringify(s.network.links));
});

check('follows kubeconfig edits (the file is watched)', async () => {
  const file = process.env.KUBECONFIG!;
  const text = readFileSync(file, 'utf8');
  // the same contexts plus "gamma" (a live context on another API server), written by exthost.test.ts
  writeFileSync(file, readFileSync(process.env.VAN_EXTHOST_GAMMA!, 'utf8'));
  await until('context gamma appears', 8_000, async () =>
    (await state()).contexts.some((c: any) => c.name === 'gamma' && c.phase === 'ok'),
  );
  writeFileSync(file, text);
  await until('context gamma goes away', 8_000, async () => !(await state()).contexts.some((c: any) => c.name === 'gamma'));
});

check('the topology panel opens and reports its render', async () => {
  await vscode.commands.executeCommand('skupper.showTopology');
  await until('topology rendered', 15_000, async () => (await state()).topologyRenderMs !== undefined);
});

check('a failing command reports one line and does not throw', async () => {
  // the wrapper catches the error (shown with "Show log"): executeCommand resolves
  await vscode.commands.executeCommand('skupper.status', { ref: { context: 'dead', namespace: 'default' } });
});

export async function run(): Promise<void> {
  const out = process.env.VAN_EXTHOST_RESULT;
  const results: { name: string; ok: boolean; error?: string; ms: number }[] = [];
  for (const c of checks) {
    const t0 = Date.now();
    try {
      await c.fn();
      results.push({ name: c.name, ok: true, ms: Date.now() - t0 });
    } catch (e) {
      results.push({ name: c.name, ok: false, error: (e as Error).message, ms: Date.now() - t0 });
    }
    if (out) appendFileSync(out, JSON.stringify(results.at(-1)) + '\n');
  }
  const failed = results.filter((r) => !r.ok);
  if (failed.length) throw new Error(`${failed.length} failed: ${failed.map((f) => `${f.name}: ${f.error}`).join('; ')}`);
}
