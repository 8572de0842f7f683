// Story 2, hello-world: the backend (3 replicas) runs in one cluster, the frontend in another calls
// http://backend:8080 as if it were local; the answers come from all three backend pods.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { SiteUnderTest, Timings, controlPlane, eventually, httpGet, tokenDir, uniqueName } from './helpers';

let east: SiteUnderTest;
let west: SiteUnderTest;
const timings = new Timings('hello-world');

before(
  async () => {
    const { kubeconfigPath } = await controlPlane();
    const ns = uniqueName('hello');
    east = new SiteUnderTest(kubeconfigPath, 'public', ns); // backend
    west = new SiteUnderTest(kubeconfigPath, 'private', ns); // frontend
    await Promise.all([east.createNamespace(), west.createNamespace()]);
  },
  { timeout: 300_000 },
);

after(async () => {
  timings.print();
  await Promise.all([east?.deleteNamespace(), west?.deleteNamespace()]);
});

test('hello-world: a frontend in one cluster calls a 3-replica backend in another', { timeout: 240_000 }, async (t) => {
  try {
    await east.deploy('backend', 'quay.io/skupper/hello-world-backend', { replicas: 3, port: 8080, labels: { app: 'backend' } });
    await west.deploy('frontend', 'quay.io/skupper/hello-world-frontend', { port: 8080, labels: { app: 'frontend' } });

    let t0 = Date.now();
    await Promise.all([east.must('init', '--site-name', 'east'), west.must('init', '--site-name', 'west')]);
    await Promise.all([east.waitReady(), west.waitReady()]);
    timings.mark('init to ready (both sites, in parallel)', t0);

    const token = join(tokenDir(), 'west.token');
    await west.must('token', 'create', token);
    t0 = Date.now();
    await east.must('link', 'create', token);
    await east.waitLinks(1);
    timings.mark('link create to link up', t0);

    assert.equal(await east.must('expose', 'deployment/backend', '--port', '8080'), 'deployment backend exposed as backend');
    t0 = Date.now();
    await eventually(
      'backend Service with an endpoint in west',
      60_000,
      async () => (await west.service('backend')) && (await west.endpoints('backend')).length > 0,
    );
    timings.mark('expose to service visible in west', t0);

    const backends = await eventually('3 ready backend pods', 60_000, async () => {
      const pods = await east.readyPods('app=backend');
      return pods.length === 3 ? pods : undefined;
    });
    const [frontend] = await eventually('a ready frontend pod', 60_000, async () => {
      const pods = await west.readyPods('app=frontend');
      return pods.length ? pods : undefined;
    });

    t0 = Date.now();
    const first = await eventually('a hello through the frontend', 30_000, async () => {
      const r = await httpGet(frontend.ip, 8080, '/api/hello?name=van');
      return r.status === 200 ? r.body : undefined;
    });
    timings.mark('service visible to first answer', t0);
    assert.match(first, /^Hello, van\. I am backend-\S+\.?$/);

    // Balanced distribution: every backend pod answers. HTTP is carried as TCP for now, so the
    // frontend's keep-alive connection stays on one pod; concurrent calls make it open several
    // connections (flows), which the routers spread over the three pods.
    const seen = new Set<string>();
    t0 = Date.now();
    let round = 0;
    await eventually(`answers from all three backend pods (seen so far: ${[...seen].join(', ')})`, 60_000, async () => {
      const answers = await Promise.all(
        Array.from({ length: 6 }, (_, i) => httpGet(frontend.ip, 8080, `/api/hello?name=r${round}c${i}`).catch(() => undefined)),
      );
      round++;
      for (const r of answers) {
        const m = /I am (\S+?)\.?$/.exec(r?.body ?? '');
        if (m) seen.add(m[1]);
      }
      return seen.size === 3;
    });
    timings.mark('until all three pods answered', t0);
    assert.deepEqual([...seen].sort(), backends.map((p) => p.name).sort());
  } catch (error) {
    t.diagnostic(await east.routerLogs().catch(() => ''));
    t.diagnostic(await west.routerLogs().catch(() => ''));
    throw error;
  }
});
