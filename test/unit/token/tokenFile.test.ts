// A token file is the owner's only from its first byte (the extension's "Save token to file" and
// `van token create` both write through writeTokenFile).
import assert from 'node:assert/strict';
import { lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { writeTokenFile } from '../../../src/core/token/tokenFile';

const dir = mkdtempSync(join(tmpdir(), 'van-token-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('writeTokenFile', () => {
  test('0600 whatever the umask', () => {
    const previous = process.umask(0);
    try {
      writeTokenFile(join(dir, 't.yaml'), 'secret\n');
    } finally {
      process.umask(previous);
    }
    assert.equal(statSync(join(dir, 't.yaml')).mode & 0o777, 0o600);
  });

  test('replaces a symlink and an existing world-readable file instead of writing into them', () => {
    const target = join(dir, 'target');
    writeFileSync(target, 'keep\n', { mode: 0o644 });
    symlinkSync(target, join(dir, 'link.yaml'));
    writeTokenFile(join(dir, 'link.yaml'), 'secret\n');
    assert.equal(readFileSync(target, 'utf8'), 'keep\n');
    assert.equal(lstatSync(join(dir, 'link.yaml')).isSymbolicLink(), false);
    writeFileSync(join(dir, 'open.yaml'), 'old\n', { mode: 0o666 });
    writeTokenFile(join(dir, 'open.yaml'), 'secret\n');
    assert.equal(statSync(join(dir, 'open.yaml')).mode & 0o777, 0o600);
  });

  test('a folder that does not exist: one line, nothing left', () => {
    assert.throws(() => writeTokenFile(join(dir, 'nope', 't.yaml'), 'x'), /cannot write the token to .*: no such folder/);
    assert.throws(() => writeTokenFile(dir, 'x'), /it is a folder/);
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.endsWith('.tmp')),
      [],
    );
  });
});
