// HA: a site with `--routers 2` serves through both router replicas (both listen for the service,
// its Service has both as endpoints); killing one replica loses only the flows that went through
// it, the other replica's flows carry on, and new connections keep working.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { Timings, publicAndPrivate, eventually, session, tcpExchange, tokenDir } from './helpers';

const timings = new Timings('ha');
const cast = publicAndPrivate('ha', timings);

test('ha: two router replicas serve; a killed one loses only its own flows', { timeout: 240_000 }, async (t) => {
  try {
    await cast.pub.deploy('tcp-go-echo', 'quay.io/skupper/tcp-go-echo', { port: 9090, replicas: 2 });
    let t0 = Date.now();
    await Promise.all([
      cast.pub.must('init', '--site-name', 'public'),
      cast.priv.must('init', '--site-name', 'private', '--ingress', 'none', '--routers', '2'),
    ]);
    await Promise.all([cast.pub.waitReady(), cast.priv.waitReady()]);
    timings.mark('init to ready (private with 2 routers)', t0);
    await cast.pub.must('expose', 'deployment/tcp-go-echo', '--port', '9090');
    const token = join(tokenDir(), 'token.yaml');
    await cast.pub.must('token', 'create', token);
    t0 = Date.now();
    await cast.priv.must('link', 'create', token);
    const eps = await eventually('two endpoints (both router replicas) for tcp-go-echo in private', 90_000, async () => {
      const e = await cast.priv.endpoints('tcp-go-echo');
      return e.length === 2 ? e : undefined;
    });
    timings.mark('link create to both replicas serving', t0);
    const routers = await cast.priv.readyPods('application=skupper-router');
    assert.equal(routers.length, 2);
    assert.deepEqual(eps.map((e) => e.ip).sort(), routers.map((r) => r.ip).sort());

    // One long-lived flow through each replica.
    const byIp = new Map<string, Awaited<ReturnType<typeof session>>>();
    for (const e of eps) {
      await eventually(`echo through replica ${e.ip}`, 30_000, () => tcpExchange(e.ip, e.port, 'ping'));
      const s = await session(e.ip, e.port);
      assert.match(await s.ask('hello'), / : HELLO$/);
      byIp.set(e.ip, s);
    }
    const [victim, survivor] = routers;
    const uid = (await cast.priv.service('tcp-go-echo')).metadata.uid;
    t0 = Date.now();
    await cast.priv.kube.del(`${cast.priv.ns}/pods/${victim.name}?gracePeriodSeconds=0`);
    await eventually("the killed replica's flow is closed", 30_000, async () => byIp.get(victim.ip)!.closed());
    timings.mark('replica killed to its flow closed', t0);
    assert.match(await byIp.get(survivor.ip)!.ask('still here'), / : STILL HERE$/, "the other replica's flow carries on");
    const port = eps[0].port;
    for (let i = 0; i < 3; i++) assert.match(await tcpExchange(survivor.ip, port, `new ${i}`), new RegExp(` : NEW ${i}$`));
    byIp.get(survivor.ip)!.close();
    t0 = Date.now();
    const fresh = await eventually('a replacement replica among the ready endpoints', 90_000, async () => {
      const e = await cast.priv.endpoints('tcp-go-echo');
      if (e.length !== 2 || e.some((x) => x.ip === victim.ip)) return undefined;
      return e.find((x) => x.ip !== survivor.ip);
    });
    timings.mark('replica killed to replacement ready', t0);
    // Ready means ready: the replacement said so only once it had heard the other sites' services, so
    // the first connection to it works at once (no retry here on purpose)
    assert.match(await tcpExchange(fresh.ip, fresh.port, 'first'), / : FIRST$/);
    assert.equal(
      (await cast.priv.service('tcp-go-echo')).metadata.uid,
      uid,
      'the Service stayed in place (no churn) while a replica was replaced',
    );
  } catch (error) {
    t.diagnostic(await cast.pub.routerLogs().catch(() => ''));
    t.diagnostic(await cast.priv.routerLogs().catch(() => ''));
    throw error;
  }
});
