// The one place where the extension calls into src/core for actions. Each function is thin: it maps the
// extension's arguments onto the core's API. Actions whose core has not landed throw NotAvailable.
import { refuseOnV2Site } from '../core/v2/mode';
import { type SiteEvent, parseEvents } from '../core/agent/events';
import { Cancelled, NotFound, UserError } from '../core/errors';
import { KubeClient } from '../core/kube/client';
import { KubeLinkSite } from '../core/link/kubeSite';
import { LocalLinkSite } from '../core/link/localSite';
import type { LinkSite } from '../core/link/site';
import {
  deleteLocalSite,
  initLocalSite,
  localSiteDir,
  localSiteStatus,
  readLocalPublished,
  readLocalSite,
  startLocalSite,
  stopLocalSite,
} from '../core/site/local';
import { exposeHost, forwardService, unexposeHost, unforwardService } from '../core/service/local';
import { createLink, deleteLink, waitForLink } from '../core/link/link';
import { expose, readDefinitions, readWorkload, unexpose } from '../core/service/expose';
import type { WorkloadKind } from '../core/service/plan';
import { InitCleanupFailed, deleteSite, initSite, siteStatus, type SiteStatus } from '../core/site/kube';
import { findDeclaredSite } from '../core/site/declared';
import { readSiteEvents } from '../core/site/events';
import type { Ingress } from '../core/site/names';
import { createToken } from '../core/token/issue';
import { parseDuration, tokenYaml } from '../core/token/token';
import { printable } from '../core/text';
import { writeTokenFile } from '../core/token/tokenFile';

function statusText(s: SiteStatus, where: string): string {
  if (!s.enabled || !s.site) return `Skupper is not enabled in ${where}`;
  const lines = [
    `Site "${s.site.name}" in ${where} (${s.site.mode} mode): ${s.links} link(s), ${s.services} exposed service(s)${s.ready ? '' : ' — not ready'}`,
    `Site id:  ${s.site.id}`,
    `Router:   ${s.routers ? `${s.routers.ready}/${s.routers.total} ready` : 'unknown'}`,
    `Ingress:  ${s.ingress ?? 'none'}${s.ingressAddress ? ` ${s.ingressAddress}` : ''}`,
  ];
  for (const p of s.problems) lines.push(`Problem:  ${p}`);
  return lines.join('\n');
}

/** Events as the Show Events document lists them, one a line, oldest first. */
function eventsText(events: SiteEvent[]): string {
  return events.length === 0
    ? 'No events yet.'
    : events.map((e) => printable(`${e.time}  ${e.type.padEnd(7)}  ${e.reason}  x${e.count}  ${e.message}`)).join('\n');
}

export class NotAvailable extends UserError {
  constructor(what: string) {
    super(`${what}: not available yet in this version`);
  }
}

export type Progress = (message: string) => void;

export interface Target {
  context: string;
  namespace: string;
  kubeconfig?: string;
  /** a local site: its folder (context and namespace are then labels only) */
  local?: { dir: string; name: string };
}

export interface InitOptions {
  siteName?: string;
  ingress?: string;
  routers?: number;
  routerImage?: string;
}

export interface TokenOptions {
  expiry?: string;
  uses?: number;
  type?: 'claim' | 'cert';
}

export interface LinkOptions {
  name?: string;
  cost?: number;
}

export interface ExposeOptions {
  kind: 'deployment' | 'statefulset' | 'service';
  name: string;
  ports: number[];
  targetPorts?: number[];
  protocol?: string;
  address?: string;
}

/** A laptop site exposes a port of a host it reaches (usually this machine). */
export interface ExposeHostOptions {
  host: string;
  address: string;
  ports: number[];
  targetPorts?: number[];
}

export interface ForwardOptions {
  address: string;
  port: number;
  host?: string;
}

export interface Adapter {
  init(t: Target, o: InitOptions, progress: Progress, signal?: AbortSignal): Promise<string>;
  /** The site a hand-written skupper-site ConfigMap declares in the target (not installed yet), or undefined. */
  declaredSite(t: Target): Promise<string | undefined>;
  deleteSite(t: Target, progress: Progress): Promise<string>;
  status(t: Target): Promise<string>;
  createToken(t: Target, o: TokenOptions): Promise<string /* YAML */>;
  /** Creates a token and writes it to `file` (0600); a claim whose file could not be written is deleted. */
  saveToken(t: Target, o: TokenOptions, file: string): Promise<void>;
  createLink(t: Target, tokenYaml: string, o: LinkOptions, progress: Progress): Promise<string /* link name */>;
  deleteLink(t: Target, name: string): Promise<void>;
  expose(t: Target, o: ExposeOptions): Promise<string>;
  exposeHost(t: Target, o: ExposeHostOptions): Promise<string>;
  forward(t: Target, o: ForwardOptions): Promise<string /* host:port */>;
  unforward(t: Target, address: string): Promise<void>;
  unexpose(t: Target, o: { kind?: string; name?: string; address?: string }): Promise<void>;
  revokeAccess(t: Target): Promise<string>;
  events(t: Target): Promise<string>;
  workloadExists(t: Target, kind: string, name: string): Promise<boolean | undefined>;
  startLocal(name: string, progress: Progress): Promise<string>;
  stopLocal(name: string): Promise<string>;
}

function client(t: Target): KubeClient {
  return KubeClient.forContext({ kubeconfig: t.kubeconfig, context: t.context, namespace: t.namespace });
}

const linkSite = (t: Target): LinkSite => (t.local ? new LocalLinkSite(t.local.dir) : new KubeLinkSite(client(t)));
const notLocal = (t: Target, what: string) => {
  if (t.local) throw new UserError(`${what} is not available for the laptop site ${t.local.name} yet`);
};

export const adapter: Adapter = {
  async declaredSite(t) {
    return t.local ? undefined : findDeclaredSite(client(t));
  },
  async init(t, o, progress, signal) {
    notLocal(t, 'Initialize Site');
    const c = client(t);
    const result = await initSite(c, {
      namespace: t.namespace,
      siteName: o.siteName,
      ingress: o.ingress as Ingress | undefined,
      routers: o.routers,
      routerImage: o.routerImage,
      progress,
      signal,
    }).catch((error: unknown) => {
      // Whatever broke while stopping (a request cut short), the user asked for it: no error toast.
      if (signal?.aborted && !(error instanceof InitCleanupFailed))
        throw new Cancelled('Initialize Site cancelled; what it had created was removed');
      throw error;
    });
    return `Site ${result.site.name} initialized in ${t.context}/${t.namespace}${result.ready ? '; its router is ready' : ' (router not ready yet)'}`;
  },
  async deleteSite(t, progress) {
    if (t.local) {
      const r = await deleteLocalSite(t.local.dir);
      return r.existed ? `Laptop site ${t.local.name} deleted${r.stopped ? ' (router stopped)' : ''}` : `no laptop site ${t.local.name}`;
    }
    const c = client(t);
    await refuseOnV2Site(c, 'Delete Site (delete the Site resource instead)');
    const r = await deleteSite(c, { progress });
    return r.existed
      ? `Site ${r.site?.name ?? ''} deleted from ${t.context}/${t.namespace}`
      : `no site in ${t.context}/${t.namespace}: nothing to delete`;
  },
  async status(t) {
    if (t.local) return statusText(await localSiteStatus(t.local.dir, t.local.name), `laptop site ${t.local.name}`);
    const s = await siteStatus(client(t));
    return statusText(s, `${t.context}/${t.namespace}`);
  },
  async createToken(t, o) {
    if (!t.local) await refuseOnV2Site(client(t), 'Create Token (apply an AccessGrant instead)');
    const created = await createToken(linkSite(t), {
      type: o.type ?? 'claim',
      expiryMs: parseDuration(o.expiry ?? '15m'),
      uses: o.uses ?? 1,
    });
    return tokenYaml(created.secret);
  },
  async saveToken(t, o, file) {
    if (!t.local) await refuseOnV2Site(client(t), 'Create Token (apply an AccessGrant instead)');
    const site = linkSite(t);
    const created = await createToken(site, { type: o.type ?? 'claim', expiryMs: parseDuration(o.expiry ?? '15m'), uses: o.uses ?? 1 });
    try {
      writeTokenFile(file, tokenYaml(created.secret));
    } catch (error) {
      if ((o.type ?? 'claim') === 'claim')
        await site
          .claims()
          .delete(created.secret.metadata.name)
          .catch(() => false);
      throw error;
    }
  },
  async createLink(t, tokenYamlText, o, progress) {
    if (!t.local) await refuseOnV2Site(client(t), 'Create Link (apply an AccessToken instead)');
    const site = linkSite(t);
    const result = await createLink(site, tokenYamlText, { name: o.name, cost: o.cost, source: 'the token' });
    progress(`link ${result.name} configured to ${result.remoteSite.name ?? result.remoteSite.id}; waiting for it to come up`);
    const outcome = await waitForLink(site, result.name, 30_000);
    progress(
      outcome.connected ? `link ${result.name} is up` : `link ${result.name} not up yet${outcome.error ? `: ${outcome.error}` : ''}`,
    );
    return result.name;
  },
  async deleteLink(t, name) {
    await deleteLink(linkSite(t), name);
  },
  async expose(t, o) {
    notLocal(t, `expose ${o.kind}/${o.name} (a laptop site exposes ports of this machine)`);
    const def = await expose(client(t), {
      kind: o.kind,
      name: o.name,
      ports: o.ports,
      targetPorts: o.targetPorts,
      protocol: o.protocol,
      address: o.address,
    });
    return `${o.kind}/${o.name} exposed as ${def.address} (port ${def.ports.join(', ')}) from ${t.context}/${t.namespace}`;
  },
  async exposeHost(t, o) {
    if (!t.local) throw new UserError(`${t.context}/${t.namespace} is a cluster site: expose a Deployment, StatefulSet or Service there`);
    const def = exposeHost(t.local.dir, o);
    return `${o.host}:${o.targetPorts?.[0] ?? o.ports[0]} exposed as ${def.address} (port ${def.ports.join(', ')}) from laptop site ${t.local.name}`;
  },
  async forward(t, o) {
    if (!t.local)
      throw new UserError(`${t.context}/${t.namespace} is a cluster site: it makes a Service for every network service by itself`);
    const f = await forwardService(t.local.dir, o);
    return `${f.host}:${f.port}`;
  },
  async unforward(t, address) {
    if (!t.local) throw new UserError('only laptop sites forward services');
    unforwardService(t.local.dir, address);
  },
  async unexpose(t, o) {
    if (t.local) {
      unexposeHost(t.local.dir, { address: o.address });
      return;
    }
    const api = client(t);
    await refuseOnV2Site(api, 'Unexpose (delete the Connector instead)');
    let name = o.name;
    if (!name && o.address) {
      const def = (await readDefinitions(api)).find((d) => d.address === o.address);
      const target = def?.targets[0];
      if (!def || !target) throw new UserError(`${o.address} is not exposed from ${t.context}/${t.namespace}`);
      name = target.service ?? target.name ?? o.address;
    }
    if (!name) throw new UserError('say what to unexpose: a workload or an address');
    // Definitions are keyed by workload name: the kind is not needed to remove one.
    await unexpose(api, { name, address: o.address });
  },
  async revokeAccess(t) {
    const site = linkSite(t);
    const self = await site.identity();
    const { records } = await site.rotateCA();
    return `Site ${self.name}: new CA; ${records} unredeemed claim(s) deleted. Links made with earlier tokens drop; create new tokens to link again.`;
  },
  async events(t) {
    if (t.local) {
      const published = readLocalPublished(t.local.dir);
      if (!published)
        return `No events yet: the router of laptop site ${t.local.name} has not published its status (is it running? Start Laptop Site).`;
      const list = parseEvents(JSON.stringify(published.events));
      return eventsText(list);
    }
    return eventsText(await readSiteEvents(client(t)));
  },
  async startLocal(name, progress) {
    const dir = localSiteDir(name);
    if (!readLocalSite(dir)) {
      progress(`creating laptop site ${name}`);
      await initLocalSite({ siteName: name, ingress: 'loadbalancer' });
    }
    progress(`starting the router of ${name}`);
    const r = await startLocalSite(dir, { timeoutMs: 60_000 });
    return r.alreadyRunning ? `Laptop site ${name} is already running (pid ${r.pid})` : `Laptop site ${name} started (pid ${r.pid})`;
  },
  async stopLocal(name) {
    const stopped = await stopLocalSite(localSiteDir(name));
    return stopped ? `Laptop site ${name} stopped` : `Laptop site ${name} was not running`;
  },
  async workloadExists(t, kind, name) {
    if (t.local) return undefined;
    try {
      await readWorkload(client(t), kind as WorkloadKind, name);
      return true;
    } catch (e) {
      if (e instanceof NotFound) return false;
      return undefined;
    }
  },
};
