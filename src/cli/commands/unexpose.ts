// van unexpose deployment|statefulset|service/NAME [--address A]
// van unexpose host/HOST [--address A] [--site-name N]   (a laptop site)
import { parseHostTarget, parseWorkload } from '../args';
import { type CliCommand, report } from '../command';
import { UsageError } from '../../core/errors';
import { serviceApiFor } from '../../core/service/api';
import { unexpose } from '../../core/service/expose';
import { refuseOnV2Site } from '../../core/v2/mode';
import { unexposeHost } from '../../core/service/local';
import { platformFlags, siteTarget } from './siteTarget';

export const unexposeCommand: CliCommand = {
  path: ['unexpose'],
  usage: 'unexpose deployment|statefulset|service/NAME [--address A]  |  unexpose host/HOST [--address A] [--site-name N]',
  summary: 'stop exposing a workload (or a port of this machine)',
  available: true,
  flags: {
    address: { type: 'string', description: 'only the service with this address (default: every service of the workload)' },
    ...platformFlags,
  },
  async run(args, globals, io) {
    const host = parseHostTarget(args.positionals);
    if (host) {
      if (host.rest.length) throw new UsageError(`unexpected argument "${host.rest[0]}"`);
      const target = siteTarget(args, globals, 'local');
      if (target.platform !== 'local') throw new UsageError('host targets are for laptop sites: add --platform local --site-name N');
      const removed = unexposeHost(target.dir, { host: host.host, address: args.flags.address as string | undefined });
      report(
        io,
        globals,
        removed.map((d) => d.address),
        () => `host ${host.host} unexposed from local site ${target.name} (${removed.map((d) => d.address).join(', ')})`,
      );
      return;
    }
    const { kind, name, rest } = parseWorkload(args.positionals);
    if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}"`);
    const api = serviceApiFor(globals);
    await refuseOnV2Site(api, `van unexpose ${kind}/${name}`);
    const removed = await unexpose(api, { kind, name, address: args.flags.address as string | undefined });
    report(
      io,
      globals,
      removed.map((d) => d.address),
      () => `${kind} ${name} unexposed (${removed.map((d) => d.address).join(', ')})`,
    );
  },
};
