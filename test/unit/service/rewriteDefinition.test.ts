import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rewriteDefinitionJson } from '../../../src/core/service/definition';
import { planExpose } from '../../../src/core/service/plan';

test('a key rewritten by expose keeps every field a Skupper 1.x user or tool wrote there', () => {
  const before = JSON.stringify({
    address: 'backend',
    protocol: 'http',
    port: 8080,
    exposeIngress: 'Never',
    labels: { team: 'a' },
    headless: { name: 'backend', size: 2 },
    eventchannel: false,
    tlsCredentials: 'skupper-tls-backend',
    targets: [
      { name: 'backend', selector: 'app=backend', targetPort: 8080, namespace: 'other' },
      { name: 'elsewhere', selector: 'app=x' },
    ],
  });
  const def = planExpose(
    { kind: 'deployment', name: 'backend', namespace: 'team', selector: { app: 'backend' }, ports: [8080] },
    { ports: [8080], protocol: 'http' },
  );
  const after = JSON.parse(rewriteDefinitionJson(before, def));
  assert.equal(after.exposeIngress, 'Never');
  assert.deepEqual(after.labels, { team: 'a' });
  assert.deepEqual(after.headless, { name: 'backend', size: 2 });
  assert.equal(after.eventchannel, false);
  assert.equal(after.tlsCredentials, 'skupper-tls-backend');
  assert.equal(after.port, undefined, '1.0 single port gives way to ports');
  assert.deepEqual(after.ports, [8080]);
  assert.deepEqual(after.targets, [{ name: 'backend', selector: 'app=backend', targetPorts: { '8080': 8080 }, namespace: 'team' }]);
  // Nothing before: the plain definition, its target carrying the namespace as Skupper writes it.
  assert.deepEqual(JSON.parse(rewriteDefinitionJson(undefined, def)).targets[0].namespace, 'team');
  assert.deepEqual(JSON.parse(rewriteDefinitionJson('not json', def)).address, 'backend');
});
