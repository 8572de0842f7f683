// Story 3, mesh: public, private and east linked in a triangle. Public issued the tokens that
// private and east used to link to it; private issued the one east used to link to private. Then
// public, the site that issued the tokens, is deleted: traffic between private and east keeps
// flowing, on a connection opened before and on new ones.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { SiteUnderTest, Timings, controlPlane, eventually, session, tcpExchange, tokenDir, uniqueName } from './helpers';

let pub: SiteUnderTest;
let priv: SiteUnderTest;
let east: SiteUnderTest;
const timings = new Timings('mesh');

before(
  async () => {
    const { kubeconfigPath } = await controlPlane();
    const ns = uniqueName('mesh');
    pub = new SiteUnderTest(kubeconfigPath, 'public', ns);
    priv = new SiteUnderTest(kubeconfigPath, 'private', ns);
    east = new SiteUnderTest(kubeconfigPath, 'east', ns);
    await Promise.all([pub.createNamespace(), priv.createNamespace(), east.createNamespace()]);
  },
  { timeout: 300_000 },
);

after(async () => {
  timings.print();
  await Promise.all([pub?.deleteNamespace(), priv?.deleteNamespace(), east?.deleteNamespace()]);
});

test('mesh: the token-issuing site goes away, the others keep talking', { timeout: 300_000 }, async (t) => {
  try {
    await east.deploy('tcp-go-echo', 'quay.io/skupper/tcp-go-echo', { port: 9090 });
    let t0 = Date.now();
    await Promise.all([
      pub.must('init', '--site-name', 'public'),
      priv.must('init', '--site-name', 'private'),
      east.must('init', '--site-name', 'east'),
    ]);
    await Promise.all([pub.waitReady(), priv.waitReady(), east.waitReady()]);
    timings.mark('init to ready (three sites, in parallel)', t0);

    const dir = tokenDir();
    await pub.must('token', 'create', join(dir, 'for-private'));
    await pub.must('token', 'create', join(dir, 'for-east'));
    await priv.must('token', 'create', join(dir, 'private-for-east'));
    t0 = Date.now();
    await priv.must('link', 'create', join(dir, 'for-private'), '--name', 'to-public');
    await east.must('link', 'create', join(dir, 'for-east'), '--name', 'to-public');
    await east.must('link', 'create', join(dir, 'private-for-east'), '--name', 'to-private');
    await Promise.all([priv.waitLinks(1), east.waitLinks(2)]);
    timings.mark('three links up', t0);

    await east.must('expose', 'deployment/tcp-go-echo', '--port', '9090');
    t0 = Date.now();
    const ep = await eventually('tcp-go-echo endpoint in private', 60_000, async () => (await priv.endpoints('tcp-go-echo'))[0]);
    await eventually('tcp-go-echo Service in public', 60_000, async () => (await pub.endpoints('tcp-go-echo'))[0]);
    timings.mark('expose to service visible in both other sites', t0);

    const network = await eventually('network status with three sites and three links', 30_000, async () => {
      const r = await priv.van('network', 'status', '-o', 'json');
      if (r.code !== 0) return undefined;
      const n = JSON.parse(r.out);
      return n.sites.length === 3 && n.links.filter((l: any) => l.state === 'up').length >= 3 ? n : undefined;
    });
    assert.deepEqual(network.sites.map((s: any) => s.name).sort(), ['east', 'private', 'public']);

    t0 = Date.now();
    assert.match(await eventually('first echo private → east', 30_000, () => tcpExchange(ep.ip, ep.port, 'before')), / : BEFORE$/);
    timings.mark('first answer private → east', t0);
    const long = await session(ep.ip, ep.port);
    assert.match(await long.ask('open'), / : OPEN$/);

    // The site that issued the tokens goes away.
    t0 = Date.now();
    await pub.must('delete');
    await eventually('public site gone', 60_000, async () => (await pub.kube.get(`${pub.ns}/configmaps/skupper-site`)).status === 404);
    timings.mark('delete public', t0);

    // Traffic keeps flowing: on the open connection, and on new ones.
    assert.match(await long.ask('still here'), / : STILL HERE$/);
    long.close();
    for (let i = 0; i < 5; i++) assert.match(await tcpExchange(ep.ip, ep.port, `after ${i}`), new RegExp(` : AFTER ${i}$`));
    const links = await east.json('link', 'status');
    assert.ok(
      links.some((l: any) => l.name === 'to-private' && l.connected === true),
      'east → private still up',
    );

    // Public is forgotten by the others (its announcements stopped; it said bye on its way out).
    t0 = Date.now();
    await eventually('private forgets public', 45_000, async () => {
      const n = await priv.json('network', 'status');
      return !n.sites.some((s: any) => s.name === 'public');
    });
    timings.mark('delete to public forgotten in private', t0);
  } catch (error) {
    for (const s of [pub, priv, east]) t.diagnostic(await s.routerLogs().catch(() => ''));
    throw error;
  }
});
