// The controller gate's decisions: what the router container may ask of the API, request by request.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { addressServiceProblem, decide, eventProblem, statusPatchProblem } from '../../../src/core/controller/gate';
import { IMAGE_REFERENCE } from '../../../src/core/site/image';

const NS = 'west';
const api = `/api/v1/namespaces/${NS}`;
const allows = (method: string, url: string) => decide(method, url, NS).allow;

const addressService = (extra: Record<string, unknown> = {}, meta: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: {
    name: 'backend',
    labels: { 'internal.skupper.io/address': 'backend' },
    annotations: { 'internal.skupper.io/controlled': 'true' },
    ...meta,
  },
  spec: {
    type: 'ClusterIP',
    selector: { application: 'skupper-router', 'skupper.io/component': 'router' },
    ports: [{ name: 'port8080', port: 8080, targetPort: 1024, protocol: 'TCP' }],
    ...extra,
  },
});

describe('controller gate', () => {
  test('reads: the site, its link Secrets, pods, Services; never the CA, the code, claim records', () => {
    assert.ok(allows('GET', `${api}/configmaps/skupper-site`));
    assert.ok(allows('GET', `${api}/configmaps?watch=true&allowWatchBookmarks=true&fieldSelector=metadata.name%3Dskupper-services`));
    assert.ok(allows('GET', `${api}/secrets?labelSelector=skupper.io%2Ftype%3Dconnection-token`));
    assert.ok(allows('GET', `${api}/secrets/skupper-site-server`));
    assert.ok(allows('GET', `${api}/pods?labelSelector=app%3Dbackend`));
    assert.ok(allows('GET', `${api}/services?watch=true`));
    assert.ok(allows('GET', `/apis/apps/v1/namespaces/${NS}/deployments/skupper-router`));
    // skupper.io/proxy annotations are read from every Deployment and StatefulSet.
    assert.ok(allows('GET', `/apis/apps/v1/namespaces/${NS}/deployments?watch=true`));
    assert.ok(allows('GET', `/apis/apps/v1/namespaces/${NS}/statefulsets`));
    for (const url of [
      `${api}/secrets/skupper-site-ca`,
      `${api}/secrets`,
      `${api}/secrets?labelSelector=skupper.io%2Ftype%3Dtoken-claim-record`,
      `${api}/secrets?labelSelector=skupper.io%2Ftype%3Dconnection-token&labelSelector=x`,
      `${api}/secrets?labelSelector=skupper.io%2Ftype%3Dconnection-token&fieldSelector=metadata.name%3Dskupper-site-ca`,
      `${api}/configmaps/skupper-router-bundle`,
      `${api}/configmaps`,
      `${api}/configmaps?fieldSelector=metadata.name%3Dskupper-router-bundle`,
      `${api}/pods/p/log`,
      `${api}/pods/p/exec`,
      `${api}/services/s/proxy`,
      `/api/v1/namespaces/other/configmaps/skupper-site`,
      `/api/v1/namespaces/${NS}/secrets/..%2Fskupper-site-ca`,
      `/apis/apps/v1/namespaces/other/deployments`,
      `/apis/apps/v1/namespaces/${NS}/daemonsets`,
      `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/roles`,
      `${api}/configmaps/skupper-site?pretty=true&labelSelector=x`,
      `/api/v1/secrets`,
      `/api/v1/nodes`,
    ])
      assert.equal(allows('GET', url), false, url);
  });

  test('writes: address Services, the status keys, site events; nothing else', () => {
    assert.deepEqual(decide('POST', `${api}/services`, NS), {
      allow: true,
      resource: 'services',
      path: `${api}/services`,
      query: '',
      check: 'service-create',
    });
    assert.equal(decide('PUT', `${api}/services/backend`, NS).allow, true);
    assert.equal(decide('DELETE', `${api}/services/backend`, NS).allow, true);
    assert.equal(decide('PATCH', `${api}/configmaps/skupper-network-status`, NS).allow, true);
    assert.equal(decide('POST', `${api}/events`, NS).allow, true);
    for (const [method, url] of [
      ['DELETE', `${api}/services/skupper-router`],
      ['PUT', `${api}/services/skupper-router`],
      ['PATCH', `${api}/services/backend`],
      ['POST', `${api}/secrets`],
      ['PUT', `${api}/secrets/skupper-site-ca`],
      ['DELETE', `${api}/secrets/x`],
      ['POST', `${api}/configmaps`],
      ['PUT', `${api}/configmaps/skupper-router-bundle`],
      ['PATCH', `${api}/configmaps/skupper-router-bundle`],
      ['PATCH', `${api}/configmaps/skupper-site`],
      ['DELETE', `${api}/configmaps/skupper-network-status`],
      ['POST', `${api}/pods`],
      ['PATCH', `/apis/apps/v1/namespaces/${NS}/deployments/skupper-router`],
      ['POST', `${api}/services?dryRun=All`],
    ])
      assert.equal(allows(method, url), false, `${method} ${url}`);
  });

  test('the query forwarded is the one checked, rebuilt', () => {
    const d = decide('GET', `${api}/secrets?labelSelector=skupper.io/type=connection-token&watch=1`, NS);
    assert.ok(d.allow);
    assert.equal(d.query, 'labelSelector=skupper.io%2Ftype%3Dconnection-token&watch=1');
  });

  test('an address Service: labelled, the router pods, ClusterIP only', () => {
    assert.equal(addressServiceProblem(addressService(), NS), undefined);
    assert.equal(
      addressServiceProblem(
        addressService({}, { ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'skupper-site', uid: 'u' }] }),
        NS,
      ),
      undefined,
    );
    assert.match(addressServiceProblem(addressService({ type: 'LoadBalancer' }), NS)!, /ClusterIP/);
    assert.match(addressServiceProblem(addressService({ externalIPs: ['1.2.3.4'] }), NS)!, /externalIPs/);
    assert.match(addressServiceProblem(addressService({ selector: { app: 'db' } }), NS)!, /selector/);
    assert.match(addressServiceProblem(addressService({ ports: [{ port: 53, protocol: 'UDP' }] }), NS)!, /TCP/);
    assert.match(addressServiceProblem(addressService({}, { labels: {} }), NS)!, /exposed address/);
    assert.match(addressServiceProblem(addressService({}, { name: 'skupper-router' }), NS)!, /own/);
    assert.match(addressServiceProblem(addressService({}, { ownerReferences: [{ kind: 'Deployment', name: 'x' }] }), NS)!, /owned/);
  });

  test('a status patch writes the status keys only; an event is about the site', () => {
    assert.equal(statusPatchProblem({ data: { 'site.json': '{}', 'network.json': '{}', 'events.json': '[]' } }), undefined);
    assert.ok(statusPatchProblem({ metadata: { ownerReferences: null } }));
    assert.ok(statusPatchProblem({ data: { 'other.json': '{}' } }));
    assert.equal(
      eventProblem({ kind: 'Event', involvedObject: { kind: 'ConfigMap', name: 'skupper-site', namespace: NS } }, NS),
      undefined,
    );
    assert.ok(eventProblem({ kind: 'Event', involvedObject: { kind: 'Pod', name: 'x' } }, NS));
  });

  test('the router image setting takes the pattern the core checks', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8'));
    assert.equal(pkg.contributes.configuration.properties['skupper.routerImage'].pattern, IMAGE_REFERENCE.source);
  });
});
