// van service status: the site's own services and the network's, from the published network status
// (for a laptop site, from its folder, with the local port each forwarded service is reached at).
import { type CliCommand, report } from '../command';
import { serviceApiFor } from '../../core/service/api';
import { serviceStatus } from '../../core/service/expose';
import { localServiceStatus } from '../../core/service/local';
import { platformFlags, siteTarget } from './siteTarget';
import { table } from './table';

export const serviceStatusCommand: CliCommand = {
  path: ['service', 'status'],
  usage: 'service status [--platform kubernetes|local] [--site-name N]',
  summary: 'list the services of the network and where they are',
  available: true,
  flags: { ...platformFlags },
  async run(args, globals, io) {
    const target = siteTarget(args, globals);
    const entries = target.platform === 'local' ? localServiceStatus(target.dir) : await serviceStatus(serviceApiFor(globals));
    report(io, globals, entries, () => {
      if (entries.length === 0) return 'No services exposed in the network yet.';
      const forwards = entries.some((e) => 'forwardedTo' in e && e.forwardedTo);
      return table(
        ['ADDRESS', 'PROTOCOL', 'PORTS', 'HERE', 'TARGETS / EXPOSED IN', ...(forwards ? ['FORWARDED TO'] : [])],
        entries.map((e) => [
          e.address,
          e.protocol,
          e.ports.join(','),
          e.local ? 'local' : 'remote',
          e.local ? (e.targets ?? []).join(', ') : (e.exposedIn ?? []).join(', '),
          ...(forwards ? [String(('forwardedTo' in e && e.forwardedTo) || '')] : []),
        ]),
      );
    });
  },
};
