import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { planExpose, type WorkloadInfo } from '../../../src/core/service/plan';

const echo: WorkloadInfo = { kind: 'deployment', name: 'tcp-go-echo', selector: { application: 'tcp-go-echo' }, ports: [9090] };

describe('planExpose', () => {
  test('the tutorial: deployment tcp-go-echo on 9090', () => {
    assert.deepEqual(planExpose(echo, { ports: [9090] }), {
      address: 'tcp-go-echo',
      protocol: 'tcp',
      ports: [9090],
      targets: [{ name: 'tcp-go-echo', selector: 'application=tcp-go-echo', targetPorts: { '9090': 9090 } }],
    });
  });

  test('address, protocol, target port', () => {
    const def = planExpose(echo, { ports: [80], targetPorts: [9090], protocol: 'http', address: 'echo' });
    assert.equal(def.address, 'echo');
    assert.equal(def.protocol, 'http');
    assert.deepEqual(def.targets[0].targetPorts, { '80': 9090 });
  });

  test('takes the single declared port when none is given', () => {
    assert.deepEqual(planExpose(echo, { ports: [] }).ports, [9090]);
  });

  test('refuses with a reason', () => {
    assert.throws(() => planExpose(echo, { ports: [8080] }), /deployment tcp-go-echo does not declare port 8080 \(it declares 9090\)/);
    assert.throws(() => planExpose(echo, { ports: [9090], protocol: 'udp' }), /unknown protocol "udp"; use one of tcp, http, http2/);
    assert.throws(() => planExpose({ ...echo, selector: {} }, { ports: [9090] }), /no pod selector/);
    assert.throws(() => planExpose({ ...echo, ports: [] }, { ports: [] }), /give the port to expose with --port/);
    assert.throws(() => planExpose(echo, { ports: [9090], address: 'Bad_Name' }), /choose one with --address/);
  });

  test('undeclared ports are fine when the workload declares none', () => {
    assert.deepEqual(planExpose({ ...echo, ports: [] }, { ports: [1234] }).ports, [1234]);
  });

  test('a service: its port maps to its targetPort, and the target names the service', () => {
    const svc: WorkloadInfo = {
      kind: 'service',
      name: 'backend',
      selector: { app: 'backend' },
      ports: [80],
      serviceTargetPorts: { 80: 8080 },
    };
    const def = planExpose(svc, { ports: [80], address: 'backend-van' });
    assert.deepEqual(def.targets, [{ name: 'backend', selector: 'app=backend', targetPorts: { '80': 8080 }, service: 'backend' }]);
    assert.throws(() => planExpose(svc, { ports: [8080] }), /service backend does not declare port 8080/);
  });
});
