// Messaging through the mesh (multicast, anycast), AMQP and HTTP management, AMQP clients: rhea and
// Debian's python3-qpid-proton.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import rhea from 'rhea';
import { connectorTo, freePort, startRouter, waitFor } from './helpers.js';
import type { Router } from '../../../src/core/router/router.js';

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describe('messaging and management across X - Y - Z', () => {
  let X: Router, Y: Router, Z: Router;
  let clientPortZ: number;

  before(async () => {
    const x = await startRouter('X', { management: { host: '127.0.0.1', port: 0 } });
    const y = await startRouter('Y');
    clientPortZ = await freePort();
    const z = await startRouter('Z', { listeners: [{ name: 'amqp', host: '127.0.0.1', port: clientPortZ, role: 'normal' }] }, false);
    await y.router.applyConfig({ ...y.config, connectors: [connectorTo('to-x', x.port)] });
    await z.router.applyConfig({ ...z.config, connectors: [connectorTo('to-y', y.port)] });
    X = x.router;
    Y = y.router;
    Z = z.router;
    await waitFor('mesh converged', () => X.status().routers.length === 2 && Z.status().routers.length === 2);
  });

  after(async () => {
    for (const r of [X, Y, Z]) await r.stop();
  });

  test('multicast: every subscriber in every router gets a publish', async () => {
    const got: string[] = [];
    const unsubs = [
      X.subscribe('sync', (b, from) => got.push(`X:${b}:${from}`)),
      Y.subscribe('sync', (b, from) => got.push(`Y:${b}:${from}`)),
      Z.subscribe('sync', (b, from) => got.push(`Z1:${b}:${from}`)),
      Z.subscribe('sync', (b, from) => got.push(`Z2:${b}:${from}`)),
    ];
    await waitFor('subscriptions known', () => {
      X.publish('probe', 0);
      return (X as any).subTable.get('sync')?.length === 3;
    });
    X.publish('sync', 'hello');
    await waitFor('4 deliveries', () => got.length >= 4);
    assert.deepEqual(got.sort(), ['X:hello:X', 'Y:hello:X', 'Z1:hello:X', 'Z2:hello:X']);
    for (const u of unsubs) u();
    await waitFor('subscriptions gone', () => !(X as any).subTable.get('sync'));
  });

  test('anycast: one subscriber gets each message, the closest first', async () => {
    const got: string[] = [];
    const u1 = Y.subscribe('work', (b) => got.push(`Y:${b}`));
    const u2 = Z.subscribe('work', (b) => got.push(`Z:${b}`));
    await waitFor('work known at X', () => (X as any).subTable.get('work')?.length === 2);
    for (let i = 0; i < 4; i++) assert.equal(X.send('work', i), true);
    await waitFor('4 deliveries', () => got.length === 4);
    assert.deepEqual(got, ['Y:0', 'Y:1', 'Y:2', 'Y:3']);
    u1();
    u2();
    assert.equal(X.send('nobody-here', 1), false);
  });

  test('a plain AMQP client (rhea) sends and receives through the mesh; $management answers', async () => {
    const container = rhea.create_container({ id: 'test-client' });
    const conn = container.connect({ host: '127.0.0.1', port: clientPortZ, reconnect: false });
    const received: unknown[] = [];
    const mgmt: any[] = [];
    conn.open_receiver('multicast/events').on('message', (ctx: any) => received.push(ctx.message.body));
    const reply = conn.open_receiver({ source: { dynamic: true } as any });
    reply.on('message', (ctx: any) => mgmt.push(ctx.message));
    await waitFor('client subscription known at X', () => (X as any).subTable.get('multicast/events')?.length === 1);
    X.publish('multicast/events', { kind: 'service-added', name: 'web' });
    await waitFor('client got the event', () => received.length === 1);
    assert.deepEqual(received[0], { kind: 'service-added', name: 'web' });
    // Client → in-process subscriber at X (anycast by address).
    const atX: unknown[] = [];
    const ux = X.subscribe('to-x', (b) => atX.push(b));
    await waitFor('to-x known at Z', () => (Z as any).subTable.get('to-x')?.length === 1);
    const sender = conn.open_sender('to-x');
    await new Promise((r) => sender.once('sendable', r));
    sender.send({ body: 'ping from a client' });
    await waitFor('X got it', () => atX.length === 1);
    assert.equal(atX[0], 'ping from a client');
    ux();
    // Anycast with nobody subscribed: released, not lost silently.
    const lonely = conn.open_sender('nobody-anycast');
    await new Promise((r) => lonely.once('sendable', r));
    lonely.send({ body: 'anyone?' });
    await new Promise<void>((resolve) => lonely.once('released', () => resolve()));
    // Management over AMQP.
    await waitFor('reply address', () => Boolean(reply.source?.address));
    const mgmtSender = conn.open_sender('$management');
    await new Promise((r) => mgmtSender.once('sendable', r));
    for (const type of ['connection', 'link', 'address', 'flow', 'router']) {
      mgmtSender.send({
        reply_to: reply.source.address,
        correlation_id: type,
        application_properties: { operation: 'QUERY', type },
        body: '',
      });
    }
    await waitFor('5 management answers', () => mgmt.length === 5);
    const byType = new Map(mgmt.map((m) => [m.correlation_id, m]));
    assert.equal(byType.get('connection').application_properties.statusCode, 200);
    assert.ok(byType.get('connection').body.some((c: any) => c.remoteRouterId === 'Y'));
    assert.ok(byType.get('link').body.some((l: any) => l.address === 'van/data'));
    assert.deepEqual(
      byType
        .get('router')
        .body.map((r: any) => r.id)
        .sort(),
      ['X', 'Y'],
    );
    conn.close();
  });

  test('HTTP management: health, readiness, Prometheus metrics, status', async () => {
    const port = X.managementPort()!;
    assert.equal((await get(port, '/healthz')).status, 200);
    assert.equal((await get(port, '/readyz')).status, 200);
    const metrics = await get(port, '/metrics');
    assert.match(metrics.body, /^# TYPE van_flows_active gauge$/m);
    assert.match(metrics.body, /^van_link_up\{router="X",site="site-X",name="[^"]+",direction="incoming",remote_site="site-Y"\} 1$/m);
    assert.match(metrics.body, /^# TYPE van_link_data_frames_total counter$/m);
    for (const way of ['sent', 'read']) {
      for (const path of ['fast', 'rhea']) {
        const line = new RegExp(
          `^van_link_data_frames_total\\{router="X",site="site-X",name="[^"]+",direction="incoming",way="${way}",path="${path}"\\} \\d+$`,
          'm',
        );
        assert.match(metrics.body, line);
      }
    }
    const status = JSON.parse((await get(port, '/status')).body);
    assert.equal(status.id, 'X');
    assert.equal((await get(port, '/nope')).status, 404);
  });

  const python = '/usr/bin/python3';
  const hasProton = existsSync(python) && spawnSyncOk(python, ['-c', 'import proton']);
  test(
    'python3-qpid-proton client: multicast, anycast and $management',
    { skip: hasProton ? false : 'python3-qpid-proton is not installed (apt-get install python3-qpid-proton)' },
    async () => {
      const child = spawn(python, [join(import.meta.dirname, 'fixtures', 'proton_client.py'), `127.0.0.1:${clientPortZ}`], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const lines: any[] = [];
      let err = '';
      child.stderr.on('data', (d) => (err += d));
      let buf = '';
      child.stdout.on('data', (d) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          lines.push(JSON.parse(buf.slice(0, i)));
          buf = buf.slice(i + 1);
        }
      });
      try {
        await waitFor('proton client subscribed', () => (X as any).subTable.get('proton-jobs')?.length === 1, 15_000);
        X.publish('multicast/news', 'from-x');
        assert.equal(X.send('proton-jobs', 'job-1'), true);
        await waitFor(`proton client done (${err})`, () => lines.some((l) => l.done), 15_000);
      } finally {
        child.kill();
      }
      assert.ok(
        lines.some((l) => l.news === 'from-x'),
        JSON.stringify(lines),
      );
      assert.ok(lines.some((l) => l.news === 'from-proton'));
      assert.ok(lines.some((l) => l.jobs === 'job-1'));
      const m = lines.find((l) => l.mgmt === 'q1');
      assert.equal(m.status, 200);
      assert.ok(m.count >= 2);
    },
  );
});

import { spawnSync } from 'node:child_process';
function spawnSyncOk(cmd: string, args: string[]): boolean {
  try {
    return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
  } catch {
    return false;
  }
}
