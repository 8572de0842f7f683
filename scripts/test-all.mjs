// `npm test`: type check, command check, build, then every suite in order. Prints each suite's totals
// and one closing line with the sum ("N passed, N failed"). Stops at the first failing step.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const only = process.env.VAN_TEST_SUITES?.split(',').filter(Boolean);
const suites = (only ?? ['unit', 'cluster', 'e2e', 'ui']);
const steps = [
  ['typecheck', ['npx', 'tsc', '--noEmit', '-p', '.']],
  ['check:commands', [process.execPath, 'scripts/check-commands.mjs']],
  ['build', [process.execPath, 'scripts/build.mjs']],
  ...suites.map((s) => [`test:${s}`, [process.execPath, 'scripts/run-tests.mjs', s]]),
];

const totals = { pass: 0, fail: 0, skipped: 0 };
const summary = [];

function run(name, [cmd, ...args]) {
  return new Promise((resolve) => {
    const started = Date.now();
    console.log(`\n=== ${name} ===`);
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let tail = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      tail = (tail + chunk.toString()).slice(-4000);
    });
    child.on('close', (code) => {
      const count = (label) => Number(tail.match(new RegExp(`^\\S*\\s*${label} (\\d+)$`, 'm'))?.[1] ?? 0);
      if (name.startsWith('test:')) {
        const c = { pass: count('pass'), fail: count('fail'), skipped: count('skipped') };
        totals.pass += c.pass; totals.fail += c.fail; totals.skipped += c.skipped;
        summary.push(`${name}: ${c.pass} passed, ${c.fail} failed, ${c.skipped} skipped (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      } else {
        summary.push(`${name}: ${code === 0 ? 'ok' : 'FAILED'} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      }
      resolve(code ?? 1);
    });
  });
}

let exitCode = 0;
for (const [name, command] of steps) {
  const code = await run(name, command);
  if (code !== 0) {
    exitCode = code;
    summary.push(`stopped: ${name} exited with ${code}`);
    break;
  }
}
console.log('\n=== summary ===');
for (const line of summary) console.log(line);
console.log(`${totals.pass} passed, ${totals.fail} failed, ${totals.skipped} skipped`);
process.exit(exitCode || (totals.fail > 0 ? 1 : 0));
