// The workloads cache of the network reader: the Clusters tree asks for an open Workloads folder on every
// refresh (every ~2 s while a router publishes status); the reader answers from one read per context and
// namespace for a while, and reads again once it expires or is invalidated. The list function and the
// clock are injected: no API server is called.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { KubeClient } from '../../../src/core/kube/client';
import { NetworkReader } from '../../../src/core/network/reader';
import type { WorkloadRecord } from '../../../src/core/network/types';

// two contexts on two servers that are never called (port 1 refuses)
const kubeconfig = join(mkdtempSync(join(tmpdir(), 'van-reader-wl-')), 'kubeconfig');
writeFileSync(
  kubeconfig,
  `apiVersion: v1
kind: Config
current-context: east
clusters:
- name: east
  cluster: { server: 'https://127.0.0.1:1' }
- name: west
  cluster: { server: 'https://127.0.0.2:1' }
users:
- name: u
  user: { token: t }
contexts:
- name: east
  context: { cluster: east, user: u, namespace: shop }
- name: west
  context: { cluster: west, user: u, namespace: shop }
`,
);

const TTL = 10_000;

/** A reader whose list function records its calls and answers with a numbered Deployment per call. */
function setup(list?: (client: KubeClient, namespace: string) => Promise<WorkloadRecord[]>) {
  let now = 1_000_000;
  const calls: { context: string; namespace: string }[] = [];
  const reader = new NetworkReader({
    kubeconfig,
    local: false,
    workloadsTtlMs: TTL,
    now: () => now,
    listWorkloads:
      list ??
      (async (client, namespace) => {
        calls.push({ context: client.contextName, namespace });
        return [{ kind: 'deployment', name: `read-${calls.length}`, namespace, ports: [9090] }];
      }),
  });
  return { reader, calls, tick: (ms: number) => (now += ms) };
}

const names = (w: WorkloadRecord[]) => w.map((x) => x.name);

describe('NetworkReader.readWorkloads cache', () => {
  test('repeated reads within the TTL ask the API once; after it, once more', async () => {
    const { reader, calls, tick } = setup();
    assert.deepEqual(names(await reader.readWorkloads('east', 'shop')), ['read-1']);
    tick(2_000);
    assert.deepEqual(names(await reader.readWorkloads('east', 'shop')), ['read-1']);
    tick(TTL - 2_001);
    assert.deepEqual(names(await reader.readWorkloads('east', 'shop')), ['read-1']);
    assert.equal(calls.length, 1);
    tick(1);
    assert.deepEqual(names(await reader.readWorkloads('east', 'shop')), ['read-2']);
    assert.equal(calls.length, 2);
    reader.dispose();
  });

  test('the key is context and namespace: each gets its own read, through its own context', async () => {
    const { reader, calls } = setup();
    await reader.readWorkloads('east', 'shop');
    await reader.readWorkloads('east', 'other');
    await reader.readWorkloads('west', 'shop');
    await reader.readWorkloads('west', 'shop');
    assert.deepEqual(calls, [
      { context: 'east', namespace: 'shop' },
      { context: 'east', namespace: 'other' },
      { context: 'west', namespace: 'shop' },
    ]);
    reader.dispose();
  });

  test('concurrent reads share one call', async () => {
    const { reader, calls } = setup();
    const all = await Promise.all([
      reader.readWorkloads('east', 'shop'),
      reader.readWorkloads('east', 'shop'),
      reader.readWorkloads('east', 'shop'),
    ]);
    assert.equal(calls.length, 1);
    assert.deepEqual(all.map(names), [['read-1'], ['read-1'], ['read-1']]);
    reader.dispose();
  });

  test('invalidateWorkloads(context, namespace) forgets only that namespace', async () => {
    const { reader, calls } = setup();
    await reader.readWorkloads('east', 'shop');
    await reader.readWorkloads('east', 'other');
    await reader.readWorkloads('west', 'shop');
    reader.invalidateWorkloads('east', 'shop');
    assert.deepEqual(names(await reader.readWorkloads('east', 'shop')), ['read-4']);
    assert.deepEqual(names(await reader.readWorkloads('east', 'other')), ['read-2']);
    assert.deepEqual(names(await reader.readWorkloads('west', 'shop')), ['read-3']);
    assert.equal(calls.length, 4);
    reader.dispose();
  });

  test('invalidateWorkloads(context) forgets the context; invalidateWorkloads() forgets all', async () => {
    const { reader, calls } = setup();
    await reader.readWorkloads('east', 'shop');
    await reader.readWorkloads('east', 'other');
    await reader.readWorkloads('west', 'shop');
    reader.invalidateWorkloads('east');
    await reader.readWorkloads('east', 'shop');
    await reader.readWorkloads('east', 'other');
    await reader.readWorkloads('west', 'shop');
    assert.equal(calls.length, 5, 'east read again, west still cached');
    reader.invalidateWorkloads();
    await reader.readWorkloads('east', 'shop');
    await reader.readWorkloads('west', 'shop');
    assert.equal(calls.length, 7);
    reader.dispose();
  });

  test('a read in flight when invalidated is not kept: the next ask reads again', async () => {
    let release!: () => void;
    let count = 0;
    const { reader } = setup(async (_kc, namespace) => {
      const n = ++count;
      if (n === 1) await new Promise<void>((r) => (release = r));
      return [{ kind: 'deployment', name: `read-${n}`, namespace, ports: [] }];
    });
    const first = reader.readWorkloads('east', 'shop');
    await new Promise((r) => setImmediate(r));
    reader.invalidateWorkloads('east', 'shop');
    const second = await reader.readWorkloads('east', 'shop');
    release();
    assert.deepEqual(names(await first), ['read-1']);
    assert.deepEqual(names(second), ['read-2']);
    assert.deepEqual(names(await reader.readWorkloads('east', 'shop')), ['read-2'], 'the newer read stays cached');
    assert.equal(count, 2);
    reader.dispose();
  });

  test('a failed read rejects with one line and is not cached', async () => {
    let fail = true;
    let count = 0;
    const { reader } = setup(async (_kc, namespace) => {
      count++;
      if (fail) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
      return [{ kind: 'statefulset', name: 'db', namespace, ports: [5432] }];
    });
    await assert.rejects(
      reader.readWorkloads('east', 'shop'),
      /: cannot reach cluster east at https:\/\/127\.0\.0\.1:1: connection refused$/,
    );
    fail = false;
    assert.deepEqual(names(await reader.readWorkloads('east', 'shop')), ['db']);
    assert.equal(count, 2);
    reader.dispose();
  });

  test('an unknown context rejects without a call', async () => {
    const { reader, calls } = setup();
    await assert.rejects(reader.readWorkloads('nowhere', 'shop'), /no context nowhere in the kubeconfig/);
    assert.equal(calls.length, 0);
    reader.dispose();
  });
});
