// van revoke-access: a new site CA and server certificate, claim records deleted; every link made
// with this site's tokens drops and cannot come back.
import { type CliCommand } from '../command';
import { linkSiteFor, siteFlags } from './linkSite';

export const revokeAccessCommand: CliCommand = {
  path: ['revoke-access'],
  usage: 'revoke-access',
  summary: "new site CA: every link made with this site's tokens drops",
  available: true,
  flags: { ...siteFlags },
  async run(args, globals, io) {
    const site = linkSiteFor(args, globals);
    const self = await site.identity();
    const { records } = await site.rotateCA();
    io.out(
      `Site ${self.name}: new CA and server certificate; ${records} unredeemed claim${records === 1 ? '' : 's'} deleted. ` +
        `Links made with earlier tokens drop within seconds; create new tokens to link again.`,
    );
  },
};
