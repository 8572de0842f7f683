// `npm start`: builds, starts a local demo network (two laptop sites linked together, in a demo data
// folder), and code-server with the extension installed from this folder; prints the URL to open.
// Uses the test control plane's kubeconfig (.van-test/kubeconfig) when it is running, so its clusters
// show too; else the user's KUBECONFIG. Ctrl+C stops code-server and the demo routers (the demo sites
// stay in the demo folder, and the next `npm start` starts the same ones again).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as net from 'node:net';
import * as http from 'node:http';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cache = process.env.VAN_UI_CACHE
  ? dirname(process.env.VAN_UI_CACHE)
  : join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'vscode-skupper');
const csBin = join(process.env.VAN_UI_CACHE ?? join(cache, 'code-server-4.100.3'), 'node_modules', '.bin', 'code-server');
const run = (cmd, args, opts = {}) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status})`);
  return r;
};

console.log('start: building');
if (spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' }).status !== 0) {
  console.log('start: full build failed; building the extension and webview only (laptop sites need dist/router.js)');
  run(process.execPath, ['scripts/ui/build-ext.mjs']);
}
if (!existsSync(csBin)) {
  console.log('start: installing code-server (once)');
  run('bash', ['scripts/ui/install.sh']);
}

const demoHome = join(cache, 'demo');
const env = { ...process.env, VAN_LOCAL_HOME: demoHome, VAN_PROJECT_ROOT: root };
const testKubeconfig = join(root, '.van-test', 'kubeconfig');
if (existsSync(testKubeconfig)) env.KUBECONFIG = testKubeconfig;
let demoUp = false;
if (existsSync(join(root, 'dist', 'router.js')) && !process.env.VAN_START_NO_DEMO) {
  console.log(`start: local demo network in ${demoHome}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/ui/demo.mts'], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  demoUp = r.status === 0;
  if (!demoUp) console.log('start: the demo network did not come up (see above); starting without it');
}

const dir = join(cache, 'start');
rmSync(join(dir, 'ext'), { recursive: true, force: true });
mkdirSync(join(dir, 'ud', 'User'), { recursive: true });
mkdirSync(join(dir, 'ext'), { recursive: true });
mkdirSync(join(dir, 'ws'), { recursive: true });
writeFileSync(join(dir, 'config.yaml'), '');
const pkg = JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(join(root, 'package.json'), 'utf8')));
symlinkSync(root, join(dir, 'ext', `${pkg.publisher}.${pkg.name}-${pkg.version}`));
if (!existsSync(join(dir, 'ud', 'User', 'settings.json'))) {
  writeFileSync(
    join(dir, 'ud', 'User', 'settings.json'),
    JSON.stringify(
      {
        'workbench.startupEditor': 'none',
        'telemetry.telemetryLevel': 'off',
        'update.mode': 'none',
        'security.workspace.trust.enabled': false,
      },
      null,
      2,
    ),
  );
}
const port =
  Number(process.env.PORT) ||
  (await new Promise((res) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
  }));
const cs = spawn(
  csBin,
  [
    '--auth',
    'none',
    '--bind-addr',
    `127.0.0.1:${port}`,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--config',
    join(dir, 'config.yaml'),
    '--user-data-dir',
    join(dir, 'ud'),
    '--extensions-dir',
    join(dir, 'ext'),
    join(dir, 'ws'),
  ],
  { env: { ...env, EXTENSIONS_GALLERY: '{"serviceUrl":""}' }, stdio: ['ignore', 'ignore', 'inherit'] },
);
const healthy = () =>
  new Promise((res) =>
    http
      .get({ host: '127.0.0.1', port, path: '/healthz' }, (r) => {
        r.resume();
        res(r.statusCode === 200);
      })
      .on('error', () => res(false)),
  );
for (let i = 0; !(await healthy()); i++) {
  if (i > 240 || cs.exitCode !== null) throw new Error('code-server did not start');
  await new Promise((r) => setTimeout(r, 250));
}
// The demo network carries something real: code-server itself, exposed from demo-hub (a port of this
// machine) and forwarded by demo-laptop to a port of its own (see the laptop sites in the Clusters view).
let viaVan;
if (demoUp) {
  const van = (...args) => spawnSync(process.execPath, [join(root, 'dist', 'cli.js'), ...args], { cwd: root, env, encoding: 'utf8' });
  const exposed = van('expose', 'host/127.0.0.1', '--address', 'code-server', '--port', String(port), '--site-name', 'demo-hub');
  van('unforward', 'code-server', '--site-name', 'demo-laptop');
  const local = await new Promise((res) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
  });
  const forwarded = exposed.status === 0 ? van('forward', 'code-server', String(local), '--site-name', 'demo-laptop') : exposed;
  if (forwarded.status === 0) viaVan = local;
  else console.log(`start: the demo could not carry code-server: ${(forwarded.stderr || forwarded.stdout).trim()}`);
}
console.log(`\nSkupper in VS Code: http://127.0.0.1:${port}/?folder=${encodeURIComponent(join(dir, 'ws'))}`);
if (viaVan)
  console.log(
    `The same, through the demo network (demo-laptop → demo-hub): http://127.0.0.1:${viaVan}/?folder=${encodeURIComponent(join(dir, 'ws'))}`,
  );
console.log(`KUBECONFIG=${env.KUBECONFIG ?? '(default)'}  VAN_LOCAL_HOME=${demoHome}\nCtrl+C to stop.`);
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  cs.kill();
  if (demoUp) {
    console.log('start: stopping the demo routers');
    spawnSync(process.execPath, ['--import', 'tsx', 'scripts/ui/demo.mts', '--stop'], { cwd: root, env, stdio: 'inherit' });
  }
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
cs.on('exit', (code) => {
  if (!stopping) process.exit(code ?? 0);
});
