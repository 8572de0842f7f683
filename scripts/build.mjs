// Builds the three bundles from one core: the extension (vscode external), the router + site agent
// (Node only), the `van` CLI, and the webview script(s). `--watch` rebuilds on change.
import * as esbuild from 'esbuild';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const watch = process.argv.includes('--watch');
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'linked',
  minify: !watch,
  logLevel: 'warning',
  absWorkingDir: root,
};

const entries = [
  { ...common, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', external: ['vscode'] },
  { ...common, entryPoints: ['src/core/agent/main.ts'], outfile: 'dist/router.js', sourcemap: false },
  { ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
];
const webviewEntry = join(root, 'media/topology/main.ts');
if (existsSync(webviewEntry)) {
  entries.push({
    ...common,
    platform: 'browser',
    target: 'es2022',
    format: 'iife',
    entryPoints: [webviewEntry],
    outfile: 'dist/media/topology.js',
  });
}

mkdirSync(join(root, 'dist'), { recursive: true });
if (watch) {
  for (const options of entries) {
    const ctx = await esbuild.context(options);
    await ctx.watch();
  }
  console.log('watching for changes');
} else {
  const started = Date.now();
  await Promise.all(entries.map((options) => esbuild.build(options)));
  chmodSync(join(root, 'dist/cli.js'), 0o755);
  console.log(`built ${entries.map((e) => e.outfile).join(', ')} in ${Date.now() - started} ms`);
}
