// A laptop joins the tutorial's network: `public` runs tcp-go-echo and exposes it; a laptop site (the
// router bundle as a process on this machine, made with `van init --platform local`) links to public with
// a token, forwards tcp-go-echo to a local port of its choice and gets the echo; it exposes a port of this
// machine (a small server in this test) with `expose host/127.0.0.1`, and a client in `public` reaches
// it through the Service the public site makes. unforward closes the local port; unexpose removes the
// Service in public. The laptop opens no port for other routers (ingress none).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { projectRoot } from '../cluster/paths';
import { freePort, refused } from '../net';
import { SiteUnderTest, Timings, controlPlane, eventually, tcpExchange, tokenDir, uniqueName, type VanResult } from './helpers';

const timings = new Timings('laptop');
const home = mkdtempSync(join(tmpdir(), 'van-e2e-laptop-'));
const SITE = 'laptop';
let pub: SiteUnderTest;
let server: Server;
let serverPort = 0;

/** `van ARGS` for the laptop: no kubeconfig flags, the test's own local-site folder. */
function laptop(...args: string[]): Promise<VanResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(projectRoot, 'dist/cli.js'), ...args], {
      cwd: projectRoot,
      env: { ...process.env, VAN_LOCAL_HOME: home },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => resolve({ code: code ?? -1, out: out.trim(), err: err.trim() }));
  });
}

async function must(...args: string[]): Promise<string> {
  const r = await laptop(...args);
  assert.equal(r.code, 0, `van ${args.join(' ')} (laptop) exited ${r.code}: ${r.err}`);
  return r.out;
}

before(
  async () => {
    const { kubeconfigPath } = await controlPlane();
    pub = new SiteUnderTest(kubeconfigPath, 'public', uniqueName('laptop'));
    await pub.createNamespace();
    server = createServer((s) => s.on('data', (d) => s.write(`laptop-db : ${d.toString().trim().toUpperCase()}\n`)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    serverPort = (server.address() as { port: number }).port;
  },
  { timeout: 300_000 },
);

after(async () => {
  timings.print();
  await laptop('delete', '--platform', 'local', '--site-name', SITE);
  server?.close();
  await pub?.deleteNamespace();
  rmSync(home, { recursive: true, force: true });
});

test(
  "laptop: reaches public's echo through a forwarded local port, and exposes a local port to public",
  { timeout: 300_000 },
  async (t) => {
    try {
      await pub.deploy('tcp-go-echo', 'quay.io/skupper/tcp-go-echo', { port: 9090 });
      let t0 = Date.now();
      await pub.must('init', '--site-name', 'public');
      await must('init', '--platform', 'local', '--site-name', SITE, '--ingress', 'none');
      await must('site', 'start', '--site-name', SITE, '--timeout', '60');
      await pub.waitReady();
      timings.mark('init + start, both sites', t0);
      await pub.must('expose', 'deployment/tcp-go-echo', '--port', '9090');

      const token = join(tokenDir(), 'laptop-public-token.yaml');
      await pub.must('token', 'create', token);
      t0 = Date.now();
      await must('link', 'create', token, '--platform', 'local', '--site-name', SITE);
      await eventually("the laptop's link up", 60_000, async () => {
        const r = await laptop('link', 'status', '--platform', 'local', '--site-name', SITE, '-o', 'json');
        return r.code === 0 && (JSON.parse(r.out) as { connected: boolean }[]).some((l) => l.connected) ? true : undefined;
      });
      timings.mark('link create to link up', t0);

      // Forward the echo to a local port of our choice.
      const port = await freePort();
      t0 = Date.now();
      assert.equal(
        await must('forward', 'tcp-go-echo', String(port), '--site-name', SITE),
        `tcp-go-echo is reachable at 127.0.0.1:${port} on this machine (local site ${SITE})`,
      );
      const answer = await eventually('an echo through the forward', 60_000, () => tcpExchange('127.0.0.1', port, 'hello from the laptop'));
      timings.mark('forward to first echo', t0);
      const echoPods = await pub.readyPods('application=tcp-go-echo');
      assert.ok(
        echoPods.some((p) => answer === `${p.name} : HELLO FROM THE LAPTOP`),
        `answer from an echo pod: ${answer}`,
      );
      const status = JSON.parse(await must('service', 'status', '--platform', 'local', '--site-name', SITE, '-o', 'json')) as {
        address: string;
        forwardedTo?: string;
      }[];
      assert.equal(status.find((s) => s.address === 'tcp-go-echo')?.forwardedTo, `127.0.0.1:${port}`);

      // Expose a port of this machine; public gets a Service for it, backed by its router.
      t0 = Date.now();
      await must(
        'expose',
        `host/127.0.0.1`,
        '--address',
        'laptop-db',
        '--port',
        '5432',
        '--target-port',
        String(serverPort),
        '--site-name',
        SITE,
      );
      const eps = await eventually('laptop-db endpoints in public', 60_000, async () => {
        const e = await pub.endpoints('laptop-db');
        return e.length ? e : undefined;
      });
      const reply = await eventually('an answer from the laptop through public', 30_000, () =>
        tcpExchange(eps[0].ip, eps[0].port, 'select 1'),
      );
      timings.mark('expose host to first answer from public', t0);
      assert.equal(reply, 'laptop-db : SELECT 1');
      const pubServices = await pub.json('service', 'status');
      assert.deepEqual(pubServices.find((s: any) => s.address === 'laptop-db')?.ports, [5432]);

      // A wrong request says what to do.
      const bad = await laptop('forward', 'tcp-go-echo', String(port), '--site-name', 'nope');
      assert.equal(bad.code, 1);
      assert.match(bad.err, /no local site nope: create it with `van init --platform local --site-name nope`/);

      // unforward closes the local port; unexpose removes public's Service.
      await must('unforward', 'tcp-go-echo', '--site-name', SITE);
      await eventually('the forwarded port closed', 30_000, async () => ((await refused('127.0.0.1', port)) ? true : undefined));
      t0 = Date.now();
      await must('unexpose', 'host/127.0.0.1', '--site-name', SITE);
      await eventually('laptop-db Service gone from public', 60_000, async () => ((await pub.service('laptop-db')) ? undefined : true));
      timings.mark('unexpose to Service gone in public', t0);
    } catch (error) {
      t.diagnostic(await pub.routerLogs().catch(() => ''));
      throw error;
    }
  },
);
