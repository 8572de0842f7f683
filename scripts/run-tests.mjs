// Runs one test suite (test/<suite>/**/*.test.ts) with node's built-in runner through tsx.
// Usage: node scripts/run-tests.mjs unit|cluster|e2e|ui [extra node --test flags]
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const suite = process.argv[2];
if (!suite) {
  console.error('usage: run-tests.mjs SUITE');
  process.exit(2);
}

function findTests(dir) {
  if (!existsSync(dir)) return [];
  const found = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'go') continue;
    if (statSync(path).isDirectory()) found.push(...findTests(path));
    else if (name.endsWith('.test.ts')) found.push(relative(root, path));
  }
  return found;
}

const files = findTests(join(root, 'test', suite));
if (files.length === 0) {
  console.log(`${suite}: no test files yet`);
  process.exit(0);
}
// Suites that share a control plane or ports run their files one after another.
const concurrency = suite === 'unit' ? [] : ['--test-concurrency=1'];
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', ...concurrency, ...process.argv.slice(3), ...files],
  {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, VAN_PROJECT_ROOT: root },
  },
);
process.exit(result.status ?? 1);
