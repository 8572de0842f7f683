// 10k concurrent flows through two router processes (B has the tcp listener, A the target).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { baseConfig, connectorTo, freePort, networkPki } from '../unit/router/helpers.js';
import { getJson, startChild, startRouterChild } from './router-helpers.js';

const N = Number(process.env.VAN_SCALE_FLOWS ?? 10_000);

test(`${N} concurrent flows through one hop`, { timeout: 120_000 }, async () => {
  const { child: echo, line } = await startChild('echo-child.ts', []);
  const echoPort = Number(line);
  const aPort = await freePort();
  const aMgmt = await freePort();
  const bMgmt = await freePort();
  const tcpPort = await freePort();
  const A = await startRouterChild(
    baseConfig('SA', {
      listeners: [{ name: 'ir', host: '127.0.0.1', port: aPort, role: 'inter-router', tls: networkPki().router }],
      tcpConnectors: [{ name: 'echo', host: '127.0.0.1', port: echoPort, address: 'echo' }],
      management: { host: '127.0.0.1', port: aMgmt },
    }),
  );
  const B = await startRouterChild(
    baseConfig('SB', {
      connectors: [connectorTo('to-a', aPort)],
      tcpListeners: [{ name: 'echo', host: '127.0.0.1', port: tcpPort, address: 'echo' }],
      management: { host: '127.0.0.1', port: bMgmt },
    }),
  );
  const sockets: net.Socket[] = [];
  try {
    for (let i = 0; i < 100; i++) {
      const s = await getJson(bMgmt, '/status');
      if (s.addresses.some((a: any) => a.address === 'echo' && a.remoteSites.length)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const rss0 = Number(/van_process_resident_memory_bytes\{[^}]*\} (\d+)/.exec(await getJson(bMgmt, '/metrics'))![1]);
    const t0 = Date.now();
    let next = 0;
    let failed = 0;
    const open = () =>
      new Promise<void>((resolve) => {
        const i = next++;
        const s = net.connect({ port: tcpPort, host: '127.0.0.1', noDelay: true });
        sockets.push(s);
        const msg = `f${i}`;
        s.on('error', () => {
          failed++;
          resolve();
        });
        s.once('connect', () => s.write(msg));
        s.once('data', () => resolve());
      });
    // 512 connects in flight at a time (the kernel's accept queues are 4096 deep).
    await Promise.all(
      Array.from({ length: 512 }, async () => {
        while (next < N) await open();
      }),
    );
    const ms = Date.now() - t0;
    assert.equal(failed, 0);
    const sb = await getJson(bMgmt, '/status');
    const sa = await getJson(aMgmt, '/status');
    assert.equal(sb.flows.active, N);
    assert.equal(sa.flows.active, N);
    const rss1 = Number(/van_process_resident_memory_bytes\{[^}]*\} (\d+)/.exec(await getJson(bMgmt, '/metrics'))![1]);
    const perFlowKb = (rss1 - rss0) / N / 1024;
    console.log(
      `# ${N} flows open and echoed in ${ms} ms; listener router RSS +${((rss1 - rss0) / 1e6).toFixed(1)} MB (${perFlowKb.toFixed(1)} KB per idle flow)`,
    );
    assert.ok(perFlowKb < 64, `${perFlowKb} KB per idle flow`);
    for (const s of sockets) s.destroy();
    for (let i = 0; i < 600; i++) {
      const [a, b] = [await getJson(aMgmt, '/status'), await getJson(bMgmt, '/status')];
      if (a.flows.active === 0 && b.flows.active === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal((await getJson(aMgmt, '/status')).flows.active, 0);
    assert.equal((await getJson(bMgmt, '/status')).flows.active, 0);
  } finally {
    for (const s of sockets) s.destroy();
    await B.kill();
    await A.kill();
    await echo.kill();
  }
});

const SHORT = Number(process.env.VAN_SOAK_FLOWS ?? 20_000);

test(`no leaks after ${SHORT} short flows (half closed cleanly, half reset)`, { timeout: 120_000 }, async () => {
  const { readdirSync } = await import('node:fs');
  const { child: echo, line } = await startChild('echo-child.ts', []);
  const aPort = await freePort();
  const aMgmt = await freePort();
  const tcpPort = await freePort();
  const A = await startRouterChild(
    baseConfig('LA', {
      listeners: [{ name: 'ir', host: '127.0.0.1', port: aPort, role: 'inter-router', tls: networkPki().router }],
      tcpConnectors: [{ name: 'echo', host: '127.0.0.1', port: Number(line), address: 'echo' }],
      management: { host: '127.0.0.1', port: aMgmt },
    }),
  );
  const bMgmt = await freePort();
  const B = await startRouterChild(
    baseConfig('LB', {
      connectors: [connectorTo('to-a', aPort)],
      tcpListeners: [{ name: 'echo', host: '127.0.0.1', port: tcpPort, address: 'echo' }],
      management: { host: '127.0.0.1', port: bMgmt },
    }),
  );
  const fds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
  try {
    for (let i = 0; i < 100; i++) {
      const st = await getJson(bMgmt, '/status');
      if (st.addresses.some((a: any) => a.address === 'echo' && a.remoteSites.length)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    let done = 0;
    let echoed = 0;
    let errors = 0;
    const errorCodes = new Set<string>();
    const one = () =>
      new Promise<void>((resolve) => {
        const s = net.connect({ port: tcpPort, host: '127.0.0.1', noDelay: true });
        s.on('error', (e: NodeJS.ErrnoException) => {
          errors++;
          errorCodes.add(e.code ?? e.message);
          resolve();
        });
        s.once('connect', () => s.write('x'));
        s.once('data', () => {
          echoed++;
          if (done % 2) s.end();
          else s.destroy();
          resolve();
        });
        s.once('close', () => resolve());
      });
    const run = (target: number) =>
      Promise.all(
        Array.from({ length: 16 }, async () => {
          while (done < target) {
            done++;
            await one();
          }
        }),
      );
    await run(2000);
    await new Promise((r) => setTimeout(r, 500));
    const before = [fds(A.proc.pid!), fds(B.proc.pid!)];
    const t0 = Date.now();
    await run(SHORT);
    await new Promise((r) => setTimeout(r, 1000));
    const after = [fds(A.proc.pid!), fds(B.proc.pid!)];
    const s = await getJson(aMgmt, '/status');
    const sb = await getJson(bMgmt, '/status');
    assert.equal(sb.tcpListeners[0].lastError, undefined);
    console.log(
      `# ${SHORT - 2000} short flows in ${Date.now() - t0} ms; fds ${before} -> ${after}; echoed ${echoed}, errors ${errors} ${[...errorCodes]}, flows at the target router ${s.flows.total}`,
    );
    assert.equal(s.flows.active, 0);
    assert.equal(errors, 0);
    assert.equal(echoed, SHORT);
    assert.ok(after[0] <= before[0] + 2 && after[1] <= before[1] + 2, `fds grew: ${before} -> ${after}`);
  } finally {
    await B.kill();
    await A.kill();
    await echo.kill();
  }
});
