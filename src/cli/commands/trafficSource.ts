// Where the traffic verbs read from: the network.json the site published (a cluster site's status
// ConfigMap, a laptop site's folder). Traffic is extra information: a site that has not published yet
// gives none rather than an error (the verbs that need it say so themselves).
import type { GlobalOptions } from '../command';
import { serviceApiFor } from '../../core/service/api';
import { readNetworkJson } from '../../core/service/expose';
import { readLocalPublished } from '../../core/site/local';
import { type TrafficBySite, trafficOfNetwork } from '../../core/network/traffic';
import type { SiteTarget } from './siteTarget';

export async function publishedNetwork(target: SiteTarget, globals: GlobalOptions): Promise<Record<string, unknown> | undefined> {
  if (target.platform === 'local') return readLocalPublished(target.dir)?.network;
  return (await readNetworkJson(serviceApiFor(globals))) as Record<string, unknown> | undefined;
}

export async function publishedTraffic(target: SiteTarget, globals: GlobalOptions): Promise<TrafficBySite> {
  try {
    return trafficOfNetwork(await publishedNetwork(target, globals));
  } catch {
    return {};
  }
}
