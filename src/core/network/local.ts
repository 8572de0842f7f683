// Local sites (the router as a process on this machine): read from their folders into SiteRecords,
// the same shape as cluster sites, so the trees and the topology draw them alike.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { servicesData } from '../service/definition';
import { type Forward, readLocalServices } from '../service/local';
import { listLocalSites, localHome, localPid, localSiteDir, readLocalSite } from '../site/local';
import { SITE_CONFIGMAP } from '../site/names';
import { buildSite, type KubeObject } from './model';
import type { SiteRecord, SiteService } from './types';

const read = (file: string): string | undefined => {
  try {
    return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  } catch {
    return undefined;
  }
};

export function localSitesHome(env: NodeJS.ProcessEnv = process.env): string {
  return join(localHome(env), 'sites');
}

export function readLocalSites(env: NodeJS.ProcessEnv = process.env): SiteRecord[] {
  const out: SiteRecord[] = [];
  for (const name of listLocalSites(env)) {
    const dir = localSiteDir(name, env);
    try {
      const rec = readLocalSite(dir);
      if (!rec) continue;
      const links: KubeObject[] = [];
      const linkDir = join(dir, 'links');
      if (existsSync(linkDir)) {
        for (const f of readdirSync(linkDir).filter((x) => /\.ya?ml$|\.json$/.test(x))) {
          try {
            const secret = parse(readFileSync(join(linkDir, f), 'utf8')) as KubeObject;
            if (secret?.metadata?.name) links.push(secret);
          } catch {
            // a half-written file: next read
          }
        }
      }
      // one read of services.json and forwards.json (a bad entry is left out, as the agent leaves it out)
      const own = readLocalServices(dir);
      const status: Record<string, string> = {};
      const siteJson = read(join(dir, 'status', 'site.json'));
      const networkJson = read(join(dir, 'network.json')) ?? read(join(dir, 'status', 'network.json'));
      if (siteJson) status['site.json'] = siteJson;
      if (networkJson) status['network.json'] = networkJson;
      const site = buildSite({
        context: 'local',
        namespace: dir,
        site: { metadata: { name: SITE_CONFIGMAP, uid: rec.id }, data: { name: rec.name, id: rec.id, ingress: rec.ingress } },
        linkSecrets: links,
        services: { data: servicesData(own.definitions) },
        status: siteJson || networkJson ? { data: status } : undefined,
      });
      out.push({
        ...site,
        services: withForwards(site.services, own.forwards),
        platform: 'local',
        context: undefined as unknown as string,
        ready: localPid(dir) !== undefined,
      });
    } catch {
      // unreadable site folder: skip it
    }
  }
  return out;
}

/** Marks the services this laptop forwards (forwards.json) with where it reaches them; a forward of a
 *  service the network does not list (yet) shows too, so the person sees the port they chose. */
function withForwards(services: SiteService[], forwards: Forward[]): SiteService[] {
  const out = services.map((s) => ({ ...s }));
  for (const f of forwards) {
    const at = `${f.host}:${f.port}`;
    const known = out.find((s) => s.address === f.address);
    if (known) known.forwardedTo = at;
    else out.push({ address: f.address, protocol: 'tcp', ports: [], exposedHere: false, targets: [], forwardedTo: at });
  }
  return out.sort((a, b) => a.address.localeCompare(b.address));
}
