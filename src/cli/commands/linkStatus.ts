// van link status [NAME] [-o json]: outgoing links with state, since, remote site, cost, last error;
// and the incoming links this site accepts.
import { UserError } from '../../core/errors';
import { buildLinkStatus, formatLinkStatus } from '../../core/link/link';
import { type CliCommand, report } from '../command';
import { linkSiteFor, siteFlags } from './linkSite';

export const linkStatusCommand: CliCommand = {
  path: ['link', 'status'],
  usage: 'link status [NAME]',
  summary: 'show links, outgoing and incoming, with their last error',
  available: true,
  flags: { ...siteFlags },
  async run(args, globals, io) {
    const site = linkSiteFor(args, globals);
    const self = await site.identity();
    const [links, status] = await Promise.all([site.listLinks(), site.readStatus()]);
    const full = buildLinkStatus(self, links, status);
    const name = args.positionals[0];
    let report_ = full;
    if (name) {
      const rows = full.links.filter((l) => l.name === name);
      if (rows.length === 0) {
        const names = full.links.filter((l) => l.direction === 'outgoing').map((l) => l.name);
        throw new UserError(`no link ${name}; ${names.length ? `links here: ${names.join(', ')}` : 'this site has no links'}`);
      }
      report_ = { ...full, links: rows };
    }
    if (report_.warning && globals.output) io.err(`Warning: ${report_.warning}`);
    report(io, globals, report_.links, () => formatLinkStatus(report_));
  },
};
