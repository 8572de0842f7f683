// Links: from a token file to a link Secret the site's router connects with; delete; status. Every
// refusal is one line and happens before anything is written.
import { humanSpan } from '../pki';
import { type ClaimRefused, redeemClaimToken } from '../token/claimsClient';
import { offlineProblems, parseToken, TokenError } from '../token/token';
import {
  ANN_CERT_EXPIRY,
  ANN_COST,
  ANN_EDGE_HOST,
  ANN_EDGE_PORT,
  ANN_GENERATED_BY,
  ANN_INTER_ROUTER_HOST,
  ANN_INTER_ROUTER_PORT,
  ANN_REMOTE_SITE_NAME,
  ANN_SITE_VERSION,
  ANN_VAN_VERSION,
  type CertToken,
  type SecretManifest,
  SITE_VERSION,
  VAN_VERSION,
  type Token,
  TYPE_CERT,
  TYPE_LABEL,
} from '../token/types';
import { UserError } from '../errors';
import { printable } from '../text';
import type { LinkSite, PublishedConnection, SiteStatusDoc } from './site';

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

/** The link Secret made from a cert token (the router's connector reads it). */
export function linkSecret(token: CertToken, name: string, cost: number): SecretManifest {
  const annotations: Record<string, string> = {
    [ANN_INTER_ROUTER_HOST]: token.interRouter.host,
    [ANN_INTER_ROUTER_PORT]: String(token.interRouter.port),
    [ANN_COST]: String(cost),
    [ANN_GENERATED_BY]: token.issuer.id,
    [ANN_SITE_VERSION]: SITE_VERSION,
    [ANN_VAN_VERSION]: VAN_VERSION,
  };
  if (token.issuer.name) annotations[ANN_REMOTE_SITE_NAME] = token.issuer.name;
  if (token.edge) {
    annotations[ANN_EDGE_HOST] = token.edge.host;
    annotations[ANN_EDGE_PORT] = String(token.edge.port);
  }
  if (token.expires) annotations[ANN_CERT_EXPIRY] = token.expires.toISOString();
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: { name, labels: { [TYPE_LABEL]: TYPE_CERT }, annotations },
    data: { 'tls.crt': b64(token.certPem), 'tls.key': b64(token.keyPem), 'ca.crt': b64(token.caPem) },
  };
}

/** link1, link2, …: the first free one. */
export function nextLinkName(existing: string[]): string {
  const taken = new Set(existing);
  for (let i = 1; ; i++) if (!taken.has(`link${i}`)) return `link${i}`;
}

/** The link (if any) that already connects to the site `remoteId`. */
export function duplicateOf(links: SecretManifest[], remoteId: string): SecretManifest | undefined {
  return links.find((l) => l.metadata.annotations?.[ANN_GENERATED_BY] === remoteId);
}

/** Refusals knowable before redeeming: the token's own state, self links and duplicates. */
export function checkLinkable(
  token: Token,
  self: { id: string; name: string },
  links: SecretManifest[],
  name: string | undefined,
  now = new Date(),
): void {
  const issuer = token.issuer.name ? `site ${token.issuer.name}` : `site ${token.issuer.id}`;
  if (token.issuer.id === self.id) {
    throw new UserError(
      `this token was issued by this very site (${self.name}): a site cannot link to itself; create the token on the other site and run "van link create" here`,
    );
  }
  const problems = offlineProblems(token, now);
  if (problems.length) throw new TokenError(`the token cannot be used: ${problems[0]}`);
  const dup = duplicateOf(links, token.issuer.id);
  if (dup) {
    throw new UserError(
      `this site is already linked to ${issuer} by link ${dup.metadata.name}: delete it first ("van link delete ${dup.metadata.name}") to link again`,
    );
  }
  if (name && links.some((l) => l.metadata.name === name)) {
    throw new UserError(`a link named ${name} already exists here: choose another --name or delete it first`);
  }
}

export interface CreateLinkOptions {
  name?: string;
  cost?: number;
  source?: string;
  now?: Date;
  redeemTimeoutMs?: number;
}

export interface CreateLinkResult {
  name: string;
  remoteSite: { id: string; name?: string };
  endpoint: string;
  /** Set when a claim was redeemed: how long redemption took (ms). */
  redeemMs?: number;
  via: 'claim' | 'cert';
  claimUrl?: string;
}

export async function createLink(site: LinkSite, tokenText: string, options: CreateLinkOptions = {}): Promise<CreateLinkResult> {
  const cost = options.cost ?? 1;
  if (!Number.isFinite(cost) || cost < 1) throw new UserError(`--cost must be a number of at least 1 (got ${options.cost})`);
  const token = parseToken(tokenText, options.source);
  const self = await site.identity();
  const links = await site.listLinks();
  checkLinkable(token, self, links, options.name, options.now);
  let cert: CertToken;
  let redeemMs: number | undefined;
  if (token.type === 'claim') {
    const started = performance.now();
    try {
      cert = await redeemClaimToken(token, { siteId: self.id, siteName: self.name, timeoutMs: options.redeemTimeoutMs });
    } catch (e) {
      const refused = e as ClaimRefused;
      throw new UserError(`${refused.message}`);
    }
    redeemMs = performance.now() - started;
    if (cert.issuer.id !== token.issuer.id) {
      throw new UserError(
        `the claim was answered by site ${cert.issuer.name ?? cert.issuer.id}, not by ${token.issuer.name ?? token.issuer.id} that issued the token: refusing it`,
      );
    }
  } else {
    cert = token;
  }
  // the list may have changed while redeeming (two link creates at once)
  const now = await site.listLinks();
  const name = options.name ?? nextLinkName(now.map((l) => l.metadata.name));
  const dup = duplicateOf(now, cert.issuer.id);
  if (dup)
    throw new UserError(
      `this site was linked to site ${cert.issuer.name ?? cert.issuer.id} by link ${dup.metadata.name} meanwhile: nothing written`,
    );
  await site.saveLink(linkSecret(cert, name, cost));
  return {
    name,
    remoteSite: cert.issuer,
    endpoint: `${cert.interRouter.host}:${cert.interRouter.port}`,
    redeemMs,
    via: token.type,
    claimUrl: token.type === 'claim' ? token.url : undefined,
  };
}

/** A Secret name (DNS subdomain): what every link is named; nothing else reaches a path or an API URL. */
const LINK_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export function checkLinkName(name: string): string {
  if (!LINK_NAME.test(name)) {
    throw new UserError(
      `"${printable(name, 80)}" is not a link name (lower case letters, digits, '-' and '.'): see "van link status" for the links here`,
    );
  }
  return name;
}

export async function deleteLink(site: LinkSite, name: string): Promise<void> {
  checkLinkName(name);
  const gone = await site.deleteLink(name);
  if (!gone) {
    const names = (await site.listLinks()).map((l) => l.metadata.name);
    throw new UserError(`no link ${name}; ${names.length ? `links here: ${names.join(', ')}` : 'this site has no links'}`);
  }
}

// ---------------------------------------------------------------------------------------------------
// Status

export interface LinkStatusRow {
  name: string;
  direction: 'outgoing' | 'incoming';
  connected: boolean;
  state: 'connecting' | 'up' | 'down' | 'unknown';
  remoteSite: string | null;
  remoteSiteId: string | null;
  cost: number;
  error: string | null;
  since: string | null;
  endpoint?: string;
}

export interface LinkStatusReport {
  site: { id: string; name: string };
  links: LinkStatusRow[];
  /** Set when the published status is missing or old. */
  warning?: string;
  updated?: string;
}

export const STALE_AFTER_MS = 30_000;

/** Joins the link Secrets with the published router status. Pure. */
export function buildLinkStatus(
  self: { id: string; name: string },
  links: SecretManifest[],
  status: SiteStatusDoc | undefined,
  now = new Date(),
): LinkStatusReport {
  const rows: LinkStatusRow[] = [];
  const conns = status?.connections ?? [];
  const outgoing = new Map<string, PublishedConnection>();
  for (const c of conns) if (c.direction === 'outgoing' && c.name) outgoing.set(c.name, c);
  for (const secret of [...links].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
    const ann = secret.metadata.annotations ?? {};
    const name = secret.metadata.name;
    const c = outgoing.get(name);
    const cost = Number(ann[ANN_COST] ?? c?.cost ?? 1) || 1;
    const state = c ? c.state : status ? 'connecting' : 'unknown';
    rows.push({
      name,
      direction: 'outgoing',
      connected: state === 'up',
      state,
      remoteSite: c?.remoteSiteName ?? ann[ANN_REMOTE_SITE_NAME] ?? null,
      remoteSiteId: c?.remoteSiteId ?? ann[ANN_GENERATED_BY] ?? null,
      cost,
      error: c?.lastError ?? (status && !c ? 'the router has not picked up this link yet' : null),
      since: c?.since ?? null,
      endpoint: `${ann[ANN_INTER_ROUTER_HOST] ?? '?'}:${ann[ANN_INTER_ROUTER_PORT] ?? '?'}`,
    });
  }
  const incoming = conns.filter((c) => c.direction === 'incoming' && (c.role === 'inter-router' || c.role === 'edge'));
  for (const c of incoming.sort((a, b) => (a.remoteSiteName ?? '').localeCompare(b.remoteSiteName ?? ''))) {
    rows.push({
      name: c.name ?? `from ${c.remoteSiteName ?? c.remoteSiteId ?? c.host}`,
      direction: 'incoming',
      connected: c.state === 'up',
      state: c.state,
      remoteSite: c.remoteSiteName ?? null,
      remoteSiteId: c.remoteSiteId ?? null,
      cost: c.cost ?? 1,
      error: c.lastError ?? null,
      since: c.since ?? null,
    });
  }
  let warning: string | undefined;
  if (!status) {
    warning = 'the site has not published its link status yet (is the router running?): states are unknown';
  } else {
    const age = now.getTime() - new Date(status.updated).getTime();
    if (!(age < STALE_AFTER_MS)) {
      warning = `the link status was last published ${Number.isFinite(age) ? `${humanSpan(age)} ago` : 'at an unknown time'}: the router may be down, states may be out of date`;
    }
  }
  return { site: self, links: rows, warning, updated: status?.updated };
}

export function formatLinkStatus(report: LinkStatusReport, now = new Date()): string {
  const lines: string[] = [];
  const out = report.links.filter((l) => l.direction === 'outgoing');
  const inc = report.links.filter((l) => l.direction === 'incoming');
  if (report.warning) lines.push(`Warning: ${report.warning}`);
  const since = (s: string | null) => (s ? ` (since ${humanSpan(Math.max(0, now.getTime() - new Date(s).getTime()))} ago)` : '');
  if (out.length === 0) lines.push(`Site ${report.site.name} has no outgoing links.`);
  for (const l of out) {
    const to = l.remoteSite ? ` to ${l.remoteSite}` : '';
    const cost = l.cost !== 1 ? `, cost ${l.cost}` : '';
    if (l.connected) lines.push(`Link ${l.name}${to} is active${since(l.since)}${cost}`);
    else if (l.state === 'unknown') lines.push(`Link ${l.name}${to}: state unknown${cost}`);
    else
      lines.push(
        `Link ${l.name}${to} is not active${l.state === 'connecting' ? ' (connecting)' : ''}${since(l.since)}${cost}${l.error ? `: ${l.error}` : ''}`,
      );
  }
  if (inc.length) {
    lines.push('Incoming links:');
    for (const l of inc)
      lines.push(
        `  from ${l.remoteSite ?? l.remoteSiteId ?? 'an unnamed site'}: ${l.connected ? 'active' : l.state}${since(l.since)}${l.error ? `: ${l.error}` : ''}`,
      );
  } else {
    lines.push('No incoming links.');
  }
  return lines.join('\n');
}

/** Polls the published status until the link is up or the time is over. */
export async function waitForLink(
  site: LinkSite,
  name: string,
  timeoutMs: number,
  intervalMs = 200,
): Promise<{ connected: boolean; error: string | null; elapsedMs: number }> {
  const started = Date.now();
  const self = await site.identity();
  let last: LinkStatusRow | undefined;
  for (;;) {
    const [links, status] = await Promise.all([site.listLinks(), site.readStatus()]);
    last = buildLinkStatus(self, links, status).links.find((l) => l.name === name && l.direction === 'outgoing');
    if (last?.connected) return { connected: true, error: null, elapsedMs: Date.now() - started };
    if (Date.now() - started >= timeoutMs) return { connected: false, error: last?.error ?? null, elapsedMs: Date.now() - started };
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
