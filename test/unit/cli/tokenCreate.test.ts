// `van token create FILE`: the file is the owner's only from its first byte, whatever was at FILE
// before (a symlink, a file shared by a hard link, a file with other permissions); a claim whose file
// could not be written is deleted.
import assert from 'node:assert/strict';
import { existsSync, linkSync, lstatSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { tokenCreateCommand } from '../../../src/cli/commands/tokenCreate';
import { laptopSite, runVerb } from './local';

let site: { dir: string; home: string };
before(async () => {
  site = await laptopSite('issuer');
});
after(() => rmSync(site.home, { recursive: true, force: true }));

const create = (file: string) => runVerb(tokenCreateCommand, [file, '--platform', 'local', '--site-name', 'issuer']);
const claims = () => (existsSync(join(site.dir, 'claims')) ? readdirSync(join(site.dir, 'claims')).filter((f) => f.endsWith('.yaml')) : []);

describe('van token create', () => {
  test('a new token file is 0600', async () => {
    const file = join(site.home, 'new-token.yaml');
    await create(file);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.match(readFileSync(file, 'utf8'), /kind: Secret/);
  });

  test('a symlink at FILE is replaced, never written through', async () => {
    const elsewhere = join(site.home, 'elsewhere.txt');
    writeFileSync(elsewhere, 'not yours\n', { mode: 0o644 });
    const file = join(site.home, 'linked-token.yaml');
    symlinkSync(elsewhere, file);
    await create(file);
    assert.equal(readFileSync(elsewhere, 'utf8'), 'not yours\n', "the symlink's target is untouched");
    assert.equal(statSync(elsewhere).mode & 0o777, 0o644);
    assert.equal(lstatSync(file).isSymbolicLink(), false);
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });

  test('an existing file (here shared by a hard link, 0644) is replaced by a new 0600 one', async () => {
    const file = join(site.home, 'old-token.yaml');
    const other = join(site.home, 'other-name.yaml');
    writeFileSync(file, 'old\n', { mode: 0o644 });
    linkSync(file, other);
    await create(file);
    assert.equal(readFileSync(other, 'utf8'), 'old\n', 'the other link does not see the token');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.match(readFileSync(file, 'utf8'), /kind: Secret/);
  });

  test('when the file cannot be written, the claim is deleted and the message says so', async () => {
    const before = claims().length;
    await assert.rejects(
      create(join(site.home, 'no-such-folder', 'token.yaml')),
      /cannot write the token to .*no such folder; the claim was deleted/,
    );
    assert.equal(claims().length, before, 'no claim left behind');
    assert.deepEqual(
      readdirSync(site.home).filter((f) => f.endsWith('.tmp')),
      [],
      'no temporary file left',
    );
  });
});
