import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { allCrds, crdFileName, crdYaml } from '../../../src/core/v2/crds';
import { AGGREGATE_ROLE, aggregateClusterRole, controllerObjects } from '../../../src/core/v2/install';
import { V2_KINDS } from '../../../src/core/v2/types';

const root = join(__dirname, '..', '..', '..');

test('crds/*.yaml are what src/core/v2/crds.ts builds (regenerate: npx tsx scripts/gen-crds.ts)', () => {
  for (const kind of V2_KINDS) assert.equal(readFileSync(join(root, 'crds', crdFileName(kind)), 'utf8'), crdYaml(kind), kind);
});

test("the CRDs carry Skupper 2.x's required fields, status subresource and printer columns", () => {
  const byKind = Object.fromEntries(allCrds().map((c) => [(c.spec.names as { kind: string }).kind, c]));
  const version = (kind: string) => (byKind[kind].spec.versions as Record<string, any>[])[0];
  assert.deepEqual(version('Connector').schema.openAPIV3Schema.properties.spec.required, ['routingKey', 'port']);
  assert.deepEqual(version('Connector').schema.openAPIV3Schema.properties.spec.oneOf, [{ required: ['selector'] }, { required: ['host'] }]);
  assert.deepEqual(version('Listener').schema.openAPIV3Schema.properties.spec.required, ['routingKey', 'host', 'port']);
  assert.deepEqual(version('AccessToken').schema.openAPIV3Schema.properties.spec.required, ['url', 'code', 'ca']);
  for (const kind of V2_KINDS) {
    assert.equal(version(kind).name, 'v2alpha1');
    assert.deepEqual(version(kind).subresources, { status: {} });
    assert.ok(version(kind).schema.openAPIV3Schema.properties.status.properties.conditions, kind);
    assert.equal(byKind[kind].metadata.name, `${(byKind[kind].spec.names as { plural: string }).plural}.skupper.io`);
  }
  assert.ok(version('Site').schema.openAPIV3Schema.properties.status.properties.sitesInNetwork);
  assert.ok(version('Listener').schema.openAPIV3Schema.properties.status.properties.hasMatchingConnector);
});

test('the controller runs the bundle with the rights of admin, in its namespace or all', () => {
  const objects = controllerObjects({ namespace: 'ns1', allNamespaces: false, bundleGzip: Buffer.from('x') });
  assert.deepEqual(
    objects.map((o) => o.kind),
    ['ServiceAccount', 'RoleBinding', 'ConfigMap', 'Deployment'],
  );
  const deployment = objects[3] as any;
  const env = Object.fromEntries(
    deployment.spec.template.spec.containers[0].env.filter((e: any) => e.value).map((e: any) => [e.name, e.value]),
  );
  assert.equal(env.SKUPPER_COMPONENT, 'v2-controller');
  assert.equal(env.SKUPPER_WATCH_NAMESPACES, 'ns1');
  const cluster = controllerObjects({ namespace: 'ns1', allNamespaces: true, bundleGzip: Buffer.from('x') });
  assert.equal(cluster[1].kind, 'ClusterRoleBinding');
  assert.equal((cluster[1] as any).roleRef.name, 'admin');
  const role = aggregateClusterRole() as any;
  assert.equal(role.metadata.name, AGGREGATE_ROLE);
  assert.equal(role.metadata.labels['rbac.authorization.k8s.io/aggregate-to-admin'], 'true');
  assert.ok(role.rules[1].resources.includes('sites/status'));
  assert.ok(parse(crdYaml('Site')));
});
