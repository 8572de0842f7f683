// Story 1, the seed tutorial: `public` runs tcp-go-echo and exposes it on 9090; `private` (no
// ingress) links to it with a token; a client in `private` reaches the `tcp-go-echo` Service through
// its endpoint (the router pod) and gets its line back upper-cased with the pod name. The private
// router never listens for other routers: its link is outgoing only.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { Timings, publicAndPrivate, eventually, tcpExchange, tokenDir } from './helpers';
import { refused } from '../net';

const timings = new Timings('tcp-echo');
const cast = publicAndPrivate('echo', timings);

test('tcp-echo: a private site reaches a public echo server through the VAN', { timeout: 240_000 }, async (t) => {
  try {
    await cast.pub.deploy('tcp-go-echo', 'quay.io/skupper/tcp-go-echo', { port: 9090 });

    let t0 = Date.now();
    await cast.pub.must('init', '--site-name', 'public');
    await cast.priv.must('init', '--site-name', 'private', '--ingress', 'none');
    await Promise.all([cast.pub.waitReady(), cast.priv.waitReady()]);
    timings.mark('init to ready (both sites, in parallel)', t0);

    // The tutorial's words: `skupper expose --port 9090 deployment tcp-go-echo`.
    assert.equal(
      await cast.pub.must('expose', '--port', '9090', 'deployment', 'tcp-go-echo'),
      'deployment tcp-go-echo exposed as tcp-go-echo',
    );

    const token = join(tokenDir(), 'public-token.yaml');
    await cast.pub.must('token', 'create', token);
    t0 = Date.now();
    await cast.priv.must('link', 'create', token);
    const links = await cast.priv.waitLinks(1);
    timings.mark('link create to link up', t0);
    assert.equal(links.length, 1);
    await eventually('tcp-go-echo Service in private', 60_000, async () => (await cast.priv.endpoints('tcp-go-echo')).length > 0);

    timings.mark('link create to service visible in private', t0);
    const svcStart = Date.now();
    const eps = await eventually('tcp-go-echo Service with a ready endpoint in private', 60_000, async () => {
      const svc = await cast.priv.service('tcp-go-echo');
      if (!svc) return undefined;
      const e = await cast.priv.endpoints('tcp-go-echo');
      return e.length ? { svc, e } : undefined;
    });
    timings.mark('link up to service visible in private', svcStart);
    assert.equal(eps.svc.metadata.annotations['internal.skupper.io/controlled'], 'true');
    assert.deepEqual(eps.svc.spec.selector, { application: 'skupper-router', 'skupper.io/component': 'router' });
    assert.deepEqual(
      eps.svc.spec.ports.map((p: any) => p.port),
      [9090],
    );

    const routerPods = await cast.priv.readyPods('application=skupper-router');
    assert.ok(
      routerPods.some((p) => p.ip === eps.e[0].ip),
      'the endpoint is the router pod',
    );

    const firstStart = Date.now();
    const line = 'Do what thou wilt shall be the whole of the law.';
    const answer = await eventually('an echo through the VAN', 30_000, () => tcpExchange(eps.e[0].ip, eps.e[0].port, line));
    timings.mark('service visible to first answer', firstStart);
    const echoPods = await cast.pub.readyPods('application=tcp-go-echo');
    assert.match(answer, /^tcp-go-echo-\S+ : DO WHAT THOU WILT SHALL BE THE WHOLE OF THE LAW\.$/);
    assert.ok(
      echoPods.some((p) => answer.startsWith(`${p.name} : `)),
      `answer names an echo pod: ${answer}`,
    );

    // A second connection, at once.
    const t1 = Date.now();
    assert.match(await tcpExchange(eps.e[0].ip, eps.e[0].port, 'again'), / : AGAIN$/);
    timings.mark('one more connection, round trip', t1);

    // Private opened no inter-router or edge listener: its link is outgoing only.
    for (const pod of routerPods) {
      assert.equal(await refused(pod.ip, 55671), true, 'no inter-router listener in private');
      assert.equal(await refused(pod.ip, 45671), true, 'no edge listener in private');
    }

    // What the CLI reports in private.
    const services = await cast.priv.json('service', 'status');
    assert.deepEqual(
      services.map((s: any) => [s.address, s.protocol, s.ports, s.local]),
      [['tcp-go-echo', 'tcp', [9090], false]],
    );
    const network = await eventually('network status with both sites, the link and the service', 30_000, async () => {
      const r = await cast.priv.van('network', 'status', '-o', 'json');
      if (r.code !== 0) return undefined;
      const n = JSON.parse(r.out);
      return n.sites.length === 2 && n.links.some((l: any) => l.state === 'up') && n.services.some((s: any) => s.address === 'tcp-go-echo')
        ? n
        : undefined;
    });
    assert.deepEqual(network.sites.map((s: any) => s.name).sort(), ['private', 'public']);
    const pubId = network.sites.find((s: any) => s.name === 'public').id;
    assert.deepEqual(network.services.find((s: any) => s.address === 'tcp-go-echo').exposedIn, [pubId]);
    const events = await cast.priv.json('debug', 'events');
    assert.ok(
      events.some((e: any) => e.reason === 'ServiceAdded' && /tcp-go-echo/.test(e.message)),
      'a ServiceAdded event in private',
    );
  } catch (error) {
    t.diagnostic(await cast.pub.routerLogs().catch(() => ''));
    t.diagnostic(await cast.priv.routerLogs().catch(() => ''));
    throw error;
  }
});

test('tcp-echo: connectors follow scale-up, scale-down and a restarted pod', { timeout: 120_000 }, async () => {
  const [router] = await cast.pub.readyPods('application=skupper-router');
  const connectors = async (): Promise<string[]> => {
    const r = await fetch(`http://${router.ip}:9192/status`);
    const st: any = await r.json();
    return st.router.tcpConnectors
      .filter((c: any) => c.address === 'tcp-go-echo')
      .map((c: any) => c.host)
      .sort();
  };
  const [ep] = await cast.priv.endpoints('tcp-go-echo');
  const follow = async (what: string, n: number, since: number, exclude?: string) => {
    await eventually(`${what}: connectors = ready pods`, 60_000, async () => {
      const pods = await cast.pub.readyPods('application=tcp-go-echo');
      if (pods.length !== n || pods.some((p) => p.name === exclude)) return false;
      return JSON.stringify(pods.map((p) => p.ip).sort()) === JSON.stringify(await connectors());
    });
    timings.mark(what, since);
  };
  let t0 = Date.now();
  await cast.pub.kube.mergePatch(`/apis/apps/v1/namespaces/${cast.pub.namespace}/deployments/tcp-go-echo`, { spec: { replicas: 3 } });
  await follow('scale 1 → 3: connectors follow', 3, t0);
  const names = new Set<string>();
  for (let i = 0; i < 9; i++) names.add((await tcpExchange(ep.ip, ep.port, `n${i}`)).split(' : ')[0]);
  assert.equal(names.size, 3, `all three pods answer: ${[...names].join(', ')}`);

  t0 = Date.now();
  await cast.pub.kube.mergePatch(`/apis/apps/v1/namespaces/${cast.pub.namespace}/deployments/tcp-go-echo`, { spec: { replicas: 1 } });
  await follow('scale 3 → 1: connectors follow', 1, t0);
  const [only] = await cast.pub.readyPods('application=tcp-go-echo');
  for (let i = 0; i < 3; i++) assert.ok((await tcpExchange(ep.ip, ep.port, 'one')).startsWith(`${only.name} : `));

  t0 = Date.now();
  await cast.pub.kube.del(`${cast.pub.ns}/pods/${only.name}`);
  await follow('pod deleted: connector moves to its replacement', 1, t0, only.name);
  assert.match(await tcpExchange(ep.ip, ep.port, 'replaced'), / : REPLACED$/);
});

test('tcp-echo: unexpose in public removes the service from private', { timeout: 60_000 }, async () => {
  const t0 = Date.now();
  assert.match(await cast.pub.must('unexpose', 'deployment/tcp-go-echo'), /unexposed \(tcp-go-echo\)/);
  await eventually('tcp-go-echo Service gone from private', 30_000, async () => !(await cast.priv.service('tcp-go-echo')));
  timings.mark('unexpose to service gone in private', t0);
  const events = await cast.priv.json('debug', 'events');
  assert.ok(
    events.some((e: any) => e.reason === 'ServiceRemoved' && /tcp-go-echo/.test(e.message)),
    'a ServiceRemoved event in private',
  );
  await eventually('service status in private is empty', 15_000, async () => (await cast.priv.json('service', 'status')).length === 0);
});
