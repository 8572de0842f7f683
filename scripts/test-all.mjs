// `npm test`: set-up (whatever this machine still lacks: scripts/setup.sh, idempotent), type check, lint,
// format check (prettier), command check, build, then every suite in order. Prints each suite's totals and one closing line with
// the sum ("N passed, N failed"). Stops at the first failing step. Before it exits, it stops the test control plane
// the run started (see stopRunControlPlane). A step or suite that exits non-zero
// without a failing test counts as one failed, so the closing line is never green when the run is red.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const only = process.env.VAN_TEST_SUITES?.split(',').filter(Boolean);
const suites = only ?? ['unit', 'fuzz', 'interop', 'cluster', 'e2e', 'ui'];
const steps = [
  ...(process.env.VAN_SKIP_SETUP === '1' ? [] : [['setup', ['bash', 'scripts/setup.sh']]]),
  ['typecheck', ['npx', 'tsc', '--noEmit', '-p', '.']],
  ['lint', ['npx', 'eslint', 'src', 'test', 'scripts']],
  ['format', ['npx', 'prettier', '--check', '--log-level', 'warn', 'src', 'test', 'scripts']],
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
      const secs = `${((Date.now() - started) / 1000).toFixed(1)} s`;
      const ran = /^ℹ tests \d+$/m.test(tail) || /^\S*\s*tests \d+$/m.test(tail);
      if (name.startsWith('test:') && ran) {
        const c = { pass: count('pass'), fail: count('fail'), skipped: count('skipped') };
        // Exited non-zero with no failing test (a crash after the run, a hook that threw): one failure.
        if (code !== 0 && c.fail === 0) c.fail = 1;
        totals.pass += c.pass;
        totals.fail += c.fail;
        totals.skipped += c.skipped;
        summary.push(`${name}: ${c.pass} passed, ${c.fail} failed, ${c.skipped} skipped (${secs})${code !== 0 ? `, exit ${code}` : ''}`);
      } else if (code !== 0) {
        // A step that failed, or a suite that never got to run its tests, counts as one failure.
        totals.fail += 1;
        summary.push(`${name}: ${name.startsWith('test:') ? 'did not run' : 'FAILED'} (exit ${code}, ${secs})`);
      } else {
        summary.push(`${name}: ok (${secs})`);
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
/**
 * A control plane that a suite of this run started is stopped by its reaper once the run's test
 * processes are gone. A CI that ends the session or removes the checkout right after `npm test` can cut
 * the reaper short and leave the pod network namespace behind (seen once after a failed run). So the
 * run stops it itself before it exits, and waits. One started by hand (`npm run cluster:up`) has no
 * owner and is left running; one that another test run still uses is left to that run.
 */
function stopRunControlPlane() {
  let ownerPid;
  try {
    ownerPid = JSON.parse(readFileSync(join(root, '.van-test', 'state.json'), 'utf8')).ownerPid;
  } catch {
    return; // none running
  }
  if (!ownerPid) return;
  const down = [process.execPath, '--import', 'tsx', 'test/cluster/down.ts', '--if-owner', String(ownerPid)];
  const r = spawnSync(down[0], down.slice(1), { cwd: root, stdio: 'inherit', timeout: 120_000 });
  const what =
    r.status === 0 ? 'stopped' : r.status === 3 ? 'left to the test run that still uses it' : `not stopped (exit ${r.status ?? r.signal})`;
  summary.push(`test control plane: ${what}`);
}

stopRunControlPlane();
console.log('\n=== summary ===');
for (const line of summary) console.log(line);
console.log(`${totals.pass} passed, ${totals.fail} failed, ${totals.skipped} skipped`);
process.exit(exitCode || (totals.fail > 0 ? 1 : 0));
