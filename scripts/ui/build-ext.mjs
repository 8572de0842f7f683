// Builds only the extension bundle and the topology webview (what the UI needs), with the same options
// as scripts/build.mjs, so UI work does not wait on the CLI or router bundles.
import * as esbuild from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'linked',
  minify: true,
  logLevel: 'warning',
  absWorkingDir: root,
};
const started = Date.now();
await Promise.all([
  esbuild.build({ ...common, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', external: ['vscode'] }),
  esbuild.build({
    ...common,
    platform: 'browser',
    target: 'es2022',
    format: 'iife',
    entryPoints: ['media/topology/main.ts'],
    outfile: 'dist/media/topology.js',
  }),
]);
console.log(`built dist/extension.js, dist/media/topology.js in ${Date.now() - started} ms`);
