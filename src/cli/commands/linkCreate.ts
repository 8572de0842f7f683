// van link create FILE [--name N] [--cost C] [--wait 30s]
import { UsageError } from '../../core/errors';
import { createLink, waitForLink } from '../../core/link/link';
import { parseDuration } from '../../core/token/token';
import { checkName } from '../../core/token/token';
import { type CliCommand, report } from '../command';
import { changeableLinkSiteFor, siteFlags } from './linkSite';
import { readTokenFile } from './tokenInspect';

export const linkCreateCommand: CliCommand = {
  path: ['link', 'create'],
  usage: 'link create FILE [--name N] [--cost C] [--wait 30s]',
  summary: 'link this site to the site that issued the token',
  available: true,
  flags: {
    name: { type: 'string', description: "the link's name (link1, link2, … by default)" },
    cost: { type: 'number', description: "the link's cost for routing (default 1)" },
    wait: { type: 'string', description: 'how long to wait for the link to come up (default 30s; 0 not to wait)' },
    ...siteFlags,
  },
  async run(args, globals, io) {
    const file = args.positionals[0];
    if (!file) throw new UsageError('name the token file (written by "van token create" at the other site)');
    const name = args.flags.name !== undefined ? checkName(String(args.flags.name)) : undefined;
    const cost = args.flags.cost as number | undefined;
    if (cost !== undefined && (!Number.isInteger(cost) || cost < 1))
      throw new UsageError(`--cost must be a whole number of at least 1 (got ${cost})`);
    const waitText = (args.flags.wait as string | undefined) ?? '30s';
    const waitMs = waitText === '0' ? 0 : parseDuration(waitText, '--wait');
    const site = await changeableLinkSiteFor(args, globals, 'van link create (create an AccessToken instead)');
    const started = performance.now();
    const result = await createLink(site, readTokenFile(file), { name, cost, source: file === '-' ? 'the token' : file });
    const lines = [
      `Site configured to link to ${result.remoteSite.name ?? result.remoteSite.id} at ${result.endpoint} (name=${result.name})` +
        `${result.via === 'claim' ? `; claim redeemed in ${Math.round(result.redeemMs ?? 0)} ms` : ''}.`,
    ];
    let outcome: Awaited<ReturnType<typeof waitForLink>> | undefined;
    if (waitMs > 0) {
      outcome = await waitForLink(site, result.name, waitMs);
      const elapsed = Math.round(performance.now() - started);
      if (outcome.connected) lines.push(`Link ${result.name} is active (${elapsed} ms after link create).`);
      else
        lines.push(
          `Link ${result.name} is not active yet after ${Math.round(waitMs / 1000)} s${outcome.error ? `: ${outcome.error}` : ''}. Check with "van link status ${result.name}".`,
        );
    } else {
      lines.push(`Check the status of the link using "van link status ${result.name}".`);
    }
    report(
      io,
      globals,
      {
        ...result,
        connected: outcome?.connected ?? null,
        error: outcome?.error ?? null,
        elapsedMs: Math.round(performance.now() - started),
      },
      () => lines.join('\n'),
    );
  },
};
