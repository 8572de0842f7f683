import assert from 'node:assert/strict';
import { test } from 'node:test';
import { skupper1NetworkStatus } from '../../../src/core/agent/skupper1NetworkStatus';
import { SITE_VERSION } from '../../../src/core/token/types';

test("the NetworkStatus key: 1.x's {addresses, siteStatus} from the same snapshot", () => {
  const out = skupper1NetworkStatus({
    updated: '2026-12-03T00:00:00.000Z',
    siteId: 'id-pub',
    sites: [
      { id: 'id-prv', name: 'private', namespace: 'private', platform: 'kubernetes', routers: [{ id: 'r-prv', mode: 'interior' }] },
      { id: 'id-pub', name: 'public', namespace: 'public', platform: 'kubernetes', routers: [{ id: 'r-pub', mode: 'interior' }] },
      { id: 'id-lap', name: 'laptop', namespace: '/tmp/x', platform: 'local' },
    ],
    links: [{ name: 'link1', fromSiteId: 'id-prv', toSiteId: 'id-pub', state: 'up', cost: 1 }],
    services: [{ address: 'tcp-go-echo', protocol: 'tcp', ports: [9090], exposedIn: ['id-pub'] }],
  });
  assert.deepEqual(out.addresses, [
    {
      recType: 'ADDRESS',
      identity: 'tcp-go-echo/tcp',
      name: 'tcp-go-echo',
      startTime: Date.parse('2026-12-03T00:00:00.000Z') * 1000,
      endTime: 0,
      protocol: 'tcp',
      listenerCount: 2,
      connectorCount: 1,
    },
  ]);
  const [prv, pub, lap] = out.siteStatus;
  assert.deepEqual(prv.site, {
    identity: 'id-prv',
    name: 'private',
    namespace: 'private',
    platform: 'kubernetes',
    siteVersion: SITE_VERSION,
    policy: 'disabled',
  });
  assert.deepEqual(prv.routerStatus[0].links, [{ mode: 'interior', name: 'link1', linkCost: 1, direction: 'outgoing' }]);
  assert.deepEqual(prv.routerStatus[0].connectors, []);
  assert.deepEqual(pub.routerStatus[0].connectors, [{ destPort: '9090', protocol: 'tcp', address: 'tcp-go-echo' }]);
  assert.deepEqual(pub.routerStatus[0].listeners, [
    { name: 'tcp-go-echo:9090', destPort: '9090', protocol: 'tcp', address: 'tcp-go-echo' },
  ]);
  assert.deepEqual(lap.routerStatus[0].listeners, [], 'a laptop listens only where it forwards');
});
