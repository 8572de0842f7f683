// van token inspect FILE: type, issuer, expiry, uses, endpoint, and whether it is valid offline.
import { readFileSync } from 'node:fs';
import { UsageError, UserError } from '../../core/errors';
import { describeToken, formatDescription, parseToken } from '../../core/token/token';
import { type CliCommand, report } from '../command';

export function readTokenFile(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(
      `cannot read the token file ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message}`,
    );
  }
}

export const tokenInspectCommand: CliCommand = {
  path: ['token', 'inspect'],
  usage: 'token inspect FILE',
  summary: "show a token's type, issuer, expiry, uses and endpoint",
  available: true,
  flags: {},
  async run(args, globals, io) {
    const file = args.positionals[0];
    if (!file) throw new UsageError('name the token file to inspect');
    const d = describeToken(parseToken(readTokenFile(file), file === '-' ? 'the token' : file));
    report(io, globals, d, () => formatDescription(d));
    return d.valid ? 0 : 1;
  },
};
