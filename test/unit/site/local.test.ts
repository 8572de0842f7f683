import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { deleteLocalSite, initLocalSite, listLocalSites, localHome, localSiteStatus, readLocalSite } from '../../../src/core/site/local';
import { describeCertificate, isSignedBy } from '../../../src/core/pki';
import { readFileSync } from 'node:fs';

describe('local sites', () => {
  test('the data folder: VAN_LOCAL_HOME, else XDG_DATA_HOME, else ~/.local/share', () => {
    assert.equal(localHome({ VAN_LOCAL_HOME: '/x' }), '/x');
    assert.equal(localHome({ XDG_DATA_HOME: '/d', HOME: '/h' }), '/d/vscode-skupper');
    assert.equal(localHome({ HOME: '/h' }), '/h/.local/share/vscode-skupper');
  });

  test('init writes a private site folder with CA, server cert and ports; twice is refused; delete removes it', async () => {
    const env = { ...process.env, VAN_LOCAL_HOME: mkdtempSync(join(tmpdir(), 'van-local-')) };
    const { dir, site } = await initLocalSite({ siteName: 'laptop', env });
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    for (const sub of ['ca', 'server', 'links']) assert.equal(statSync(join(dir, sub)).mode & 0o777, 0o700);
    for (const key of ['ca/tls.key', 'server/tls.key', 'site.json']) assert.equal(statSync(join(dir, key)).mode & 0o777, 0o600, key);
    assert.deepEqual(readLocalSite(dir), site);
    assert.equal(site.ingress, 'none');
    assert.equal(new Set(Object.values(site.ports)).size, 5);
    const server = readFileSync(join(dir, 'server/tls.crt'), 'utf8');
    assert.ok(isSignedBy(server, readFileSync(join(dir, 'ca/tls.crt'), 'utf8')));
    assert.ok(describeCertificate(server).ipAddresses.includes('127.0.0.1'));
    assert.deepEqual(listLocalSites(env), ['laptop']);
    await assert.rejects(initLocalSite({ siteName: 'laptop', env }), /local site laptop already exists/);
    const other = await initLocalSite({ siteName: 'second', env });
    assert.equal(
      Object.values(other.site.ports).filter((p) => Object.values(site.ports).includes(p)).length,
      0,
      'ports differ between local sites',
    );
    const status = await localSiteStatus(dir, 'laptop');
    assert.equal(status.enabled, true);
    assert.equal(status.ready, false);
    assert.match(status.problems[0], /not running/);
    assert.deepEqual(await deleteLocalSite(dir), { existed: true, stopped: false });
    assert.equal(existsSync(dir), false);
    assert.deepEqual(await deleteLocalSite(dir), { existed: false, stopped: false });
    await assert.rejects(initLocalSite({ siteName: 'Bad Name', env }), /must be lower case/);
  });
});
