import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { freePort } from '../../net';

const root = join(__dirname, '../../..');
const cli = join(root, 'src/cli/main.ts');

describe('van router', () => {
  test('without --config it is a usage error', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', cli, 'router'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /router needs --config FILE/);
  });

  test('a missing config file is a one-line error and exit 1', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', cli, 'router', '--config', '/nonexistent/router.json'], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /router\.json/);
  });

  test('runs a router from its config: health answers, a tcp listener forwards to its connector', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'van-router-'));
    const [mgmt, listen] = [await freePort(), await freePort()];
    // An echo target for the connector.
    const echo = createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    const echoPort = (echo.address() as { port: number }).port;
    const config = {
      id: 'r1',
      siteId: 's1',
      siteName: 'laptop',
      mode: 'interior',
      listeners: [],
      connectors: [],
      tcpListeners: [{ name: 'echo-in', host: '127.0.0.1', port: listen, address: 'echo' }],
      tcpConnectors: [{ name: 'echo-out', host: '127.0.0.1', port: echoPort, address: 'echo' }],
      management: { host: '127.0.0.1', port: mgmt },
    };
    const file = join(dir, 'router.json');
    writeFileSync(file, JSON.stringify(config));
    const child = spawn(process.execPath, ['--import', 'tsx', cli, 'router', '--config', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      let healthy = false;
      for (let i = 0; i < 100 && !healthy; i++) {
        healthy = await fetch(`http://127.0.0.1:${mgmt}/healthz`).then(
          (r) => r.ok,
          () => false,
        );
        if (!healthy) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(healthy, 'the router never answered /healthz');
      const { connect } = await import('node:net');
      const answer = await new Promise<string>((resolve, reject) => {
        const s = connect(listen, '127.0.0.1', () => s.end('ping'));
        let data = '';
        s.on('data', (d) => (data += d));
        s.on('close', () => resolve(data));
        s.on('error', reject);
      });
      assert.equal(answer, 'ping');
    } finally {
      child.kill('SIGTERM');
      echo.close();
    }
  });
});
