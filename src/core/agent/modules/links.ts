// The link modules of the site agent, run in the router pod (or the local site's process):
// - claims: the HTTPS claims endpoint (port 8081 on the pod IP) with the site's server certificate,
//   on sites that accept links only (an interior site with an ingress); it also notices a new server certificate (revoke-access) and has the agent restart its listeners
//   with it, dropping the links they had accepted;
// - link-status: publishes this router's connections into ConfigMap skupper-network-status, key
//   site.json (JSON merge patch on that key only), at most once a second, on every connection event,
//   and every 10 s as a heartbeat (so readers can tell a stale status); locally into status/site.json.
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorMessage } from '../../errors';
import type { KubeClient, KubeObject } from '../../kube/client';
import type { AgentContext, AgentModule } from '../agent';
import type { ConnectionStatus } from '../../router/api';
import { type StatusKube, patchStatusKeys } from '../statusPublisher';
import { readLocalSite } from '../../site/local';
import { CLAIMS_PORT, SITE_CONFIGMAP, SITE_SERVER_SECRET, acceptsLinks } from '../../site/names';
import { ClaimsServer } from '../../token/claimsServer';
import { KeyPool } from '../../pki';
import { GateClient } from '../../controller/gateClient';
import { certIssuer } from '../../link/issuer';
import { KubeLinkSite, SITE_STATUS_KEY } from '../../link/kubeSite';
import { LOCAL_STATUS_FILE, LocalLinkSite } from '../../link/localSite';
import type { LinkSite, PublishedConnection, SiteStatusDoc } from '../../link/site';
import { secretText } from '../../link/site';

interface ConnectionLike {
  name?: string;
  role: string;
  direction: 'outgoing' | 'incoming';
  host: string;
  port: number;
  state: 'connecting' | 'up' | 'down';
  since: string | number;
  remoteSiteId?: string;
  remoteSiteName?: string;
  cost: number;
  lastError?: string;
}

function isKube(kube: unknown): kube is KubeClient {
  return typeof kube === 'object' && kube !== null && 'core' in kube && 'namespace' in kube;
}

function linkSiteOf(ctx: AgentContext): LinkSite {
  return isKube(ctx.kube) ? new KubeLinkSite(ctx.kube) : new LocalLinkSite(ctx.namespace);
}

const sha = (...parts: string[]) => createHash('sha256').update(parts.join('\0')).digest('hex');

// ---------------------------------------------------------------------------------------------------
// Claims

interface ServerTls {
  cert: string;
  key: string;
  ca: string;
}

async function readServerTls(ctx: AgentContext): Promise<ServerTls> {
  if (isKube(ctx.kube)) {
    const secret = await ctx.kube.get<KubeObject>('Secret', SITE_SERVER_SECRET);
    const s = secret as unknown as { data?: Record<string, string> } | undefined;
    const cert = s && secretText(s, 'tls.crt');
    const key = s && secretText(s, 'tls.key');
    if (cert && key) return { cert, key, ca: (s && secretText(s, 'ca.crt')) ?? '' };
  }
  return {
    cert: readFileSync(ctx.serverTls.cert, 'utf8'),
    key: readFileSync(ctx.serverTls.key, 'utf8'),
    ca: existsSync(ctx.serverTls.ca) ? readFileSync(ctx.serverTls.ca, 'utf8') : '',
  };
}

export interface ClaimsModuleOptions {
  /** How often the server certificate is checked for a change (revoke-access). */
  pollMs?: number;
  port?: number;
}

export function claimsModule(options: ClaimsModuleOptions = {}): AgentModule {
  let server: ClaimsServer | undefined;
  let timer: NodeJS.Timeout | undefined;
  let dir: string | undefined;
  let generation = 0;
  return {
    name: 'claims',
    async start(ctx) {
      // A site that accepts no links has no claim to redeem: open no port for strangers.
      if (!acceptsLinks(ctx.site.mode, ctx.site.ingress)) return;
      const site = linkSiteOf(ctx);
      const identity = { id: ctx.site.id, name: ctx.site.name };
      // In a router pod the controller container redeems: the claim records and the CA are its.
      const redeem = ctx.kube instanceof GateClient ? ctx.kube.redeem : undefined;
      // Else one key made ahead: a redemption then costs a signature, not an RSA key generation.
      const keys = redeem ? undefined : new KeyPool(1).warm();
      let tls = await readServerTls(ctx);
      let hash = sha(tls.cert, tls.key);
      const port = options.port ?? (ctx.platform === 'local' ? (readLocalSite(ctx.namespace)?.ports.claims ?? CLAIMS_PORT) : CLAIMS_PORT);
      server = new ClaimsServer({
        store: site.claims(),
        tls: { cert: tls.cert, key: tls.key },
        host: ctx.listenHost,
        port,
        issue: certIssuer(site, identity, keys),
        redeem,
        event: (e) => ctx.events.record(e.type, e.reason, e.message),
      });
      await server.listen();
      dir = mkdtempSync(join(tmpdir(), 'skupper-server-tls-'));
      chmodSync(dir, 0o700);
      const check = async () => {
        try {
          const next = await readServerTls(ctx);
          const h = sha(next.cert, next.key);
          if (h === hash) return;
          hash = h;
          tls = next;
          server?.setTls(next.cert, next.key);
          // Files of our own: a Secret volume is refreshed late (or never, locally the files are rewritten in place).
          const folder = join(dir!, String(++generation));
          mkdirSync(folder, { mode: 0o700 });
          const files = { ca: join(folder, 'ca.crt'), cert: join(folder, 'tls.crt'), key: join(folder, 'tls.key') };
          writeFileSync(files.ca, next.ca, { mode: 0o600 });
          writeFileSync(files.cert, next.cert, { mode: 0o600 });
          writeFileSync(files.key, next.key, { mode: 0o600 });
          ctx.events.record(
            'Normal',
            'CertificatesRotated',
            'new site CA and server certificate: links accepted with the old ones are closed',
          );
          await ctx.setServerTls?.(files, true);
          if (generation > 1) rmSync(join(dir!, String(generation - 1)), { recursive: true, force: true });
        } catch (error) {
          ctx.events.record('Warning', 'CertificateReloadFailed', `cannot reload the server certificate: ${errorMessage(error)}`);
        }
      };
      const tick = () => {
        timer = setTimeout(() => void check().finally(() => server && tick()), options.pollMs ?? 1000);
        timer.unref?.();
      };
      tick();
    },
    async stop() {
      clearTimeout(timer);
      const s = server;
      server = undefined;
      await s?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Link status

export function statusDoc(site: { id: string; name: string }, connections: ConnectionLike[], now = new Date()): SiteStatusDoc {
  const conns: PublishedConnection[] = connections
    .filter((c) => c.role === 'inter-router' || c.role === 'edge')
    .map((c) => ({
      ...(c.name ? { name: c.name } : {}),
      role: c.role,
      direction: c.direction,
      host: c.host,
      port: c.port,
      state: c.state,
      since: typeof c.since === 'number' ? new Date(c.since).toISOString() : c.since,
      ...(c.remoteSiteId ? { remoteSiteId: c.remoteSiteId } : {}),
      ...(c.remoteSiteName ? { remoteSiteName: c.remoteSiteName } : {}),
      cost: c.cost,
      ...(c.lastError ? { lastError: c.lastError } : {}),
    }));
  return { siteId: site.id, siteName: site.name, updated: now.toISOString(), connections: conns };
}

export interface LinkStatusModuleOptions {
  minIntervalMs?: number;
  heartbeatMs?: number;
}

export function linkStatusModule(options: LinkStatusModuleOptions = {}): AgentModule {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;
  let last = 0;
  let busy: Promise<void> = Promise.resolve();
  const previous = new Map<string, string>();
  return {
    name: 'link-status',
    async start(ctx) {
      stopped = false;
      const router = ctx.router;
      const site = { id: ctx.site.id, name: ctx.site.name };
      const minInterval = options.minIntervalMs ?? 1000;
      const kube = isKube(ctx.kube) ? ctx.kube : undefined;
      let ownerUid: string | undefined;
      const uid = async () => {
        if (ownerUid || !kube) return ownerUid;
        ownerUid = (await kube.get<KubeObject>('ConfigMap', SITE_CONFIGMAP))?.metadata.uid;
        return ownerUid;
      };
      const publish = async () => {
        const connections = router.status().connections;
        const doc = statusDoc(site, connections);
        const text = JSON.stringify(doc);
        if (kube) {
          await patchStatusKeys(kube as unknown as StatusKube, kube.namespace, { [SITE_STATUS_KEY]: text }, uid);
        } else {
          const file = join(ctx.namespace, LOCAL_STATUS_FILE);
          mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
          const tmp = `${file}.${process.pid}.tmp`;
          writeFileSync(tmp, text);
          renameSync(tmp, file);
        }
      };
      const run = () => {
        clearTimeout(timer);
        timer = undefined;
        last = Date.now();
        busy = busy
          .then(publish)
          .catch((error) => ctx.events.record('Warning', 'StatusError', `cannot publish the link status: ${errorMessage(error)}`));
      };
      const request = () => {
        if (stopped || timer) return;
        const wait = Math.max(0, last + minInterval - Date.now());
        timer = setTimeout(run, wait);
      };
      const onConnection = (c: ConnectionStatus) => {
        if (c.role === 'inter-router' || c.role === 'edge') {
          const key = `${c.direction}/${c.name ?? c.remoteSiteId ?? c.host}`;
          const state = `${c.state}|${c.lastError ?? ''}`;
          if (previous.get(key) !== state) {
            previous.set(key, state);
            const who =
              c.direction === 'outgoing'
                ? `link ${c.name ?? '?'}${c.remoteSiteName ? ` to ${c.remoteSiteName}` : ''}`
                : `incoming link from ${c.remoteSiteName ?? c.remoteSiteId ?? c.host}`;
            if (c.state === 'up') ctx.events.record('Normal', 'LinkUp', `${who} is active`);
            else if (c.state === 'down') ctx.events.record('Warning', 'LinkDown', `${who} is down${c.lastError ? `: ${c.lastError}` : ''}`);
          }
        }
        request();
      };
      router.events.on('connection', onConnection);
      unsubscribe = () => router.events.off('connection', onConnection);
      heartbeat = setInterval(request, options.heartbeatMs ?? 10_000);
      heartbeat.unref?.();
      run();
      await busy;
    },
    async stop() {
      stopped = true;
      unsubscribe?.();
      clearTimeout(timer);
      clearInterval(heartbeat);
      await busy;
    },
  };
}

/** Both modules, as main.ts adds them. */
export function linkAgentModules(): AgentModule[] {
  return [claimsModule(), linkStatusModule()];
}
