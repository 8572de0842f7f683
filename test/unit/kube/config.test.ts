import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { KubeClient } from '../../../src/core/kube/client';
import { kubeConfigFor, kubeconfigFiles, loadKubeconfig, resolveContext } from '../../../src/core/kube/config';
import { UserError } from '../../../src/core/errors';

const dir = mkdtempSync(join(tmpdir(), 'van-kubeconfig-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}
const one = file(
  'one',
  `apiVersion: v1
kind: Config
current-context: a
clusters:
- name: ca
  cluster: { server: 'https://127.0.0.1:1', insecure-skip-tls-verify: true }
users:
- name: ua
  user: { token: abc }
contexts:
- name: a
  context: { cluster: ca, user: ua, namespace: west }
`,
);
const two = file(
  'two',
  `apiVersion: v1
kind: Config
current-context: b
clusters:
- name: cb
  cluster: { server: 'https://10.0.0.2:6443' }
- name: ca
  cluster: { server: 'https://shadowed:1' }
users:
- name: ub
  user: { token: def }
contexts:
- name: b
  context: { cluster: cb, user: ub }
- name: a
  context: { cluster: cb, user: ub }
`,
);

describe('kubeconfig', () => {
  test('KUBECONFIG with several files: merged, first wins, current context from the first file', () => {
    assert.deepEqual(kubeconfigFiles(undefined, { KUBECONFIG: `${one}:${two}` }), [one, two]);
    const config = loadKubeconfig(undefined, { KUBECONFIG: `${one}:${join(dir, 'missing')}:${two}` });
    assert.deepEqual(config.files, [one, two]);
    assert.equal(config.currentContext, 'a');
    assert.deepEqual(
      config.contexts.map((c) => [c.name, c.cluster, c.server, c.user, c.namespace, c.file]),
      [
        ['a', 'ca', 'https://127.0.0.1:1', 'ua', 'west', one],
        ['b', 'cb', 'https://10.0.0.2:6443', 'ub', 'default', two],
      ],
    );
  });

  test('an explicit list beats KUBECONFIG; ~/.kube/config is the fallback', () => {
    assert.deepEqual(kubeconfigFiles([two], { KUBECONFIG: one }), [two]);
    assert.deepEqual(kubeconfigFiles(undefined, { HOME: '/home/x' }), ['/home/x/.kube/config']);
    assert.equal(loadKubeconfig(two).currentContext, 'b');
  });

  test('an unknown context lists the known ones', () => {
    const config = loadKubeconfig([one, two]);
    assert.throws(
      () => resolveContext(config, 'nope'),
      (e: unknown) => e instanceof UserError && e.message === 'unknown context "nope"; known contexts: a, b',
    );
    assert.equal(resolveContext(config).name, 'a');
    assert.equal(resolveContext(config, 'b').server, 'https://10.0.0.2:6443');
  });

  test('a broken file is named with the reason', () => {
    const bad = file('bad', 'clusters: [ {name: x} ]\n');
    assert.throws(
      () => loadKubeconfig(bad),
      (e: unknown) =>
        e instanceof UserError &&
        e.message.startsWith(`cannot read kubeconfig file ${bad}: `) &&
        /cluster/.test(e.message) &&
        !e.message.includes('\n'),
    );
    const garbage = file('garbage', '{{{ not yaml');
    assert.throws(
      () => loadKubeconfig(garbage),
      (e: unknown) => e instanceof UserError && e.message.includes(garbage),
    );
    assert.throws(() => loadKubeconfig(join(dir, 'absent')), /does not exist/);
    assert.throws(() => loadKubeconfig(undefined, { KUBECONFIG: join(dir, 'absent') }), /no kubeconfig found/);
  });

  test('a client per context leaves the files and the current context alone', async () => {
    const { readFileSync } = await import('node:fs');
    const before = readFileSync(one, 'utf8');
    const config = loadKubeconfig([one, two]);
    const kc = kubeConfigFor(config, resolveContext(config, 'b'));
    assert.equal(kc.getCurrentContext(), 'b');
    assert.equal(config.currentContext, 'a');
    const client = KubeClient.forContext({ kubeconfig: [one, two], context: 'b', namespace: 'east' });
    assert.equal(client.namespace, 'east');
    assert.equal(client.server, 'https://10.0.0.2:6443');
    assert.equal(KubeClient.forContext({ kubeconfig: [one, two] }).namespace, 'west');
    assert.equal(readFileSync(one, 'utf8'), before);
  });

  test('an unreachable cluster fails fast with one line', async () => {
    const client = KubeClient.forContext({ kubeconfig: one, timeoutMs: 2000 });
    const started = Date.now();
    await assert.rejects(
      client.get('ConfigMap', 'skupper-site'),
      (e: unknown) => e instanceof UserError && e.message === 'cannot reach cluster a at https://127.0.0.1:1: connection refused',
    );
    assert.ok(Date.now() - started < 3000);
  });

  test('a server that never answers times out with the per-call timeout', async () => {
    const net = await import('node:net');
    const server = net.createServer(() => undefined).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const port = (server.address() as { port: number }).port;
    const silent = file(
      'silent',
      `apiVersion: v1
kind: Config
current-context: s
clusters: [{ name: s, cluster: { server: 'https://127.0.0.1:${port}', insecure-skip-tls-verify: true } }]
users: [{ name: s, user: { token: t } }]
contexts: [{ name: s, context: { cluster: s, user: s } }]
`,
    );
    const client = KubeClient.forContext({ kubeconfig: silent, timeoutMs: 500 });
    const started = Date.now();
    await assert.rejects(
      client.list('Secret'),
      (e: unknown) =>
        e instanceof UserError && /^cannot reach cluster s at https:\/\/127\.0\.0\.1:\d+: no answer within 1 s$/.test(e.message),
    );
    assert.ok(Date.now() - started < 2500);
    server.close();
  });
});
