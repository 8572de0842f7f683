// Story 4, revoke: after `revoke-access` in the site that issued the token, the links made with it
// drop, and the services of that site disappear from the linked site.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { Timings, publicAndPrivate, eventually, tcpExchange, tokenDir } from './helpers';

const timings = new Timings('revoke');
const cast = publicAndPrivate('revoke', timings);

test('revoke-access: links drop and the remote service disappears', { timeout: 240_000 }, async (t) => {
  try {
    await cast.pub.deploy('tcp-go-echo', 'quay.io/skupper/tcp-go-echo', { port: 9090 });
    let t0 = Date.now();
    await Promise.all([
      cast.pub.must('init', '--site-name', 'public'),
      cast.priv.must('init', '--site-name', 'private', '--ingress', 'none'),
    ]);
    await Promise.all([cast.pub.waitReady(), cast.priv.waitReady()]);
    timings.mark('init to ready (both sites, in parallel)', t0);
    await cast.pub.must('expose', 'deployment/tcp-go-echo', '--port', '9090');
    const token = join(tokenDir(), 'token.yaml');
    await cast.pub.must('token', 'create', token);
    t0 = Date.now();
    await cast.priv.must('link', 'create', token);
    await cast.priv.waitLinks(1);
    timings.mark('link create to link up', t0);
    t0 = Date.now();
    const ep = await eventually('tcp-go-echo endpoint in private', 60_000, async () => (await cast.priv.endpoints('tcp-go-echo'))[0]);
    timings.mark('link up to service visible in private', t0);
    assert.match(await eventually('echo', 30_000, () => tcpExchange(ep.ip, ep.port, 'hi')), / : HI$/);

    t0 = Date.now();
    await cast.pub.must('revoke-access');
    await eventually('the link drops in private', 60_000, async () => {
      const links = await cast.priv.json('link', 'status');
      return links.every((l: any) => l.connected !== true);
    });
    timings.mark('revoke-access to link down', t0);
    await eventually('tcp-go-echo Service gone from private', 60_000, async () => !(await cast.priv.service('tcp-go-echo')));
    timings.mark('revoke-access to service gone in private', t0);
    await eventually(
      'service status in private no longer lists tcp-go-echo',
      15_000,
      async () => !(await cast.priv.json('service', 'status')).some((s: any) => s.address === 'tcp-go-echo'),
    );
    await assert.rejects(tcpExchange(ep.ip, ep.port, 'after', 3000));
    const events = await cast.priv.json('debug', 'events');
    assert.ok(
      events.some((e: any) => e.reason === 'ServiceRemoved' && /tcp-go-echo/.test(e.message)),
      'a ServiceRemoved event',
    );
  } catch (error) {
    t.diagnostic(await cast.pub.routerLogs().catch(() => ''));
    t.diagnostic(await cast.priv.routerLogs().catch(() => ''));
    throw error;
  }
});
