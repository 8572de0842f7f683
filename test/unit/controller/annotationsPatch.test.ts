import assert from 'node:assert/strict';
import { test } from 'node:test';
import { annotationsPatchProblem, decide } from '../../../src/core/controller/gate';

const ann = (address: string) => JSON.stringify({ address, protocol: 'tcp', ports: [9090], targets: [], origin: 'annotation' });
const exposed = JSON.stringify({ address: 'db', protocol: 'tcp', ports: [5432], targets: [{ name: 'db' }] });
const current = { resourceVersion: '7', data: { echo: ann('echo'), db: exposed } };

test('the router may patch skupper-services with definitions made from annotations, and no others', () => {
  assert.equal(decide('PATCH', '/api/v1/namespaces/w/configmaps/skupper-services', 'w').allow, true);
  assert.equal(decide('PUT', '/api/v1/namespaces/w/configmaps/skupper-services', 'w').allow, false);
  const ok = (data: Record<string, string | null>) => annotationsPatchProblem({ metadata: { resourceVersion: '7' }, data }, current);
  assert.equal(ok({ echo: null }), undefined);
  assert.equal(ok({ web: ann('web'), echo: ann('echo') }), undefined);
  assert.match(ok({ db: null })!, /not made from annotations/);
  assert.match(ok({ db: ann('db') })!, /not made from annotations/);
  assert.match(ok({ web: exposed.replace(/db/g, 'web') })!, /not an annotation's definition/);
  assert.match(ok({ web: ann('other') })!, /not an annotation's definition of web/);
  assert.match(ok({ 'Bad/Key': null })!, /not an address/);
  assert.match(ok({ web: '{' })!, /not JSON/);
  assert.match(annotationsPatchProblem({ data: { web: ann('web') } }, current)!, /resourceVersion/);
  assert.match(annotationsPatchProblem({ metadata: { resourceVersion: '6' }, data: {} }, current)!, /resourceVersion/);
  assert.match(annotationsPatchProblem({ metadata: { resourceVersion: '7', labels: {} }, data: {} }, current)!, /resourceVersion/);
  assert.match(annotationsPatchProblem({ metadata: { resourceVersion: '7' }, data: {}, binaryData: {} }, current)!, /data keys only/);
  assert.match(annotationsPatchProblem({ metadata: { resourceVersion: '7' }, data: {} }, undefined)!, /does not exist/);
});
