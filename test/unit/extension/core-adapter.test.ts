// The editor's actions as the adapter runs them (no editor needed: the adapter imports the core only).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Cancelled } from '../../../src/core/errors';
import { initLocalSite } from '../../../src/core/site/local';
import { adapter, type Target } from '../../../src/extension/core-adapter';

const home = mkdtempSync(join(tmpdir(), 'van-adapter-'));
let laptop: Target;
before(async () => {
  const { dir } = await initLocalSite({ siteName: 'desk', ingress: 'loadbalancer', env: { ...process.env, VAN_LOCAL_HOME: home } });
  laptop = { context: 'laptop', namespace: 'desk', local: { dir, name: 'desk' } };
});
after(() => rmSync(home, { recursive: true, force: true }));

const claims = () =>
  existsSync(join(laptop.local!.dir, 'claims')) ? readdirSync(join(laptop.local!.dir, 'claims')).filter((f) => f.endsWith('.yaml')) : [];

describe('editor adapter', () => {
  test('Save token to file: 0600; a file that cannot be written leaves no claim', async () => {
    const file = join(home, 'desk-token.yaml');
    await adapter.saveToken(laptop, { expiry: '15m', uses: 1 }, file);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const before = claims().length;
    await assert.rejects(adapter.saveToken(laptop, { expiry: '15m', uses: 1 }, join(home, 'missing', 't.yaml')), /no such folder/);
    assert.equal(claims().length, before);
  });

  test('Initialize Site cancelled maps to Cancelled (no error shown), before any API call', async () => {
    // A cluster nobody listens on: any request would fail with "connection refused".
    const kubeconfig = join(home, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'current-context: nowhere',
        'clusters: [{name: nowhere, cluster: {server: "https://127.0.0.1:9"}}]',
        'users: [{name: u, user: {token: t}}]',
        'contexts: [{name: nowhere, context: {cluster: nowhere, user: u, namespace: west}}]',
        '',
      ].join('\n'),
    );
    const controller = new AbortController();
    controller.abort();
    const outcome = await adapter
      .init(
        { context: 'nowhere', namespace: 'west', kubeconfig },
        { siteName: 'west', ingress: 'none' },
        () => undefined,
        controller.signal,
      )
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.equal((outcome as Error | undefined)?.name, 'Cancelled', String(outcome));
    assert.ok(outcome instanceof Cancelled);
  });
});
