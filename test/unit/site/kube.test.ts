// Cancelling init (the progress notification's Cancel) at any step leaves nothing in the namespace,
// and says Cancelled. The API is an in-memory stand-in here; test/cluster/init-cancel.test.ts does
// the same against the real control plane.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { Cancelled } from '../../../src/core/errors';
import type { KubeClient, KubeObject } from '../../../src/core/kube/client';
import { initSite } from '../../../src/core/site/kube';

/** The slice of KubeClient that init and delete use, over a map; a Deployment becomes ready on its second read. */
class MemoryKube {
  readonly namespace = 'west';
  readonly objects = new Map<string, KubeObject>();
  private reads = new Map<string, number>();

  private key(kind: string, name: string) {
    return `${kind}/${name}`;
  }

  async get<T>(kind: string, name: string): Promise<T | undefined> {
    const o = this.objects.get(this.key(kind, name));
    if (o && kind === 'Deployment') {
      const n = (this.reads.get(name) ?? 0) + 1;
      this.reads.set(name, n);
      if (n >= 2) (o as { status?: unknown }).status = { readyReplicas: 1 };
    }
    return o ? (structuredClone(o) as T) : undefined;
  }

  async list<T>(kind: string, selector?: string): Promise<T[]> {
    const [k, v] = selector?.split('=') ?? [];
    return [...this.objects.values()]
      .filter((o) => o.kind === kind && (!k || o.metadata.labels?.[k] === v))
      .map((o) => structuredClone(o) as T);
  }

  async createOrUpdate<T>(object: KubeObject): Promise<T> {
    const existing = this.objects.get(this.key(object.kind, object.metadata.name!));
    const stored = structuredClone({ ...object, metadata: { ...object.metadata, uid: existing?.metadata.uid ?? randomUUID() } });
    this.objects.set(this.key(object.kind, object.metadata.name!), stored);
    return structuredClone(stored) as T;
  }

  async delete(kind: string, name: string): Promise<boolean> {
    return this.objects.delete(this.key(kind, name));
  }
}

const options = (signal: AbortSignal, extra: object = {}) => ({
  namespace: 'west',
  siteName: 'west',
  ingress: 'none' as const,
  bundleGzip: Buffer.from('bundle'),
  readyTimeoutMs: 10_000,
  signal,
  ...extra,
});

/** Runs init and cancels it when `when` says so; returns the error and what is left. */
async function cancelled(when: (event: { object?: KubeObject; line?: string }) => boolean, throwingProgress = false, extra: object = {}) {
  const kube = new MemoryKube();
  const controller = new AbortController();
  let error: Error | undefined;
  try {
    await initSite(
      kube as unknown as KubeClient,
      options(controller.signal, {
        afterApply: (object: KubeObject) => void (when({ object }) && controller.abort()),
        progress: (line: string) => {
          // The editor's reporter threw once the user had cancelled: init must clean up all the same.
          if (throwingProgress && controller.signal.aborted) throw new Error('cancelled');
          if (when({ line })) controller.abort();
        },
        ...extra,
      }),
    );
  } catch (e) {
    error = e as Error;
  }
  return { error, left: [...kube.objects.keys()] };
}

describe('init cancelled', () => {
  // Every object before the CA (cheap), then after the CA, then while waiting for the router; the
  // cluster test cancels after every object (key generation makes each step seconds long here).
  for (let step = 1; step <= 4; step++) {
    test(`after object ${step}: Cancelled, nothing left`, async () => {
      let applied = 0;
      const { error, left } = await cancelled(({ object }) => object !== undefined && ++applied === step);
      assert.deepEqual(left, []);
      assert.equal(error?.name, 'Cancelled', error?.message);
      assert.ok(error instanceof Cancelled);
    });
  }

  test('after the CA Secret: Cancelled, nothing left', async () => {
    const { error, left } = await cancelled(({ object }) => object?.metadata.name === 'skupper-site-ca');
    assert.deepEqual(left, []);
    assert.equal(error?.name, 'Cancelled', error?.message);
  });

  test('after the last object, not waiting for the router: Cancelled, nothing left', async () => {
    const { error, left } = await cancelled(({ object }) => object?.kind === 'Deployment', false, { noWait: true });
    assert.deepEqual(left, []);
    assert.equal(error?.name, 'Cancelled', error?.message);
  });

  test("while waiting for the router, with a progress reporter that throws once cancelled (as the editor's did)", async () => {
    const { error, left } = await cancelled(({ line }) => /waiting for the router/.test(line ?? ''), true);
    assert.deepEqual(left, []);
    assert.equal(error?.name, 'Cancelled', error?.message);
  });
});
