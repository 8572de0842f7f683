// A laptop site's services.json and forwards.json: what expose host / forward write, what they refuse,
// and that a refused change leaves the files as they were.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { UserError } from '../../../src/core/errors';
import {
  exposeHost,
  forwardService,
  localServiceStatus,
  readLocalServices,
  unexposeHost,
  unforwardService,
} from '../../../src/core/service/local';
import { initLocalSite } from '../../../src/core/site/local';
import { freePort } from '../../net';

const env = { ...process.env, VAN_LOCAL_HOME: mkdtempSync(join(tmpdir(), 'van-local-services-')) };
let dir: string;
let sitePorts: number[];

before(async () => {
  const made = await initLocalSite({ siteName: 'laptop', env });
  dir = made.dir;
  sitePorts = Object.values(made.site.ports);
});

const json = (file: string) => JSON.parse(readFileSync(join(dir, file), 'utf8'));

describe('expose host on a laptop site', () => {
  test('writes a Skupper 1.x definition with a host target, 0600, and reads it back', () => {
    const def = exposeHost(dir, { host: '127.0.0.1', address: 'laptop-db', ports: [5432] });
    assert.deepEqual(def.targets, [{ name: '127.0.0.1', host: '127.0.0.1' }]);
    assert.deepEqual(json('services.json'), {
      'laptop-db': { address: 'laptop-db', protocol: 'tcp', ports: [5432], targets: [{ name: '127.0.0.1', host: '127.0.0.1' }] },
    });
    assert.equal(statSync(join(dir, 'services.json')).mode & 0o777, 0o600);
    assert.deepEqual(
      readLocalServices(dir).definitions.map((d) => [d.address, d.ports, d.targets[0].host]),
      [['laptop-db', [5432], '127.0.0.1']],
    );
  });

  test('maps service ports to other host ports with --target-port', () => {
    const def = exposeHost(dir, { host: 'localhost', address: 'web', ports: [80], targetPorts: [8080] });
    assert.deepEqual(def.targets[0].targetPorts, { '80': 8080 });
    // exposing the same host again under the same address updates it
    assert.deepEqual(exposeHost(dir, { host: 'localhost', address: 'web', ports: [80, 443], targetPorts: [8080, 8443] }).ports, [80, 443]);
    assert.equal(readLocalServices(dir).definitions.find((d) => d.address === 'web')?.targets[0].targetPorts?.['443'], 8443);
  });

  test('refuses bad input with a reason and writes nothing', () => {
    const before = readFileSync(join(dir, 'services.json'), 'utf8');
    const cases: [Parameters<typeof exposeHost>[1], RegExp][] = [
      [{ host: 'not a host', address: 'x', ports: [1] }, /not a host name or IP address/],
      [{ host: '127.0.0.1', address: '', ports: [1] }, /--address/],
      [{ host: '127.0.0.1', address: 'Bad_Name', ports: [1] }, /lower case/],
      [{ host: '127.0.0.1', address: 'x', ports: [] }, /--port/],
      [{ host: '127.0.0.1', address: 'x', ports: [70000] }, /not a port number/],
      [{ host: '127.0.0.1', address: 'x', ports: [1], protocol: 'udp' }, /unknown protocol "udp"/],
      [{ host: '127.0.0.1', address: 'x', ports: [1, 2, 3], targetPorts: [4, 5] }, /one per --port/],
      [{ host: '10.0.0.9', address: 'web', ports: [80] }, /already exposed from local site laptop by localhost/],
    ];
    for (const [request, message] of cases)
      assert.throws(
        () => exposeHost(dir, request),
        (e: unknown) => e instanceof UserError && message.test(e.message),
        JSON.stringify(request),
      );
    assert.equal(readFileSync(join(dir, 'services.json'), 'utf8'), before);
  });

  test('unexpose by address or by host; unknown names list what is exposed', () => {
    assert.throws(() => unexposeHost(dir, { address: 'nope' }), /does not expose "nope".*exposed here: laptop-db, web/);
    assert.deepEqual(
      unexposeHost(dir, { host: 'localhost' }).map((d) => d.address),
      ['web'],
    );
    assert.deepEqual(Object.keys(json('services.json')), ['laptop-db']);
  });
});

describe('forward a network service to a port of this machine', () => {
  let busy: Server;
  let busyPort: number;
  before(async () => {
    busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    busyPort = (busy.address() as { port: number }).port;
  });
  after(() => busy.close());

  test('writes the forward and holds its port across a repeat', async () => {
    const port = await freePort();
    const f = await forwardService(dir, { address: 'tcp-go-echo', port });
    assert.deepEqual(f, { address: 'tcp-go-echo', host: '127.0.0.1', port });
    assert.deepEqual(json('forwards.json'), { 'tcp-go-echo': { host: '127.0.0.1', port } });
    assert.equal(statSync(join(dir, 'forwards.json')).mode & 0o777, 0o600);
    // the same forward again: accepted even when its port is now busy (the router holds it)
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(port, '127.0.0.1', () => r()));
    try {
      assert.deepEqual(await forwardService(dir, { address: 'tcp-go-echo', port }), f);
    } finally {
      holder.close();
    }
  });

  test('refuses a busy port, a site port, a port another forward holds, and a service exposed here', async () => {
    const before = readFileSync(join(dir, 'forwards.json'), 'utf8');
    const held = readLocalServices(dir).forwards[0].port;
    await assert.rejects(forwardService(dir, { address: 'backend', port: busyPort }), /in use by another program/);
    await assert.rejects(forwardService(dir, { address: 'backend', port: sitePorts[0] }), /one of local site laptop's own ports/);
    await assert.rejects(forwardService(dir, { address: 'backend', port: held }), /already forwards "tcp-go-echo"/);
    await assert.rejects(forwardService(dir, { address: 'laptop-db', port: await freePort() }), /exposed from this machine/);
    await assert.rejects(forwardService(dir, { address: 'backend', port: 8080, host: 'bad host' }), /not a host name/);
    assert.equal(readFileSync(join(dir, 'forwards.json'), 'utf8'), before);
    assert.throws(
      () => exposeHost(dir, { host: '127.0.0.1', address: 'tcp-go-echo', ports: [9090] }),
      /forwards "tcp-go-echo".*van unforward tcp-go-echo/,
    );
  });

  test('service status lists exposed, forwarded and network services', () => {
    writeFileSync(
      join(dir, 'network.json'),
      JSON.stringify({
        sites: [{ id: 'p1', name: 'public' }],
        services: [{ address: 'tcp-go-echo', protocol: 'tcp', ports: [9090], exposedIn: ['p1'] }],
      }),
    );
    const status = localServiceStatus(dir);
    const port = readLocalServices(dir).forwards[0].port;
    assert.deepEqual(status, [
      { address: 'laptop-db', protocol: 'tcp', ports: [5432], local: true, targets: ['host/127.0.0.1'] },
      { address: 'tcp-go-echo', protocol: 'tcp', ports: [9090], local: false, exposedIn: ['public'], forwardedTo: `127.0.0.1:${port}` },
    ]);
  });

  test('unforward removes it; an unknown one lists the forwards', () => {
    assert.throws(() => unforwardService(dir, 'backend'), /does not forward "backend"; forwarded: tcp-go-echo \(127\.0\.0\.1:\d+\)/);
    assert.equal(unforwardService(dir, 'tcp-go-echo').address, 'tcp-go-echo');
    assert.deepEqual(json('forwards.json'), {});
  });

  test('a broken file is reported, never overwritten', async () => {
    writeFileSync(join(dir, 'forwards.json'), '{"x": ');
    assert.equal(readLocalServices(dir).errors[0].file, 'forwards.json');
    await assert.rejects(forwardService(dir, { address: 'backend', port: await freePort() }), /forwards\.json: .*fix or remove it first/);
    assert.equal(readFileSync(join(dir, 'forwards.json'), 'utf8'), '{"x": ');
    writeFileSync(join(dir, 'forwards.json'), '{}');
  });

  test('a folder that is not a site says how to make one', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'van-no-site-'));
    await assert.rejects(forwardService(empty, { address: 'a', port: 1 }), /van init --platform local/);
    assert.throws(() => exposeHost(empty, { host: '127.0.0.1', address: 'a', ports: [1] }), /van init --platform local/);
  });
});
