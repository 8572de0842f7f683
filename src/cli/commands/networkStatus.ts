// van network status: the network as the site's agent last published it (sites, links, services).
import { type CliCommand, report } from '../command';
import { UserError } from '../../core/errors';
import { serviceApiFor } from '../../core/service/api';
import { readNetworkJson, readServicesConfigMap } from '../../core/service/expose';
import { readLocalPublished, readLocalSite } from '../../core/site/local';
import { platformFlags, siteTarget } from './siteTarget';
import { table } from './table';
import {
  formatBytes,
  formatMs,
  pairTraffic,
  routerAddressesOf,
  serviceTraffic,
  sitePairTraffic,
  trafficOfNetwork,
  type TrafficSummary,
} from '../../core/network/traffic';

interface Site {
  id: string;
  name: string;
  namespace?: string;
  platform?: string;
  routers?: { id: string }[];
  lastSeen?: string;
}
interface Link {
  name: string;
  fromSiteId: string;
  toSiteId?: string;
  toSiteName?: string;
  state: string;
  cost?: number;
  error?: string;
}
interface Service {
  address: string;
  protocol: string;
  ports: number[];
  exposedIn?: string[];
  consumedIn?: string[];
  flows?: number;
  bytes?: number;
}

export const networkStatusCommand: CliCommand = {
  path: ['network', 'status'],
  usage: 'network status [--platform kubernetes|local] [--site-name N]',
  summary: 'the whole network: sites, links, services',
  available: true,
  flags: { ...platformFlags },
  async run(args, globals, io) {
    const target = siteTarget(args, globals);
    let network: Awaited<ReturnType<typeof readNetworkJson>>;
    if (target.platform === 'local') {
      if (!readLocalSite(target.dir)) throw new UserError(`no local site ${target.name}`);
      network = readLocalPublished(target.dir)?.network as typeof network;
      if (!network)
        throw new UserError(
          `local site ${target.name} has not published its network status yet: is its router running? (van site start --site-name ${target.name})`,
        );
    } else {
      const api = serviceApiFor(globals);
      await readServicesConfigMap(api); // "no site here"
      network = await readNetworkJson(api);
      if (!network)
        throw new UserError(
          `the site in namespace ${api.namespace} has not published its network status yet: is its router running? (van status)`,
        );
    }
    const sites = (network.sites ?? []) as Site[];
    const links = (network.links ?? []) as Link[];
    const pairs = pairTraffic(trafficOfNetwork(network));
    const services = ((network.services ?? []) as Service[]).map((s) => ({
      ...s,
      traffic: serviceTraffic(pairs, s.address, routerAddressesOf(s)),
    }));
    const sitePairs = sitePairTraffic(pairs).map(({ sourceSite, destSite, ...traffic }) => ({ sourceSite, destSite, traffic }));
    // The per-site counters as published are compact rows: -o json gives them summed per service and site pair.
    const { traffic: _raw, ...rest } = network as Record<string, unknown>;
    void _raw;
    const shown = { ...rest, services, sitePairs };
    const cells = (t: TrafficSummary) => [
      `${t.flowsActive}/${t.flowsTotal}`,
      `${formatBytes(t.bytesOut)}/${formatBytes(t.bytesIn)}`,
      formatMs(t.ttfbMsP50),
      String(t.errors),
    ];
    report(io, globals, shown, () => {
      const name = (id: string | undefined) => (id ? (sites.find((s) => s.id === id)?.name ?? id) : '?');
      const parts = [`Network status (published ${network.updated ?? 'never'})`, '', `Sites (${sites.length}):`];
      parts.push(
        table(
          ['NAME', 'NAMESPACE', 'PLATFORM', 'ID', 'ROUTERS'],
          sites.map((s) => [s.name, s.namespace ?? '', s.platform ?? '', s.id, String(s.routers?.length ?? '')]),
        ),
      );
      parts.push('', `Links (${links.length}):`);
      if (links.length)
        parts.push(
          table(
            ['FROM', 'TO', 'NAME', 'STATE', 'COST', 'ERROR'],
            links.map((l) => [name(l.fromSiteId), l.toSiteName ?? name(l.toSiteId), l.name, l.state, String(l.cost ?? ''), l.error ?? '']),
          ),
        );
      parts.push('', `Services (${services.length}):`);
      if (services.length) {
        parts.push(
          table(
            ['ADDRESS', 'PROTOCOL', 'PORTS', 'EXPOSED IN', 'CONSUMED IN', 'FLOWS (ACTIVE/TOTAL)', 'BYTES OUT/IN', 'TTFB P50', 'ERRORS'],
            services.map((s) => [
              s.address,
              s.protocol,
              s.ports.join(','),
              (s.exposedIn ?? []).map(name).join(', '),
              (s.consumedIn ?? []).map(name).join(', '),
              ...cells(s.traffic),
            ]),
          ),
        );
      }
      if (sitePairs.length) {
        parts.push('', `Traffic between sites (${sitePairs.length} pairs):`);
        parts.push(
          table(
            ['FROM (CLIENTS)', 'TO (SERVICE)', 'FLOWS (ACTIVE/TOTAL)', 'BYTES OUT/IN', 'TTFB P50', 'ERRORS'],
            sitePairs.map((p) => [p.sourceSite, p.destSite, ...cells(p.traffic)]),
          ),
        );
      }
      return parts.join('\n');
    });
  },
};
