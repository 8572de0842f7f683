// Cancelling Initialize Site on the real control plane: cancelled after every object init applies,
// while it waits for the LoadBalancer address and while it waits for the router, init answers
// Cancelled (the editor shows no error for it) and the namespace is left as it was, pods included.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import * as esbuild from 'esbuild';
import { Cancelled } from '../../src/core/errors';
import { KubeClient, type KubeObject } from '../../src/core/kube/client';
import { deleteSite, initSite } from '../../src/core/site/kube';
import { adapter } from '../../src/extension/core-adapter';
import { clusterSetup, createNamespace, deleteNamespace, eventually, uniqueName } from './helpers';
import type { Kube } from './kube';
import { projectRoot } from './paths';

const cluster = (process.env.VAN_TEST_CLUSTERS?.split(',')[0] || 'public').trim();
const work = mkdtempSync(join(tmpdir(), 'van-init-cancel-'));
const ns = uniqueName('cancel');
let kube: Kube;
let kubeconfigPath = '';
let bundleGzip: Buffer;

const RESOURCES: [string, string][] = [
  ['/api/v1', 'configmaps'],
  ['/api/v1', 'secrets'],
  ['/api/v1', 'services'],
  ['/api/v1', 'serviceaccounts'],
  ['/api/v1', 'pods'],
  ['/apis/rbac.authorization.k8s.io/v1', 'roles'],
  ['/apis/rbac.authorization.k8s.io/v1', 'rolebindings'],
  ['/apis/apps/v1', 'deployments'],
  ['/apis/apps/v1', 'replicasets'],
];

/** What a site put in the namespace: anything but what every namespace has (its default ServiceAccount and root CA ConfigMap). */
async function leftovers(): Promise<string[]> {
  const found: string[] = [];
  for (const [prefix, resource] of RESOURCES) {
    const r = await kube.get(`${prefix}/namespaces/${ns}/${resource}`);
    assert.equal(r.status, 200, r.text);
    for (const item of r.body.items) {
      const name: string = item.metadata.name;
      if (resource === 'serviceaccounts' && name === 'default') continue;
      if (resource === 'configmaps' && name === 'kube-root-ca.crt') continue;
      if (resource === 'secrets' && item.type === 'kubernetes.io/service-account-token') continue;
      found.push(`${resource}/${name}`);
    }
  }
  return found;
}

async function nothingLeft(what: string): Promise<void> {
  await eventually(`${what}: nothing left in ${ns}`, 60_000, async () => (await leftovers()).length === 0);
}

function client(): KubeClient {
  return KubeClient.forContext({ kubeconfig: kubeconfigPath, context: cluster, namespace: ns, timeoutMs: 20_000 });
}

before(
  async () => {
    const outfile = join(work, 'router.js');
    await esbuild.build({
      entryPoints: [join(projectRoot, 'src/core/agent/main.ts')],
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      minify: true,
      outfile,
      logLevel: 'warning',
    });
    bundleGzip = gzipSync(readFileSync(outfile));
    const setup = await clusterSetup();
    kubeconfigPath = setup.kubeconfigPath;
    kube = setup.kube(cluster);
    await createNamespace(kube, ns);
  },
  { timeout: 300_000 },
);

after(async () => {
  if (kube) await deleteNamespace(kube, ns).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

describe('init cancelled', { timeout: 900_000 }, () => {
  test('after every object it applies: Cancelled, and nothing is left', async () => {
    const applied: string[] = [];
    for (let step = 1; step <= 30; step++) {
      const controller = new AbortController();
      let count = 0;
      let error: unknown;
      try {
        await initSite(client(), {
          namespace: ns,
          siteName: 'west',
          ingress: 'loadbalancer',
          bundleGzip,
          noWait: true,
          signal: controller.signal,
          afterApply: (o: KubeObject) => {
            if (++count === step) {
              applied.push(`${o.kind}/${o.metadata.name}`);
              controller.abort();
            }
          },
        });
      } catch (e) {
        error = e;
      }
      if (count < step) {
        // init applied fewer objects than `step`: it finished; every step before was cancelled.
        assert.equal(error, undefined);
        const r = await client().delete('ConfigMap', 'skupper-site');
        assert.equal(r, true);
        await eventually('the completed site goes with its ConfigMap', 90_000, async () => (await leftovers()).length === 0);
        break;
      }
      await nothingLeft(`cancelled after ${applied[applied.length - 1]}`);
      assert.equal((error as Error | undefined)?.name, 'Cancelled', `step ${step} (${applied[applied.length - 1]}): ${String(error)}`);
      assert.ok(error instanceof Cancelled);
    }
    console.log(`# cancelled after each of ${applied.length} objects: ${applied.join(', ')}`);
    assert.ok(applied.length >= 8, `only ${applied.length} steps`);
  });

  for (const phase of ['waiting for the ingress address', 'waiting for the router']) {
    test(`from the editor, while ${phase}: Cancelled (no error), nothing left`, async () => {
      await deleteSite(client(), { waitMs: 60_000 });
      await nothingLeft('before');
      const controller = new AbortController();
      const lines: string[] = [];
      const t = { context: cluster, namespace: ns, kubeconfig: kubeconfigPath };
      process.env.VAN_ROUTER_BUNDLE = join(work, 'router.js');
      const outcome = await adapter
        .init(
          t,
          { siteName: 'west', ingress: 'loadbalancer' },
          (line) => {
            lines.push(line);
            if (line.startsWith(phase)) controller.abort();
          },
          controller.signal,
        )
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      await nothingLeft(`cancelled while ${phase}`);
      assert.equal((outcome as Error | undefined)?.name, 'Cancelled', `${String(outcome)}; progress: ${lines.join(' | ')}`);
      assert.ok(outcome instanceof Cancelled);
      assert.ok(
        lines.some((l) => l.startsWith(phase)),
        lines.join(' | '),
      );
    });
  }
});
