import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toWorkloadRecord } from '../../../src/core/network/workloads';
import type { SiteRecord } from '../../../src/core/network/types';
import { workloadNode, workloadsFolderNode } from '../../../src/views/model/workloads';

const site: SiteRecord = {
  id: 'id-pub',
  name: 'pub',
  context: 'public',
  namespace: 'shop',
  platform: 'kubernetes',
  links: [],
  services: [],
};

test('a workload annotated skupper.io/proxy is shown exposed by annotation, with how to unexpose it', () => {
  const annotated = toWorkloadRecord('deployment', 'shop', {
    metadata: { name: 'tcp-go-echo', annotations: { 'skupper.io/proxy': 'tcp', 'skupper.io/address': 'echo' } },
    spec: { replicas: 1, template: { spec: { containers: [{ ports: [{ containerPort: 9090 }] }] } } },
  })!;
  assert.deepEqual(annotated.annotation, { protocol: 'tcp', address: 'echo' });
  const node = workloadNode(workloadsFolderNode(site, 'ctx/public/ns/shop/site/pub'), site, annotated);
  assert.equal(node.description, 'port 9090 · exposed by annotation as echo');
  assert.match(String(node.tooltip), /Exposed by annotation as echo \(skupper\.io\/proxy: tcp\): remove the annotation to unexpose/);
  assert.equal(node.contextValue, 'workload.deployment.exposed');
  assert.equal(node.ref.address, 'echo');

  const plain = toWorkloadRecord('deployment', 'shop', { metadata: { name: 'web' }, spec: {} })!;
  assert.equal(plain.annotation, undefined);
  assert.doesNotMatch(String(workloadNode(workloadsFolderNode(site, 'x'), site, plain).description), /annotation/);
});
