// The agent's site store for a local site: its folder (see src/core/site/local.ts for the layout).
import { existsSync, readFileSync, readdirSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { type LocalSiteRecord, readLocalSite } from '../site/local';
import type { AgentOptions } from './agent';
import { type LinkSpec, linkFromSecret } from './routerConfig';
import type { SiteStore, StoredSite } from './store';

export class LocalSiteStore implements SiteStore {
  readonly platform = 'local' as const;

  constructor(
    readonly dir: string,
    private readonly pollMs = 2000,
  ) {}

  async readSite(): Promise<StoredSite | undefined> {
    const site = readLocalSite(this.dir);
    return site ? { id: site.id, name: site.name, mode: site.mode, ingress: site.ingress } : undefined;
  }

  async readLinks(): Promise<LinkSpec[]> {
    const dir = join(this.dir, 'links');
    if (!existsSync(dir)) return [];
    const links: LinkSpec[] = [];
    for (const file of readdirSync(dir)
      .filter((f) => /\.(ya?ml|json)$/.test(f))
      .sort()) {
      try {
        const secret = parse(readFileSync(join(dir, file), 'utf8'));
        if (!secret?.metadata?.name) secret.metadata = { ...(secret.metadata ?? {}), name: file.replace(/\.(ya?ml|json)$/, '') };
        links.push(linkFromSecret(secret));
      } catch {
        // A file being written: the next change picks it up.
      }
    }
    return links;
  }

  watch(onChange: (why: string) => void): () => void {
    const watchers: FSWatcher[] = [];
    for (const dir of [this.dir, join(this.dir, 'links')]) {
      try {
        watchers.push(watch(dir, () => onChange(`${dir} changed`)));
      } catch {
        // polling below
      }
    }
    const timer = setInterval(() => onChange('poll'), this.pollMs);
    timer.unref();
    return () => {
      clearInterval(timer);
      watchers.forEach((w) => w.close());
    };
  }
}

/** The agent's facts about a local site that its store does not hold: router id, hosts, ports, TLS files. */
export function localAgentSite(dir: string, site: LocalSiteRecord): AgentOptions['site'] {
  return {
    routerId: `${site.name}-${site.id.slice(0, 8)}`,
    listenHost: site.host,
    localHost: '127.0.0.1',
    serverTls: { ca: join(dir, 'server', 'ca.crt'), cert: join(dir, 'server', 'tls.crt'), key: join(dir, 'server', 'tls.key') },
    interRouterPort: site.ports.interRouter,
    edgePort: site.ports.edge,
    localAmqpPort: site.ports.amqp,
    // Plain AMQP on 127.0.0.1 would let any local user publish as this site: clients present the
    // site's certificate (server/tls.crt and tls.key, readable by the owner only).
    localAmqpMutualTls: true,
  };
}
