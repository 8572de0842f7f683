import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  annotatedDefinitions,
  annotatedJson,
  annotationChanges,
  isAnnotationValue,
  parsePortAnnotation,
  serviceDefinition,
  workloadDefinition,
} from '../../../src/core/service/annotations';
import { definitionToJson, parseServicesData } from '../../../src/core/service/definition';

const deployment = (name: string, annotations: Record<string, string>, ports: number[] = [9090]) => ({
  metadata: { name, annotations },
  spec: {
    selector: { matchLabels: { application: name } },
    template: {
      metadata: { labels: { application: name } },
      spec: { containers: [{ ports: ports.map((containerPort) => ({ containerPort })) }] },
    },
  },
});
const service = (
  name: string,
  annotations: Record<string, string>,
  selector: Record<string, string>,
  ports: { port: number; targetPort?: number | string }[],
) => ({
  metadata: { name, annotations },
  spec: { selector, ports },
});

describe('exposure by annotation (Skupper 1.x)', () => {
  test('skupper.io/port: PORT[:TARGET][,...]; anything else is refused whole', () => {
    assert.deepEqual([...parsePortAnnotation('8080')!], [[8080, 8080]]);
    assert.deepEqual(
      [...parsePortAnnotation('80:8080, 81:8081')!],
      [
        [80, 8080],
        [81, 8081],
      ],
    );
    for (const bad of ['', 'http', '80:', '0', '70000', '80:8080:1', '80,x']) assert.equal(parsePortAnnotation(bad), undefined, bad);
  });

  test('a Deployment: its name, its container ports, its selector, its namespace in the target', () => {
    const one = workloadDefinition('deployment', deployment('tcp-go-echo', { 'skupper.io/proxy': 'tcp' }), 'public');
    assert.ok(one && 'def' in one);
    assert.deepEqual(one.def, {
      address: 'tcp-go-echo',
      protocol: 'tcp',
      ports: [9090],
      targets: [{ name: 'tcp-go-echo', selector: 'application=tcp-go-echo', targetPorts: { '9090': 9090 }, namespace: 'public' }],
    });
    assert.equal(workloadDefinition('deployment', deployment('x', {}), 'public'), undefined, 'no annotation, no definition');
  });

  test('skupper.io/address and skupper.io/port override the name and the container ports', () => {
    const one = workloadDefinition(
      'statefulset',
      deployment('db', { 'skupper.io/proxy': 'http', 'skupper.io/address': 'database', 'skupper.io/port': '80:8080' }, [8080, 9000]),
      'ns',
    );
    assert.ok(one && 'def' in one);
    assert.equal(one.def.address, 'database');
    assert.equal(one.def.protocol, 'http');
    assert.deepEqual(one.def.ports, [80]);
    assert.deepEqual(one.def.targets[0].targetPorts, { '80': 8080 });
  });

  test('no port anywhere: http takes 80, tcp is ignored with the reason; a bad protocol is ignored', () => {
    const http = workloadDefinition('deployment', deployment('web', { 'skupper.io/proxy': 'http' }, []), 'ns');
    assert.ok(http && 'def' in http);
    assert.deepEqual(http.def.ports, [80]);
    const tcp = workloadDefinition('deployment', deployment('raw', { 'skupper.io/proxy': 'tcp' }, []), 'ns');
    assert.ok(tcp && 'ignored' in tcp && /skupper\.io\/port/.test(tcp.ignored));
    const udp = workloadDefinition('deployment', deployment('u', { 'skupper.io/proxy': 'udp' }), 'ns');
    assert.ok(udp && 'ignored' in udp && /tcp, http or http2/.test(udp.ignored));
  });

  test("a Service: its own selector and target ports; with skupper.io/target another Service's pods", () => {
    const own = serviceDefinition(
      service('backend', { 'skupper.io/proxy': 'http' }, { app: 'backend' }, [{ port: 8080, targetPort: 8081 }]),
      [],
      'ns',
    );
    assert.ok(own && 'def' in own);
    assert.deepEqual(own.def.targets, [
      { name: 'backend', selector: 'app=backend', service: 'backend', targetPorts: { '8080': 8081 }, namespace: 'ns' },
    ]);
    const real = service('real', {}, { app: 'real' }, [{ port: 5432, targetPort: 5433 }]);
    const front = service('db', { 'skupper.io/proxy': 'tcp', 'skupper.io/target': 'real' }, {}, [{ port: 5000 }]);
    const viaTarget = serviceDefinition(front, [front, real], 'ns');
    assert.ok(viaTarget && 'def' in viaTarget);
    assert.deepEqual(viaTarget.def.ports, [5000]);
    assert.deepEqual(viaTarget.def.targets[0], {
      name: 'db',
      selector: 'app=real',
      service: 'real',
      targetPorts: { '5000': 5433 },
      namespace: 'ns',
    });
    const missing = serviceDefinition(
      service('x', { 'skupper.io/proxy': 'tcp', 'skupper.io/target': 'nope' }, {}, [{ port: 1 }]),
      [],
      'ns',
    );
    assert.ok(missing && 'ignored' in missing && /nope/.test(missing.ignored));
  });

  test('objects naming one address share a definition; a mismatch is ignored with the reason', () => {
    const { definitions, ignored } = annotatedDefinitions({
      namespace: 'ns',
      deployments: [
        deployment('echo-a', { 'skupper.io/proxy': 'tcp', 'skupper.io/address': 'echo' }),
        deployment('echo-b', { 'skupper.io/proxy': 'tcp', 'skupper.io/address': 'echo' }),
        deployment('echo-c', { 'skupper.io/proxy': 'http', 'skupper.io/address': 'echo' }),
      ],
      statefulsets: [],
      services: [],
    });
    assert.equal(definitions.length, 1);
    assert.deepEqual(
      definitions[0].def.targets.map((t) => t.name),
      ['echo-a', 'echo-b'],
    );
    assert.deepEqual(
      ignored.map((i) => i.name),
      ['echo-c'],
    );
  });

  test('the ConfigMap value is 1.x-shaped with origin annotation, and the services module reads it', () => {
    const { definitions } = annotatedDefinitions({
      namespace: 'ns',
      deployments: [deployment('tcp-go-echo', { 'skupper.io/proxy': 'tcp', 'skupper.io/service-labels': 'team=a' })],
      statefulsets: [],
      services: [],
    });
    const value = annotatedJson(definitions[0]);
    assert.deepEqual(JSON.parse(value).origin, 'annotation');
    assert.deepEqual(JSON.parse(value).labels, { team: 'a' });
    assert.ok(isAnnotationValue(value));
    const parsed = parseServicesData({ 'tcp-go-echo': value });
    assert.deepEqual(parsed.errors, []);
    assert.equal(parsed.definitions[0].targets[0].selector, 'application=tcp-go-echo');
  });

  test('changes: add, update, remove annotation keys only; an address exposed otherwise is left alone', () => {
    const wanted = annotatedDefinitions({
      namespace: 'ns',
      deployments: [deployment('a', { 'skupper.io/proxy': 'tcp' }), deployment('b', { 'skupper.io/proxy': 'tcp' })],
      statefulsets: [],
      services: [],
    }).definitions;
    const exposed = definitionToJson({ address: 'b', protocol: 'tcp', ports: [1], targets: [{ name: 'b' }] });
    const stale = JSON.stringify({ address: 'gone', protocol: 'tcp', ports: [1], targets: [], origin: 'annotation' });
    const changes = annotationChanges({ b: exposed, gone: stale, other: exposed.replace(/"b"/g, '"other"') }, wanted);
    assert.deepEqual(Object.keys(changes.data).sort(), ['a', 'gone']);
    assert.equal(changes.data.gone, null);
    assert.deepEqual(changes.taken, [{ address: 'b', from: ['deployment/b'] }]);
    // Once written, nothing more to do.
    const after = annotationChanges({ a: changes.data.a!, b: exposed }, wanted);
    assert.deepEqual(after.data, {});
  });
});
