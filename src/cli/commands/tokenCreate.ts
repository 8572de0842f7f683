// van token create FILE [--expiry 15m] [--uses 1] [--token-type claim|cert] [--name N]
import { UsageError, UserError } from '../../core/errors';
import { describeExpiry } from '../../core/pki';
import { createToken } from '../../core/token/issue';
import { parseDuration, tokenYaml } from '../../core/token/token';
import { writeTokenFile } from '../../core/token/tokenFile';
import { type CliCommand } from '../command';
import { changeableLinkSiteFor, siteFlags } from './linkSite';

export const tokenCreateCommand: CliCommand = {
  path: ['token', 'create'],
  usage: 'token create FILE [--expiry 15m] [--uses 1] [--token-type claim|cert] [--name N]',
  summary: 'write a token that lets another site link to this one',
  available: true,
  flags: {
    expiry: { type: 'string', description: 'how long a claim token can be redeemed (default 15m)' },
    uses: { type: 'number', description: 'how many times a claim token can be redeemed (default 1)' },
    'token-type': {
      type: 'string',
      choices: ['claim', 'cert'],
      description: 'claim (default): redeemed once for a certificate; cert: the certificate itself',
    },
    name: { type: 'string', description: "the token's name (a new random one by default)" },
    ...siteFlags,
  },
  async run(args, globals, io) {
    const file = args.positionals[0];
    if (!file) throw new UsageError('name the file to write the token to (or - for standard output)');
    if (args.positionals.length > 1) throw new UsageError(`one file only (got ${args.positionals.join(' ')})`);
    const type = ((args.flags['token-type'] as string | undefined) ?? 'claim') as 'claim' | 'cert';
    const expiryMs = parseDuration((args.flags.expiry as string | undefined) ?? '15m');
    const uses = (args.flags.uses as number | undefined) ?? 1;
    if (!Number.isInteger(uses) || uses < 1) throw new UsageError(`--uses must be a whole number of at least 1 (got ${uses})`);
    if (type === 'cert' && (args.flags.uses !== undefined || args.flags.expiry !== undefined)) {
      throw new UsageError('--uses and --expiry apply to claim tokens only: a cert token is valid until revoke-access');
    }
    const site = await changeableLinkSiteFor(args, globals, 'van token create (create an AccessGrant instead)');
    const created = await createToken(site, { type, expiryMs, uses, name: args.flags.name as string | undefined });
    const text = tokenYaml(created.secret);
    if (file === '-') {
      io.out(text);
      return;
    }
    try {
      writeTokenFile(file, text);
    } catch (e) {
      // A claim nobody holds the password of is only clutter (and counts in revoke-access): remove it.
      if (type === 'claim') {
        const removed = await site
          .claims()
          .delete(created.secret.metadata.name)
          .catch(() => false);
        throw new UserError(
          `${(e as Error).message}; ` +
            (removed
              ? 'the claim was deleted, run the command again with another FILE'
              : `claim ${created.secret.metadata.name} could not be deleted: ` +
                `nobody has its password, and it ${describeExpiry(created.expires!)}`),
        );
      }
      throw e;
    }
    const detail =
      type === 'claim'
        ? `claim ${created.secret.metadata.name}, ${uses} use${uses === 1 ? '' : 's'}, ${describeExpiry(created.expires!)}`
        : 'client certificate, valid until revoke-access';
    io.out(`Token written to ${file} (${detail}): run "van link create ${file}" at the other site.`);
  },
};
