import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ADDRESS_LABEL,
  CONTROLLED_ANNOTATION,
  allocatePorts,
  desiredConnectors,
  forwardListeners,
  desiredListeners,
  desiredServices,
  diffEndpoints,
  mergeDefinitions,
  planServiceChanges,
  type PodInfo,
} from '../../../src/core/agent/servicesReconcile';
import type { ServiceDefinition } from '../../../src/core/service/definition';

const backend: ServiceDefinition = {
  address: 'backend',
  protocol: 'http',
  ports: [8080],
  targets: [{ name: 'backend', selector: 'app=backend', targetPorts: { '8080': 8080 } }],
};
const multi: ServiceDefinition = {
  address: 'db',
  protocol: 'tcp',
  ports: [5432, 9187],
  targets: [{ name: 'db', selector: 'app=db', targetPorts: { '5432': 15432, '9187': 9187 } }],
};
const pod = (name: string, ip: string, ready = true, labels: Record<string, string> = { app: 'backend' }): PodInfo => ({
  name,
  ip,
  ready,
  labels,
});

describe('services reconcile', () => {
  test('one connector per ready target pod, following scale and restarts', () => {
    const pods = [
      pod('backend-1', '127.0.1.1'),
      pod('backend-2', '127.0.1.2'),
      pod('backend-3', '127.0.1.3', false),
      pod('other', '127.0.1.4', true, { app: 'other' }),
    ];
    const connectors = desiredConnectors([backend], pods);
    assert.deepEqual(connectors, [
      { name: 'backend:8080@backend-1:8080', host: '127.0.1.1', port: 8080, address: 'backend' },
      { name: 'backend:8080@backend-2:8080', host: '127.0.1.2', port: 8080, address: 'backend' },
    ]);
    // backend-3 turns ready, backend-1 goes away: one added, one removed.
    const next = desiredConnectors([backend], [pod('backend-2', '127.0.1.2'), pod('backend-3', '127.0.1.3')]);
    const diff = diffEndpoints(connectors, next);
    assert.deepEqual(
      diff.add.map((c) => c.host),
      ['127.0.1.3'],
    );
    assert.deepEqual(
      diff.remove.map((c) => c.host),
      ['127.0.1.1'],
    );
  });

  test('several ports: address:port per port, target ports applied', () => {
    const connectors = desiredConnectors([multi], [pod('db-0', '127.0.2.1', true, { app: 'db' })]);
    assert.deepEqual(
      connectors.map((c) => [c.address, c.port]),
      [
        ['db:5432', 15432],
        ['db:9187', 9187],
      ],
    );
  });

  test('ports: own number when free, previous kept, clashes moved to 1024+', () => {
    const frontend: ServiceDefinition = { ...backend, address: 'frontend' };
    const ports = allocatePorts([backend, frontend], new Map(), [55671]);
    assert.equal(ports.get('backend/8080'), 8080);
    assert.equal(ports.get('frontend/8080'), 1024);
    // frontend keeps its port even when backend disappears and comes back.
    const later = allocatePorts([frontend, { ...backend, address: 'aaa' }], ports, [55671]);
    assert.equal(later.get('frontend/8080'), 1024);
    assert.equal(later.get('aaa/8080'), 8080);
    assert.equal(allocatePorts([{ address: 'x', ports: [55671] }], new Map(), [55671]).get('x/55671'), 1024);
  });

  test('listeners and Services for every service of the network', () => {
    const ports = allocatePorts([backend, multi], new Map());
    assert.deepEqual(desiredListeners([backend, multi], ports), [
      { name: 'backend:8080', host: '0.0.0.0', port: 8080, address: 'backend' },
      { name: 'db:5432', host: '0.0.0.0', port: 5432, address: 'db:5432' },
      { name: 'db:9187', host: '0.0.0.0', port: 9187, address: 'db:9187' },
    ]);
    const [svc] = desiredServices([backend], ports);
    assert.deepEqual(svc, {
      name: 'backend',
      labels: { [ADDRESS_LABEL]: 'backend' },
      annotations: { [CONTROLLED_ANNOTATION]: 'true', 'internal.skupper.io/protocol': 'http' },
      selector: { application: 'skupper-router', 'skupper.io/component': 'router' },
      ports: [{ name: 'port8080', port: 8080, targetPort: 8080, protocol: 'TCP' }],
    });
  });

  test("Service changes: create, update, delete ours, never touch the user's", () => {
    const ports = allocatePorts([backend, multi], new Map());
    const desired = desiredServices([backend, multi], ports);
    const ours = (name: string, port: number) => ({
      name,
      labels: { [ADDRESS_LABEL]: name },
      annotations: { [CONTROLLED_ANNOTATION]: 'true' },
      selector: { application: 'skupper-router', 'skupper.io/component': 'router' },
      ports: [{ name: `port${port}`, port, targetPort: port }],
    });
    const changes = planServiceChanges(desired, [
      { name: 'backend', selector: { app: 'backend' }, ports: [{ port: 8080 }] }, // the user's own
      ours('gone', 1234),
      ours('db', 5432),
      { name: 'skupper-router', annotations: { [CONTROLLED_ANNOTATION]: 'true' } },
    ]);
    assert.deepEqual(changes.create, []);
    assert.deepEqual(
      changes.update.map((s) => s.name),
      ['db'],
    );
    assert.deepEqual(changes.delete, ['gone']);
    assert.deepEqual(
      changes.conflicts.map((c) => c.name),
      ['backend'],
    );
    assert.match(changes.conflicts[0].reason, /not managed by the site/);
    // Unchanged: nothing to do.
    const same = planServiceChanges(desiredServices([backend], ports), [ours('backend', 8080)]);
    assert.deepEqual(same, { create: [], update: [], delete: [], conflicts: [] });
  });

  test('merging: local first, then the lowest site id', () => {
    const remoteB = { ...backend, ports: [9999] };
    const merged = mergeDefinitions(
      [],
      [
        { siteId: 'b', services: [remoteB] },
        { siteId: 'a', services: [backend, multi] },
      ],
    );
    assert.deepEqual(
      merged.map((d) => [d.address, d.origin, d.ports]),
      [
        ['backend', 'a', [8080]],
        ['db', 'a', [5432, 9187]],
      ],
    );
    assert.equal(mergeDefinitions([remoteB], [{ siteId: 'a', services: [backend] }])[0].ports[0], 9999);
  });
});

describe('laptop sites: host targets and forwards', () => {
  const multi = {
    address: 'db',
    protocol: 'tcp' as const,
    ports: [5432, 8008],
    targets: [{ name: '127.0.0.1', host: '127.0.0.1', targetPorts: { '8008': 18008 } }],
  };

  test('a host target gets one connector per service port, straight to the host', () => {
    assert.deepEqual(desiredConnectors([multi], []), [
      { name: 'db:5432@127.0.0.1:5432', host: '127.0.0.1', port: 5432, address: 'db:5432' },
      { name: 'db:8008@127.0.0.1:18008', host: '127.0.0.1', port: 18008, address: 'db:8008' },
    ]);
  });

  test('a forward listens at its own port; for a multi-port service on the chosen (or first) port', () => {
    const forwards = [
      { address: 'db', host: '127.0.0.1', port: 15432 },
      { address: 'web', host: '0.0.0.0', port: 18080 },
    ];
    assert.deepEqual(forwardListeners(forwards, [multi]), [
      { name: 'forward/db', host: '127.0.0.1', port: 15432, address: 'db:5432' },
      // not in the network yet: listens on the bare address, which works once a one-port service appears
      { name: 'forward/web', host: '0.0.0.0', port: 18080, address: 'web' },
    ]);
    assert.equal(forwardListeners([{ address: 'db', host: '127.0.0.1', port: 1, servicePort: 8008 }], [multi])[0].address, 'db:8008');
  });
});
