import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adoptedConfigMap, declaredSettings } from '../../../src/core/site/declared';

test('a hand-written skupper-site: its 1.x keys become the site settings', () => {
  assert.deepEqual(declaredSettings({ name: 'west', ingress: 'none', 'router-mode': 'edge', routers: '2', console: 'false' }), {
    settings: { siteName: 'west', ingress: 'none', routerMode: 'edge', routers: 2 },
    problems: [],
  });
  assert.deepEqual(declaredSettings({ 'cluster-local': 'true', edge: 'true' }).settings, { ingress: 'none', routerMode: 'edge' });
  assert.deepEqual(declaredSettings({ ingress: 'nodeport', 'ingress-host': '198.51.100.7' }).settings, {
    ingress: 'nodeport',
    ingressHost: '198.51.100.7',
  });
  assert.deepEqual(declaredSettings(undefined), { settings: {}, problems: [] });
});

test('settings this site cannot honour stop init with what to change', () => {
  const { problems } = declaredSettings({ ingress: 'route', routers: 'many', 'router-mode': 'hub' });
  assert.equal(problems.length, 3);
  assert.match(problems[0], /ingress "route" is not available here: set ingress to loadbalancer, nodeport or none/);
  assert.match(problems[1], /router-mode "hub"/);
  assert.match(problems[2], /routers "many" must be a whole number from 1 to 16/);
  assert.match(declaredSettings({ ingress: 'loadbalancer', 'cluster-local': 'true' }).problems[0], /remove one of them/);
});

test('adopting keeps every key and label the user wrote', () => {
  const declared = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'skupper-site', namespace: 'w', uid: 'u1', labels: { owner: 'gitops' } },
    data: { name: 'west', console: 'false' },
  };
  const built = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'skupper-site', namespace: 'w', labels: { 'app.kubernetes.io/part-of': 'skupper' } },
    data: { name: 'west', ingress: 'loadbalancer', 'router-mode': 'interior', routers: '1' },
  };
  const out = adoptedConfigMap(declared, built);
  assert.deepEqual(out.data, { name: 'west', console: 'false', ingress: 'loadbalancer', 'router-mode': 'interior', routers: '1' });
  assert.deepEqual(out.metadata.labels, { owner: 'gitops', 'app.kubernetes.io/part-of': 'skupper' });
});
