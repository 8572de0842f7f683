// The claims module opens its port only on a site that accepts links.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { AgentContext } from '../../../../src/core/agent/agent';
import { claimsModule } from '../../../../src/core/agent/modules/links';
import { createCA, issueCertificate } from '../../../../src/core/pki';
import type { Ingress, RouterMode } from '../../../../src/core/site/names';
import { freePort, refused } from '../../../net';

const dir = mkdtempSync(join(tmpdir(), 'van-claims-module-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function context(mode: RouterMode, ingress: Ingress): AgentContext {
  const ca = createCA('site ca');
  const server = issueCertificate(ca, { commonName: 'skupper-router', ipAddresses: ['127.0.0.1'], usage: 'server' });
  const serverTls = { ca: join(dir, 'ca.crt'), cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') };
  writeFileSync(serverTls.ca, ca.certPem);
  writeFileSync(serverTls.cert, server.certPem);
  writeFileSync(serverTls.key, server.keyPem, { mode: 0o600 });
  return {
    platform: 'local',
    site: { id: 'id-1', name: 'w', mode, ingress },
    namespace: dir,
    store: undefined as never,
    router: undefined as never,
    events: { record: () => undefined, events: () => [] },
    listenHost: '127.0.0.1',
    localHost: '127.0.0.1',
    reservedPorts: [],
    applyServices: async () => undefined,
    serverTls,
  };
}

describe('claims module', () => {
  for (const [mode, ingress] of [
    ['interior', 'none'],
    ['edge', 'loadbalancer'],
  ] as const) {
    test(`a site that accepts no links (${mode}, ingress ${ingress}) opens no claims port`, async () => {
      const port = await freePort();
      const module = claimsModule({ port, pollMs: 60_000 });
      await module.start(context(mode, ingress));
      try {
        assert.equal(await refused('127.0.0.1', port), true, `something listens on the claims port ${port}`);
      } finally {
        await module.stop();
      }
    });
  }

  test('a site that accepts links opens it', async () => {
    const port = await freePort();
    const module = claimsModule({ port, pollMs: 60_000 });
    await module.start(context('interior', 'loadbalancer'));
    try {
      assert.equal(await refused('127.0.0.1', port), false);
    } finally {
      await module.stop();
    }
  });
});
