// van link delete NAME
import { UsageError } from '../../core/errors';
import { checkLinkName, deleteLink } from '../../core/link/link';
import { type CliCommand } from '../command';
import { linkSiteFor, siteFlags } from './linkSite';

export const linkDeleteCommand: CliCommand = {
  path: ['link', 'delete'],
  usage: 'link delete NAME',
  summary: 'remove a link',
  available: true,
  flags: { ...siteFlags },
  async run(args, globals, io) {
    const name = args.positionals[0];
    if (!name) throw new UsageError('name the link to delete (see "van link status")');
    try {
      checkLinkName(name);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    await deleteLink(linkSiteFor(args, globals), name);
    io.out(`Link ${name} deleted: its connection drops.`);
  },
};
