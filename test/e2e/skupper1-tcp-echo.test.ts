// Story 1 (the TCP echo) written only as Skupper 1.x YAML: each site a hand-written skupper-site
// ConfigMap (fixtures/skupper1/), the echo exposed by its skupper.io/proxy annotation. `van init`
// adopts the ConfigMaps, a token links private to public, and a client in private gets its line back
// from the echo in public. Removing the annotation removes the Service in private.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { type SiteUnderTest, Timings, eventually, publicAndPrivate, tcpExchange, tokenDir } from './helpers';

const timings = new Timings('skupper1-tcp-echo');
const cast = publicAndPrivate('s1echo', timings);

/** Creates every object of a YAML file in the site's namespace, as `kubectl apply -f` would. */
async function applyYaml(site: SiteUnderTest, file: string): Promise<void> {
  const text = readFileSync(join(__dirname, 'fixtures', 'skupper1', file), 'utf8');
  for (const doc of parseAllDocuments(text)) {
    const o = doc.toJSON();
    if (!o) continue;
    const path =
      o.kind === 'Deployment' ? `/apis/apps/v1/namespaces/${site.namespace}/deployments` : `${site.ns}/${String(o.kind).toLowerCase()}s`;
    const r = await site.kube.post(path, o);
    assert.equal(r.status, 201, `${o.kind}/${o.metadata.name}: ${r.text}`);
  }
}

test('tcp-echo in Skupper 1.x YAML: adopted site ConfigMaps, exposure by annotation', { timeout: 300_000 }, async () => {
  try {
    await applyYaml(cast.pub, 'public.yaml');
    await applyYaml(cast.priv, 'private.yaml');

    const t0 = Date.now();
    const [pubInit, privInit] = await Promise.all([cast.pub.json('init'), cast.priv.json('init')]);
    assert.equal(pubInit.site.name, 'public');
    assert.equal(privInit.site.name, 'private');
    await Promise.all([cast.pub.waitReady(), cast.priv.waitReady()]);
    timings.mark('init (adopting the ConfigMaps) to ready', t0);
    const privStatus = await cast.priv.json('status');
    assert.equal(privStatus.ingress, 'none', 'cluster-local: true is ingress none');

    // The annotation alone exposed the echo: the definition is there before anyone runs expose.
    const services = await eventually('tcp-go-echo in public skupper-services', 60_000, async () => {
      const list = await cast.pub.json<{ address: string; local: boolean }[]>('service', 'status');
      return list.find((s) => s.address === 'tcp-go-echo' && s.local);
    });
    assert.ok(services);

    const token = join(tokenDir(), 'skupper1-public-token.yaml');
    await cast.pub.must('token', 'create', token);
    const secret = parseAllDocuments(readFileSync(token, 'utf8'))[0].toJSON();
    const version = secret.metadata.annotations['skupper.io/site-version'] as string;
    const [major, minor] = version.split('.').map(Number);
    assert.ok(major >= 1 || minor >= 8, `1.x tooling accepts the token's site version (${version})`);
    assert.ok(secret.metadata.annotations['vscode-skupper/version'], "the project's own version is kept apart");

    await cast.priv.must('link', 'create', token);
    await cast.priv.waitLinks(1);
    const t1 = Date.now();
    const eps = await eventually('tcp-go-echo Service with a ready endpoint in private', 90_000, async () => {
      const e = await cast.priv.endpoints('tcp-go-echo');
      return e.length ? e : undefined;
    });
    timings.mark('link up to service visible in private', t1);
    const answer = await eventually('an echo through the VAN', 30_000, () => tcpExchange(eps[0].ip, eps[0].port, 'declared, not typed'));
    assert.match(answer, /^tcp-go-echo-\S+ : DECLARED, NOT TYPED$/);

    // Unexpose the 1.x way: remove the annotation.
    const t2 = Date.now();
    const r = await cast.pub.kube.mergePatch(`/apis/apps/v1/namespaces/${cast.pub.namespace}/deployments/tcp-go-echo`, {
      metadata: { annotations: { 'skupper.io/proxy': null } },
    });
    assert.equal(r.status, 200, r.text);
    await eventually('tcp-go-echo Service removed in private', 90_000, async () => (await cast.priv.service('tcp-go-echo')) === undefined);
    timings.mark('annotation removed to remote Service gone', t2);
  } catch (error) {
    process.stderr.write(`${await cast.pub.routerLogs()}\n${await cast.priv.routerLogs()}\n`);
    throw error;
  }
});
