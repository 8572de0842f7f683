// Writing a token file: it grants a link to the site, so only its owner may read it, from the first
// byte on. The text goes to a new file in the same folder (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600),
// then replaces the destination by rename: a symlink or an existing file (with other permissions,
// or another owner) at the destination is replaced, never written through or kept.
import { randomBytes } from 'node:crypto';
import { closeSync, constants, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from '../errors';

const CREATE_PRIVATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);

function reason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such folder';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'EEXIST') return 'it is a folder';
  if (code === 'ENOSPC') return 'the disk is full';
  return (e as Error).message;
}

/** Writes `text` to `file` readable by its owner only (0600); throws a UserError saying why not. */
export function writeTokenFile(file: string, text: string): void {
  const path = resolve(file);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fd = openSync(tmp, CREATE_PRIVATE, 0o600);
    try {
      writeFileSync(fd, text);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new UserError(`cannot write the token to ${file}: ${reason(e)}`);
  }
}
