// van service status: the site's own services and the network's, from the published network status
// (for a laptop site, from its folder, with the local port each forwarded service is reached at).
import { type CliCommand, report } from '../command';
import { serviceApiFor } from '../../core/service/api';
import { serviceStatus } from '../../core/service/expose';
import { localServiceStatus } from '../../core/service/local';
import { platformFlags, siteTarget } from './siteTarget';
import { table } from './table';
import { publishedTraffic } from './trafficSource';
import { formatBytes, formatMs, pairTraffic, routerAddressesOf, serviceTraffic } from '../../core/network/traffic';

export const serviceStatusCommand: CliCommand = {
  path: ['service', 'status'],
  usage: 'service status [--platform kubernetes|local] [--site-name N]',
  summary: 'list the services of the network and where they are',
  available: true,
  flags: { ...platformFlags },
  async run(args, globals, io) {
    const target = siteTarget(args, globals);
    const found = target.platform === 'local' ? localServiceStatus(target.dir) : await serviceStatus(serviceApiFor(globals));
    // Traffic: client -> service bytes (bytesOut), back (bytesIn), flows, median time to first byte, errors.
    const pairs = pairTraffic(await publishedTraffic(target, globals));
    const entries = found.map((e) => ({ ...e, traffic: serviceTraffic(pairs, e.address, routerAddressesOf(e)) }));
    report(io, globals, entries, () => {
      if (entries.length === 0) return 'No services exposed in the network yet.';
      const forwards = entries.some((e) => 'forwardedTo' in e && e.forwardedTo);
      return table(
        [
          'ADDRESS',
          'PROTOCOL',
          'PORTS',
          'HERE',
          'FLOWS (ACTIVE/TOTAL)',
          'BYTES OUT/IN',
          'TTFB P50',
          'ERRORS',
          'TARGETS / EXPOSED IN',
          ...(forwards ? ['FORWARDED TO'] : []),
        ],
        entries.map((e) => [
          e.address,
          e.protocol,
          e.ports.join(','),
          e.local ? 'local' : 'remote',
          `${e.traffic.flowsActive}/${e.traffic.flowsTotal}`,
          `${formatBytes(e.traffic.bytesOut)}/${formatBytes(e.traffic.bytesIn)}`,
          formatMs(e.traffic.ttfbMsP50),
          String(e.traffic.errors),
          e.local ? (e.targets ?? []).join(', ') : (e.exposedIn ?? []).join(', '),
          ...(forwards ? [String(('forwardedTo' in e && e.forwardedTo) || '')] : []),
        ]),
      );
    });
  },
};
