// The watch helper against a real API server: the server ends each watch after timeoutSeconds (as
// real servers do every few minutes); the helper reconnects, calls onConnect again, and keeps
// delivering events, including for objects created after the reconnect.
import assert from 'node:assert/strict';
import { KubeConfig } from '@kubernetes/client-node';
import { after, before, describe, test } from 'node:test';
import { watchWithReconnect } from '../../src/core/kube/watch';
import { ensureControlPlane } from './controlplane';
import { createNamespace, deleteNamespace, eventually, uniqueName } from './helpers';
import { Kube } from './kube';

describe('watchWithReconnect on a real API server', () => {
  let kubeconfigPath = '';
  let kube: Kube;
  const ns = uniqueName('watch');

  before(async () => {
    ({ kubeconfigPath } = await ensureControlPlane());
    kube = new Kube(kubeconfigPath, 'public');
    await createNamespace(kube, ns);
  });

  after(async () => {
    if (kube) await deleteNamespace(kube, ns);
  });

  async function secret(name: string, type: string): Promise<void> {
    const r = await kube.post(`/api/v1/namespaces/${ns}/secrets`, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, labels: { 'skupper.io/type': type } },
    });
    assert.equal(r.status, 201, r.text);
  }

  test('reconnects when the server ends the stream, re-announcing each connect, and filters by label', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    kc.setCurrentContext('public');
    const events: string[] = [];
    const errors: string[] = [];
    let connects = 0;
    await secret('link-a', 'connection-token');
    const handle = watchWithReconnect(kc, `/api/v1/namespaces/${ns}/secrets`, {
      query: { labelSelector: 'skupper.io/type=connection-token', timeoutSeconds: 1 },
      onEvent: (phase, obj) => events.push(`${phase} ${obj.metadata.name}`),
      onConnect: () => connects++,
      minBackoffMs: 10,
      onError: (e) => errors.push(String((e as Error)?.message ?? e)),
    });
    try {
      await eventually('the first watch delivers the existing link', 10_000, async () => events.includes('ADDED link-a'));
      await eventually('the server ended the stream and the watch came back', 15_000, async () => connects >= 3);
      await secret('other', 'token-claim-record');
      await secret('link-b', 'connection-token');
      await eventually('a link made after the reconnects arrives', 10_000, async () => events.includes('ADDED link-b'));
      assert.ok(!events.some((e) => e.endsWith(' other')), `label filter ignored: ${events.join(', ')}`);
    } finally {
      handle.stop();
    }
    assert.deepEqual(errors, [], 'a server-side end of stream is not an error');
  });

  test('stopped while connecting: the watch that connects afterwards is closed at once, never delivers', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    kc.setCurrentContext('public');
    const events: string[] = [];
    let connects = 0;
    await secret('early', 'connection-token');
    const handle = watchWithReconnect(kc, `/api/v1/namespaces/${ns}/secrets`, {
      query: { labelSelector: 'skupper.io/type=connection-token' },
      onEvent: (phase, obj) => events.push(`${phase} ${obj.metadata.name}`),
      onConnect: () => connects++,
    });
    handle.stop(); // before the request has even been sent
    // A watch left open would replay 'early' as ADDED and then deliver 'late'.
    await secret('late', 'connection-token');
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(events, [], 'no event after stop()');
    assert.equal(connects, 0, 'onConnect is not called for a watch stopped while connecting');
  });
});
