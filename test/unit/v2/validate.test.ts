import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connectorDefinitions, siteOptionsOf } from '../../../src/core/v2/reconcile';
import type { ConnectorSpec, V2Object } from '../../../src/core/v2/types';
import { accessTokenProblems, connectorProblems, listenerProblems, parseSelector, siteProblems } from '../../../src/core/v2/validate';

test('connector problems name the field and the fix', () => {
  assert.deepEqual(connectorProblems({ routingKey: 'echo', port: 9090, selector: 'app=echo' }), []);
  assert.deepEqual(connectorProblems({ routingKey: 'echo', port: 9090, host: '10.0.0.1' }), []);
  assert.match(connectorProblems({ routingKey: 'echo', port: 0, selector: 'a=b' }).join(), /spec.port 0 is not a port number/);
  assert.match(
    connectorProblems({ routingKey: 'echo', port: 1, selector: 'a=b', host: 'h' }).join(),
    /either spec.selector .* or spec.host/,
  );
  assert.match(connectorProblems({ routingKey: 'Echo_1', port: 1, selector: 'a=b' }).join(), /spec.routingKey: .*lower case/);
  assert.match(connectorProblems({ routingKey: 'e', port: 1, selector: 'a b' }).join(), /not a label selector/);
  assert.match(connectorProblems({ routingKey: 'e', port: 1, selector: 'a=b', type: 'http' }).join(), /spec.type "http" is not supported/);
});

test('selectors, listeners, sites, tokens', () => {
  assert.deepEqual(parseSelector('app=echo,tier=back'), { app: 'echo', tier: 'back' });
  assert.equal(typeof parseSelector('app'), 'string');
  assert.deepEqual(listenerProblems({ routingKey: 'echo', host: 'echo', port: 9090 }), []);
  assert.match(listenerProblems({ routingKey: 'echo', host: 'Echo.svc', port: 9090 }).join(), /spec.host/);
  assert.match(siteProblems({ linkAccess: 'route' }).join(), /route needs OpenShift/);
  assert.deepEqual(siteProblems({ linkAccess: 'default', ha: true }), []);
  assert.match(accessTokenProblems({ url: 'http://x/y', code: 'c', ca: '-----BEGIN CERTIFICATE-----' }).join(), /not a grant URL/);
  assert.deepEqual(accessTokenProblems({ url: 'https://127.0.0.1:8081/abc-1', code: 'c', ca: '-----BEGIN CERTIFICATE-----' }), []);
});

test('a Site maps onto the site options van init takes', () => {
  assert.deepEqual(siteOptionsOf(undefined), { ingress: 'none', routerMode: 'interior', routers: 1 });
  assert.deepEqual(siteOptionsOf({ linkAccess: 'default' }), { ingress: 'loadbalancer', routerMode: 'interior', routers: 1 });
  assert.deepEqual(siteOptionsOf({ linkAccess: 'default', edge: true }), { ingress: 'none', routerMode: 'edge', routers: 1 });
  assert.deepEqual(siteOptionsOf({ linkAccess: 'nodeport', ha: true }), { ingress: 'nodeport', routerMode: 'interior', routers: 2 });
});

test('connectors become one service definition per routing key; a clash is a problem of the later one', () => {
  const c = (name: string, spec: ConnectorSpec, at: string): V2Object<ConnectorSpec> => ({
    apiVersion: 'skupper.io/v2alpha1',
    kind: 'Connector',
    metadata: { name, creationTimestamp: at } as V2Object['metadata'],
    spec,
  });
  const { definitions, problems } = connectorDefinitions([
    c('b', { routingKey: 'echo', port: 9090, selector: 'app=echo2' }, '2026-01-01T00:00:02Z'),
    c('a', { routingKey: 'echo', port: 9090, selector: 'app=echo' }, '2026-01-01T00:00:01Z'),
    c('x', { routingKey: 'echo', port: 8080, selector: 'app=other' }, '2026-01-01T00:00:03Z'),
    c('bad', { routingKey: 'db', port: 70000, selector: 'app=db' }, '2026-01-01T00:00:04Z'),
    c('h', { routingKey: 'db2', port: 5432, host: 'db.example' }, '2026-01-01T00:00:05Z'),
  ]);
  assert.deepEqual(
    definitions.map((d) => [d.address, d.ports, d.targets.map((t) => t.name)]),
    [
      ['echo', [9090], ['a', 'b']],
      ['db2', [5432], ['h']],
    ],
  );
  assert.equal(definitions[1].targets[0].host, 'db.example');
  assert.match(problems.get('x')!, /already has a connector on port 9090/);
  assert.match(problems.get('bad')!, /spec.port 70000/);
});
