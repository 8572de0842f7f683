import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  addDefinition,
  definitionFromJson,
  definitionToJson,
  labelsFromSelector,
  matchesSelector,
  parseServicesData,
  removeDefinition,
  routerAddress,
  servicesData,
  type ServiceDefinition,
} from '../../../src/core/service/definition';
import { UserError } from '../../../src/core/errors';

const hello: ServiceDefinition = {
  address: 'hello',
  protocol: 'tcp',
  ports: [80],
  targets: [{ name: 'hello', selector: 'app=hello,tier=backend,track=stable', targetPorts: { '80': 80 } }],
};

describe('service definitions', () => {
  test('round-trips the skupper-services ConfigMap value in Skupper 1.x shape', () => {
    const json = definitionToJson(hello);
    assert.equal(
      json,
      '{"address":"hello","protocol":"tcp","ports":[80],"targets":[{"name":"hello","selector":"app=hello,tier=backend,track=stable","targetPorts":{"80":80}}]}',
    );
    assert.deepEqual(parseServicesData({ hello: json }), { definitions: [hello], errors: [] });
  });

  test('reads the 1.0 single-port form', () => {
    const def = definitionFromJson({
      address: 'db',
      protocol: 'tcp',
      port: 5432,
      targets: [{ name: 'db', selector: 'app=db', targetPort: 5433 }],
    });
    assert.deepEqual(def.ports, [5432]);
    assert.deepEqual(def.targets[0].targetPorts, { '5432': 5433 });
  });

  test('bad values are reported per key, the rest still read', () => {
    const parsed = parseServicesData({
      hello: definitionToJson(hello),
      bad: '{not json',
      wrong: definitionToJson({ ...hello, address: 'other' }),
    });
    assert.equal(parsed.definitions.length, 1);
    assert.deepEqual(parsed.errors.map((e) => e.key).sort(), ['bad', 'wrong']);
  });

  test('validates protocol, ports and address', () => {
    assert.throws(() => definitionFromJson({ ...hello, protocol: 'udp' }), /unknown protocol "udp"/);
    assert.throws(() => definitionFromJson({ ...hello, ports: [0] }), /not a port number/);
    assert.throws(() => definitionFromJson({ ...hello, ports: [80, 80] }), /given twice/);
    assert.throws(() => definitionFromJson({ ...hello, address: 'Hello_World' }), /lower case/);
  });

  test('adding: same workload again replaces, another workload on the address is refused', () => {
    const list = addDefinition([], hello);
    const again = addDefinition(list, {
      ...hello,
      ports: [80, 81],
      targets: [{ ...hello.targets[0], targetPorts: { '80': 80, '81': 81 } }],
    });
    assert.equal(again.length, 1);
    assert.deepEqual(again[0].ports, [80, 81]);
    assert.throws(
      () => addDefinition(list, { ...hello, targets: [{ name: 'other', selector: 'app=other' }] }),
      (e: unknown) => e instanceof UserError && /address "hello" is already used by another service definition \(hello\)/.test(e.message),
    );
  });

  test('removing by workload, and by address', () => {
    const two = addDefinition(addDefinition([], hello), { ...hello, address: 'hello2' });
    assert.deepEqual(
      removeDefinition(two, 'hello', 'hello2').remaining.map((d) => d.address),
      ['hello'],
    );
    assert.deepEqual(removeDefinition(two, 'hello').remaining, []);
    assert.throws(() => removeDefinition(two, 'nope'), /nothing exposes nope; exposed addresses: hello, hello2/);
  });

  test('selectors and router addresses', () => {
    assert.deepEqual(labelsFromSelector('app=hello, tier=backend'), { app: 'hello', tier: 'backend' });
    assert.equal(matchesSelector({ app: 'hello', tier: 'backend', x: 'y' }, { app: 'hello', tier: 'backend' }), true);
    assert.equal(matchesSelector({ app: 'hello' }, {}), false);
    assert.equal(routerAddress(hello, 80), 'hello');
    assert.equal(routerAddress({ address: 'db', ports: [1, 2] }, 2), 'db:2');
    assert.deepEqual(Object.keys(servicesData([hello])), ['hello']);
  });
});
