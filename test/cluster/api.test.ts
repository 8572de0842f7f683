// The test control plane is a real Kubernetes API: validation, RBAC, garbage collection, watches.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { clusterSetup, createNamespace, deleteNamespace, eventually, uniqueName } from './helpers';
import type { Kube } from './kube';

let kube: (ctx: string) => Kube;
let kubeconfigPath = '';
let contexts: string[] = [];
const ns = uniqueName('api');
const cluster = (process.env.VAN_TEST_CLUSTERS?.split(',')[0] || 'public').trim();

before(
  async () => {
    ({ kube, kubeconfigPath, contexts } = await clusterSetup());
    await createNamespace(kube(cluster), ns);
  },
  { timeout: 300_000 },
);

after(async () => {
  if (kube) await deleteNamespace(kube(cluster), ns);
});

test('every cluster answers, with an admin and a ns-admin context', async () => {
  assert.ok(contexts.includes(cluster));
  assert.ok(contexts.includes(`${cluster}-ns-admin`));
  for (const ctx of contexts.filter((c) => !c.endsWith('-ns-admin'))) {
    const v = await kube(ctx).get('/version');
    assert.equal(v.status, 200);
    assert.match(v.body.gitVersion, /^v1\.\d+\.\d+/);
    const nodes = await kube(ctx).get('/api/v1/nodes');
    assert.equal(nodes.body.items.length, 1);
    assert.ok(nodes.body.items[0].status.conditions.some((c: any) => c.type === 'Ready' && c.status === 'True'));
  }
});

test('@kubernetes/client-node works against it (one-object-argument API)', async () => {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  kc.setCurrentContext(cluster);
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'via-client' }, data: { a: 'b' } } });
  const cm = await core.readNamespacedConfigMap({ name: 'via-client', namespace: ns });
  assert.equal(cm.data?.a, 'b');
});

test('the API server validates: an invalid Service is refused with 422', async () => {
  const r = await kube(cluster).post(`/api/v1/namespaces/${ns}/services`, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'Not_A_Valid_Name' },
    spec: { ports: [{ port: 70000 }] },
  });
  assert.equal(r.status, 422, r.text);
  assert.equal(r.body.reason, 'Invalid');
});

test('RBAC holds: the ns-admin user is admin of namespace team only', async () => {
  const k = kube(`${cluster}-ns-admin`);
  assert.equal((await k.get('/api/v1/nodes')).status, 403);
  assert.equal((await k.get(`/api/v1/namespaces/${ns}/configmaps`)).status, 403);
  assert.equal((await k.get('/api/v1/namespaces/default/pods')).status, 403);
  const name = uniqueName('rbac');
  const c = await k.post('/api/v1/namespaces/team/configmaps', {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name },
    data: { x: '1' },
  });
  assert.equal(c.status, 201, c.text);
  assert.equal((await k.get('/api/v1/namespaces/team/pods')).status, 200);
  const role = await k.post('/apis/rbac.authorization.k8s.io/v1/namespaces/team/roles', {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name },
    rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }],
  });
  assert.equal(role.status, 201, role.text);
  assert.equal((await k.del(`/api/v1/namespaces/team/configmaps/${name}`)).status, 200);
  assert.equal((await k.del(`/apis/rbac.authorization.k8s.io/v1/namespaces/team/roles/${name}`)).status, 200);
});

test('deleting an owner garbage-collects its dependents', async () => {
  const k = kube(cluster);
  const owner = await k.post(`/api/v1/namespaces/${ns}/configmaps`, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'owner' },
    data: { a: '1' },
  });
  assert.equal(owner.status, 201);
  const dep = await k.post(`/api/v1/namespaces/${ns}/secrets`, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'owned', ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.body.metadata.uid }] },
    stringData: { s: 'x' },
  });
  assert.equal(dep.status, 201, dep.text);
  assert.equal((await k.del(`/api/v1/namespaces/${ns}/configmaps/owner`)).status, 200);
  await eventually(
    'the owned Secret to be garbage-collected',
    60_000,
    async () => (await k.get(`/api/v1/namespaces/${ns}/secrets/owned`)).status === 404,
  );
});

test('watches deliver events', async () => {
  const k = kube(cluster);
  const seen: string[] = [];
  const stop = k.informer(
    `/api/v1/namespaces/${ns}/configmaps`,
    () => {},
    (type, obj) => seen.push(`${type}:${obj.metadata.name}`),
  );
  try {
    await new Promise((r) => setTimeout(r, 500));
    await k.post(`/api/v1/namespaces/${ns}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'watched' } });
    await eventually('an ADDED event', 10_000, async () => seen.includes('ADDED:watched'));
  } finally {
    stop();
  }
});
