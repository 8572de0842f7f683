// Skupper 1.x's declarative way on the real control plane: a skupper-site ConfigMap written by hand
// before init is adopted (its settings win, its other keys stay); Deployments and Services annotated
// skupper.io/proxy become definitions in skupper-services (origin annotation, the target's namespace)
// and Services, and removing the annotation unexposes; a key rewritten by expose keeps the 1.x fields;
// skupper-network-status carries the key 1.x tools read (NetworkStatus).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import * as esbuild from 'esbuild';
import { KubeClient } from '../../src/core/kube/client';
import { expose, unexpose } from '../../src/core/service/expose';
import { initSite } from '../../src/core/site/kube';
import { clusterSetup, createNamespace, deleteNamespace, eventually, uniqueName } from './helpers';
import type { Kube } from './kube';
import { projectRoot } from './paths';

const cluster = (process.env.VAN_TEST_CLUSTERS?.split(',')[0] || 'public').trim();
const ns = uniqueName('skupper1');
const work = mkdtempSync(join(tmpdir(), 'van-skupper1-test-'));
let admin: Kube;
let client: KubeClient;
let gz: Buffer;
const api = `/api/v1/namespaces/${ns}`;
const apps = `/apis/apps/v1/namespaces/${ns}`;

function deployment(name: string, annotations: Record<string, string>, port: number) {
  const labels = { application: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, annotations },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ name, image: 'quay.io/skupper/tcp-go-echo', ports: [{ containerPort: port }] }] },
      },
    },
  };
}

const servicesData = async (): Promise<Record<string, string>> => (await admin.get(`${api}/configmaps/skupper-services`)).body.data ?? {};

before(
  async () => {
    const setup = await clusterSetup();
    admin = setup.kube(cluster);
    const outfile = join(work, 'router.js');
    await esbuild.build({
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      minify: true,
      absWorkingDir: projectRoot,
      entryPoints: ['src/core/agent/main.ts'],
      outfile,
      logLevel: 'warning',
    });
    gz = gzipSync(readFileSync(outfile));
    await createNamespace(admin, ns);
    client = KubeClient.forContext({ kubeconfig: setup.kubeconfigPath, context: cluster, namespace: ns, timeoutMs: 20_000 });
  },
  { timeout: 300_000 },
);

after(async () => {
  if (admin) await deleteNamespace(admin, ns).catch(() => undefined);
});

describe('Skupper 1.x: site ConfigMap and annotations', { timeout: 400_000 }, () => {
  test('a skupper-site written before init is adopted: its settings are used, its other keys kept', async () => {
    const declared = await admin.post(`${api}/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'skupper-site', labels: { owner: 'gitops' } },
      data: { name: 'declared-west', ingress: 'none', 'router-mode': 'interior', routers: '1', console: 'false' },
    });
    assert.equal(declared.status, 201, declared.text);
    const lines: string[] = [];
    // --ingress loadbalancer asked: the ConfigMap's none wins, and the user is told.
    const result = await initSite(client, {
      namespace: ns,
      ingress: 'loadbalancer',
      bundleGzip: gz,
      readyTimeoutMs: 120_000,
      progress: (l) => lines.push(l),
    });
    assert.equal(result.site.name, 'declared-west');
    assert.equal(result.site.ingress, 'none');
    assert.equal(result.site.id, declared.body.metadata.uid, 'the declared ConfigMap is the site record');
    assert.ok(
      lines.some((l) => /sets ingress none: used instead of loadbalancer/.test(l)),
      lines.join('\n'),
    );
    const cm = (await admin.get(`${api}/configmaps/skupper-site`)).body;
    assert.equal(cm.data.console, 'false', 'a key init does not manage is kept');
    assert.equal(cm.metadata.labels.owner, 'gitops');
    const router = (await admin.get(`${apps}/deployments/skupper-router`)).body;
    assert.equal(router.metadata.ownerReferences[0].uid, cm.metadata.uid);
    // An installed site is no declaration: a second init refuses.
    await assert.rejects(initSite(client, { namespace: ns, bundleGzip: gz, noWait: true }), /already exists/);
  });

  test('a declared site init cannot honour is refused with what to change; a failed init keeps the declaration', async () => {
    const other = uniqueName('skupper1-decl');
    await createNamespace(admin, other);
    try {
      const oapi = `/api/v1/namespaces/${other}`;
      const made = await admin.post(`${oapi}/configmaps`, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'skupper-site' },
        data: { name: 'routed', ingress: 'route', flavour: 'kept' },
      });
      assert.equal(made.status, 201, made.text);
      const otherClient = new KubeClient(client.kc, client.contextName, client.server, other, 20_000);
      await assert.rejects(
        initSite(otherClient, { namespace: other, bundleGzip: gz, noWait: true }),
        /ingress "route" is not available here: set ingress to loadbalancer, nodeport or none/,
      );
      // Fixed in Git, applied again: init gets as far as the router Service, then fails; the declaration stays.
      const cm = (await admin.get(`${oapi}/configmaps/skupper-site`)).body;
      assert.equal((await admin.put(`${oapi}/configmaps/skupper-site`, { ...cm, data: { ...cm.data, ingress: 'none' } })).status, 200);
      await assert.rejects(
        initSite(otherClient, {
          namespace: other,
          bundleGzip: gz,
          noWait: true,
          afterApply: (o) => {
            if (o.kind === 'Service') throw new Error('interrupted');
          },
        }),
        /interrupted/,
      );
      const kept = await admin.get(`${oapi}/configmaps/skupper-site`);
      assert.equal(kept.status, 200, 'the declared ConfigMap is not removed with what init made');
      assert.equal(kept.body.data.flavour, 'kept');
      assert.equal((await admin.get(`${oapi}/services/skupper-router`)).status, 404, 'what init made is removed');
      assert.equal((await admin.get(`${oapi}/secrets/skupper-site-ca`)).status, 404);
      assert.deepEqual(kept.body.data, { ...cm.data, ingress: 'none' }, 'the declaration is back as its author wrote it');
      // so that the next init adopts it again instead of calling it an existing site
      const third = await initSite(otherClient, { namespace: other, bundleGzip: gz, noWait: true });
      assert.equal(third.site.name, 'routed');
    } finally {
      await deleteNamespace(admin, other).catch(() => undefined);
    }
  });

  test('annotated Deployment and Service: definitions with origin annotation, Services made', async () => {
    const d = await admin.post(`${apps}/deployments`, deployment('tcp-go-echo', { 'skupper.io/proxy': 'tcp' }, 9090));
    assert.equal(d.status, 201, d.text);
    const real = await admin.post(`${api}/services`, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'echo-real' },
      spec: { selector: { application: 'tcp-go-echo' }, ports: [{ port: 9090, targetPort: 9090 }] },
    });
    assert.equal(real.status, 201, real.text);
    const front = await admin.post(`${api}/services`, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'echo-front',
        annotations: {
          'skupper.io/proxy': 'tcp',
          'skupper.io/target': 'echo-real',
          'skupper.io/address': 'echo-alias',
          'skupper.io/port': '7000',
        },
      },
      spec: { ports: [{ port: 7000 }] },
    });
    assert.equal(front.status, 201, front.text);

    const data = await eventually('annotated definitions in skupper-services', 60_000, async () => {
      const x = await servicesData();
      return x['tcp-go-echo'] && x['echo-alias'] ? x : undefined;
    });
    assert.deepEqual(JSON.parse(data['tcp-go-echo']), {
      address: 'tcp-go-echo',
      protocol: 'tcp',
      ports: [9090],
      targets: [{ name: 'tcp-go-echo', selector: 'application=tcp-go-echo', targetPorts: { '9090': 9090 }, namespace: ns }],
      origin: 'annotation',
    });
    assert.deepEqual(JSON.parse(data['echo-alias']).targets, [
      { name: 'echo-front', selector: 'application=tcp-go-echo', targetPorts: { '7000': 9090 }, service: 'echo-real', namespace: ns },
    ]);
    for (const name of ['tcp-go-echo', 'echo-alias']) {
      const svc = await eventually(`Service ${name} made by the site`, 60_000, async () => {
        const r = await admin.get(`${api}/services/${name}`);
        return r.status === 200 ? r.body : undefined;
      });
      assert.equal(svc.metadata.labels['internal.skupper.io/address'], name);
    }
    // Unexpose names the annotation: the agent would write the definition back.
    await assert.rejects(unexpose(client, { kind: 'deployment', name: 'tcp-go-echo' }), /remove the annotation to unexpose/);

    // The key 1.x tools read, beside network.json.
    const status = await eventually('NetworkStatus published with tcp-go-echo', 60_000, async () => {
      const text = (await admin.get(`${api}/configmaps/skupper-network-status`)).body.data?.NetworkStatus;
      const parsed = text ? JSON.parse(text) : undefined;
      return parsed?.addresses?.some((a: { name: string }) => a.name === 'tcp-go-echo') ? parsed : undefined;
    });
    assert.equal(status.siteStatus[0].site.name, 'declared-west');
    assert.equal(status.siteStatus[0].site.namespace, ns);
    const address = status.addresses.find((a: { name: string }) => a.name === 'tcp-go-echo');
    assert.equal(address.protocol, 'tcp');
    assert.equal(address.connectorCount, 1);
  });

  test('removing the annotation unexposes: the definition and its Service go', async () => {
    const r = await admin.mergePatch(`${apps}/deployments/tcp-go-echo`, { metadata: { annotations: { 'skupper.io/proxy': null } } });
    assert.equal(r.status, 200, r.text);
    await eventually('tcp-go-echo gone from skupper-services', 60_000, async () => !(await servicesData())['tcp-go-echo']);
    await eventually('Service tcp-go-echo removed', 60_000, async () => (await admin.get(`${api}/services/tcp-go-echo`)).status === 404);
    assert.ok((await servicesData())['echo-alias'], 'the other annotated service stays');
  });

  test('expose over a 1.x definition keeps the fields it does not manage', async () => {
    const d = await admin.post(`${apps}/deployments`, deployment('db', {}, 5432));
    assert.equal(d.status, 201, d.text);
    const legacy = {
      address: 'db',
      protocol: 'tcp',
      port: 5432,
      exposeIngress: 'Never',
      labels: { team: 'data' },
      publishNotReadyAddresses: true,
      targets: [{ name: 'db', selector: 'application=db', targetPort: 5432, namespace: ns }],
    };
    const cur = (await admin.get(`${api}/configmaps/skupper-services`)).body;
    const put = await admin.put(`${api}/configmaps/skupper-services`, {
      ...cur,
      data: { ...(cur.data ?? {}), db: JSON.stringify(legacy) },
    });
    assert.equal(put.status, 200, put.text);
    await expose(client, { kind: 'deployment', name: 'db', ports: [5432] });
    const after = JSON.parse((await servicesData()).db);
    assert.equal(after.exposeIngress, 'Never');
    assert.deepEqual(after.labels, { team: 'data' });
    assert.equal(after.publishNotReadyAddresses, true);
    assert.deepEqual(after.ports, [5432]);
    assert.deepEqual(after.targets, [{ name: 'db', selector: 'application=db', targetPorts: { '5432': 5432 }, namespace: ns }]);
    // Not made from an annotation: the agent leaves it alone, and so does the gate.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(JSON.parse((await servicesData()).db).exposeIngress, 'Never');
  });
});
