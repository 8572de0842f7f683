// van service status: the site's own services and the network's, from the published network status.
import { type CliCommand, report } from '../command';
import { serviceApiFor } from '../../core/service/api';
import { serviceStatus } from '../../core/service/expose';
import { table } from './table';

export const serviceStatusCommand: CliCommand = {
  path: ['service', 'status'],
  usage: 'service status',
  summary: 'list the services of the network and where they are',
  available: true,
  flags: {},
  async run(_args, globals, io) {
    const entries = await serviceStatus(serviceApiFor(globals));
    report(io, globals, entries, () => {
      if (entries.length === 0) return 'No services exposed in the network yet.';
      return table(
        ['ADDRESS', 'PROTOCOL', 'PORTS', 'HERE', 'TARGETS / EXPOSED IN'],
        entries.map((e) => [e.address, e.protocol, e.ports.join(','), e.local ? 'local' : 'remote', e.local ? (e.targets ?? []).join(', ') : (e.exposedIn ?? []).join(', ')]),
      );
    });
  },
};
