import assert from 'node:assert/strict';
import { test } from 'node:test';
import { v2DocumentsIn } from '../../../src/core/v2/apply';
import { rowsOf } from '../../../src/core/v2/read';
import type { V2Object } from '../../../src/core/v2/types';
import { v2Nodes } from '../../../src/views/model/v2';

const yaml = `apiVersion: v1
kind: ConfigMap
metadata: { name: other }
---
apiVersion: skupper.io/v2alpha1
kind: Listener
metadata:
  name: backend
spec: { routingKey: backend, host: backend, port: 8080 }
---
apiVersion: skupper.io/v1alpha1
kind: Site
metadata: { name: old-group }
---
apiVersion: skupper.io/v2alpha1
kind: Site
metadata: { name: west, namespace: team }
spec: { linkAccess: default }
`;

test('the skupper.io/v2alpha1 documents of a YAML file, in order, with their offsets', () => {
  const docs = v2DocumentsIn(yaml);
  assert.deepEqual(
    docs.map((d) => [d.kind, d.name, d.namespace]),
    [
      ['Listener', 'backend', undefined],
      ['Site', 'west', 'team'],
    ],
  );
  assert.ok(yaml.slice(docs[0].start, docs[0].end).includes('kind: Listener'));
  assert.deepEqual(v2DocumentsIn('kind: [broken'), []);
});

test('tree rows: kind order, a summary of the spec, and the state the controller wrote', () => {
  const o = (
    kind: V2Object['kind'],
    name: string,
    spec: Record<string, unknown>,
    status?: V2Object['status'],
  ): V2Object<Record<string, unknown>> => ({
    apiVersion: 'skupper.io/v2alpha1',
    kind,
    metadata: { name },
    spec,
    status,
  });
  const rows = rowsOf([
    o('Listener', 'backend', { routingKey: 'backend', host: 'backend', port: 8080 }),
    o('Connector', 'db', { routingKey: 'db', selector: 'app=db', port: 5432 }, { status: 'Error', message: 'spec.port bad' }),
    o('Site', 'west', { linkAccess: 'default' }, { status: 'Ready', message: 'OK' }),
  ]);
  assert.deepEqual(
    rows.map((r) => [r.kind, r.summary, r.status]),
    [
      ['Site', 'link access default', 'Ready'],
      ['Listener', 'backend:8080 → backend', 'Pending'],
      ['Connector', 'db → app=db:5432', 'Error'],
    ],
  );
  const folder = {
    id: 'ctx/a/ns/b/site/c/v2',
    label: 'x',
    contextValue: 'folder.v2',
    collapsible: 'collapsed' as const,
    ref: { context: 'a', namespace: 'b' },
  };
  const nodes = v2Nodes(folder, { rows });
  assert.equal(nodes[1].label, 'Listener backend');
  assert.equal(nodes[1].description, 'backend:8080 → backend · Pending');
  assert.equal(nodes[2].icon?.color, 'list.errorForeground');
  assert.match(nodes[2].tooltip ?? '', /spec.port bad/);
  assert.equal(v2Nodes(folder, { error: 'forbidden' })[0].contextValue, 'error');
});
