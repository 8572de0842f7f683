// Story 1 written only as Skupper 2.x resources, created through the API as `kubectl apply` would:
// the controller (a Deployment in each namespace, from `van crds install --controller`) makes both
// sites; an AccessGrant in public and an AccessToken made from its status in private link them; a
// Connector in public and a Listener in private carry the echo. Then deleting the Connector removes
// the Service in private.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Timings, eventually, publicAndPrivate, tcpExchange, type SiteUnderTest } from './helpers';

const timings = new Timings('v2-tcp-echo');
const cast = publicAndPrivate('v2echo', timings);

const path = (site: SiteUnderTest, plural: string, name = '') =>
  `/apis/skupper.io/v2alpha1/namespaces/${site.namespace}/${plural}${name ? `/${name}` : ''}`;

async function apply(site: SiteUnderTest, plural: string, kind: string, name: string, spec: Record<string, unknown>): Promise<void> {
  const r = await site.kube.post(path(site, plural), { apiVersion: 'skupper.io/v2alpha1', kind, metadata: { name }, spec });
  assert.equal(r.status, 201, `create ${kind} ${name}: ${r.text}`);
}

/** `kubectl wait --for=condition=TYPE plural/name`. */
async function waitFor(site: SiteUnderTest, plural: string, name: string, type: string, timeoutMs = 120_000): Promise<any> {
  return eventually(`${site.context}: ${plural}/${name} ${type}`, timeoutMs, async () => {
    const r = await site.kube.get(path(site, plural, name));
    return (r.body?.status?.conditions ?? []).some((c: any) => c.type === type && c.status === 'True') ? r.body : undefined;
  });
}

test('v2 tcp-echo: Site, Connector, AccessGrant in public; Site, AccessToken, Listener in private', { timeout: 360_000 }, async () => {
  const { pub, priv } = cast;
  try {
    let t0 = Date.now();
    await pub.must('crds', 'install', '--controller');
    // Another cluster: without its CRDs the controller alone is refused, with what to do.
    const early = await priv.van('crds', 'install', '--controller-only');
    if (early.code !== 0)
      assert.match(early.err, /CRDs are not installed in cluster private: a cluster admin runs "van crds install" first/);
    await priv.must('crds', 'install');
    await priv.must('crds', 'install', '--controller-only');
    timings.mark('crds and controllers installed', t0);
    await pub.deploy('tcp-go-echo', 'quay.io/skupper/tcp-go-echo', { port: 9090 });

    t0 = Date.now();
    await apply(pub, 'sites', 'Site', 'public', { linkAccess: 'default' });
    await apply(priv, 'sites', 'Site', 'private', {});
    await apply(pub, 'connectors', 'Connector', 'tcp-go-echo', {
      routingKey: 'tcp-go-echo',
      selector: 'application=tcp-go-echo',
      port: 9090,
    });
    await apply(priv, 'listeners', 'Listener', 'tcp-go-echo', { routingKey: 'tcp-go-echo', host: 'tcp-go-echo', port: 9090 });
    await apply(pub, 'accessgrants', 'AccessGrant', 'grant', { redemptionsAllowed: 1, expirationWindow: '15m' });
    const [pubSite] = await Promise.all([waitFor(pub, 'sites', 'public', 'Ready'), waitFor(priv, 'sites', 'private', 'Ready')]);
    timings.mark('Sites created to both Ready', t0);
    assert.ok(pubSite.status.endpoints.length > 0);

    const grant = await waitFor(pub, 'accessgrants', 'grant', 'Ready');
    assert.match(grant.status.url, /^https:\/\/[^/]+:8081\/[a-z0-9-]+$/);
    t0 = Date.now();
    await apply(priv, 'accesstokens', 'AccessToken', 'to-public', { url: grant.status.url, code: grant.status.code, ca: grant.status.ca });
    const token = await waitFor(priv, 'accesstokens', 'to-public', 'Redeemed');
    assert.equal(token.status.redeemed, true);
    const link = await waitFor(priv, 'links', 'to-public', 'Ready');
    timings.mark('AccessToken to Link Ready', t0);
    assert.equal(link.status.remoteSiteName, 'public');
    await eventually(
      'grant counts its redemption',
      30_000,
      async () => (await pub.kube.get(path(pub, 'accessgrants', 'grant'))).body.status.redemptions === 1,
    );

    t0 = Date.now();
    const listener = await waitFor(priv, 'listeners', 'tcp-go-echo', 'Ready');
    assert.equal(listener.status.hasMatchingConnector, true);
    const connector = await eventually('connector sees a listener', 60_000, async () => {
      const r = await pub.kube.get(path(pub, 'connectors', 'tcp-go-echo'));
      return r.body.status?.hasMatchingListener ? r.body : undefined;
    });
    assert.equal(connector.status.status, 'Ready');
    await eventually(
      'public Site counts 2 sites in the network',
      60_000,
      async () => (await pub.kube.get(path(pub, 'sites', 'public'))).body.status.sitesInNetwork === 2,
    );

    const eps = await eventually('tcp-go-echo endpoint in private', 60_000, async () => {
      const e = await priv.endpoints('tcp-go-echo');
      return e.length ? e : undefined;
    });
    const answer = await eventually('an echo through the VAN', 30_000, () => tcpExchange(eps[0].ip, eps[0].port, 'hello from v2'));
    timings.mark('link up to first echo', t0);
    assert.match(answer, /^tcp-go-echo-\S+ : HELLO FROM V2$/);

    // 1.x verbs leave a 2.x site alone.
    const refused = await priv.van('link', 'create', '/dev/null');
    assert.equal(refused.code, 1);
    assert.match(refused.err, /managed by Skupper 2.x resources/);

    t0 = Date.now();
    assert.equal((await pub.kube.del(path(pub, 'connectors', 'tcp-go-echo'))).status, 200);
    await eventually('the tcp-go-echo Service leaves private', 60_000, async () => (await priv.service('tcp-go-echo')) === undefined);
    timings.mark('Connector deleted to Service gone in private', t0);
    const orphan = await eventually('listener without connector', 30_000, async () => {
      const r = await priv.kube.get(path(priv, 'listeners', 'tcp-go-echo'));
      return r.body.status?.hasMatchingConnector === false ? r.body : undefined;
    });
    assert.equal(orphan.status.status, 'Pending');
  } catch (error) {
    process.stdout.write(`${await pub.routerLogs()}\n${await priv.routerLogs()}\n`);
    throw error;
  }
});
