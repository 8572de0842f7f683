// The claims endpoint of a site: HTTPS (the site's server certificate), POST /<claim-name> with
// {"password", "siteId", "siteName"}; answers a cert token as JSON, or a refusal with its reason:
//   404 unknown · 410 expired / used-up · 403 wrong-password · 429 rate-limited · 400 bad-request.
// Wrong passwords (and unknown names) are counted per claim and per source address; too many in a
// window block that key for a while ("retry after N s").
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type ClaimStore,
  DEFAULT_RATE_LIMIT,
  FailureLimiter,
  type RateLimitOptions,
  redeemClaim,
  type RefusalReason,
  refusalStatus,
} from './claims';
import type { SecretManifest } from './types';

export interface ClaimRequest {
  claim: string;
  siteId?: string;
  siteName?: string;
  remoteAddress?: string;
}

export interface ClaimEvent {
  type: 'Normal' | 'Warning';
  reason: 'ClaimRedeemed' | 'ClaimRefused';
  message: string;
}

export interface ClaimsServerOptions {
  store: ClaimStore;
  tls: { cert: string; key: string };
  /** Makes the cert token handed to a successful redeemer. */
  issue(request: ClaimRequest): Promise<SecretManifest>;
  event?(event: ClaimEvent): void;
  /** Per claim. */
  limits?: RateLimitOptions;
  /** Per source address (several claims may be tried from one address): laxer by default. */
  addressLimits?: RateLimitOptions;
  host?: string;
  port?: number;
  clock?: () => number;
}

export interface ClaimAnswer {
  ok: boolean;
  reason?: RefusalReason | 'internal';
  message?: string;
  retryAfterSeconds?: number;
  token?: SecretManifest;
}

const MAX_BODY = 16 * 1024;

export class ClaimsServer {
  readonly server: https.Server;
  private readonly perClaim: FailureLimiter;
  private readonly perAddress: FailureLimiter;

  constructor(private readonly options: ClaimsServerOptions) {
    const limits = options.limits ?? DEFAULT_RATE_LIMIT;
    this.perClaim = new FailureLimiter(limits, options.clock);
    this.perAddress = new FailureLimiter(options.addressLimits ?? { ...limits, maxFailures: limits.maxFailures * 4 }, options.clock);
    this.server = https.createServer({ cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2' }, (req, res) => {
      this.handle(req, res).catch((e) => this.send(res, 500, { ok: false, reason: 'internal', message: `the claims endpoint failed: ${(e as Error).message}` }));
    });
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 15_000;
  }

  /** Starts listening; resolves with the bound port. */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port ?? 0, this.options.host ?? '0.0.0.0', () => {
        this.server.off('error', reject);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  /** New server certificate (revoke-access): new connections use it at once. */
  setTls(cert: string, key: string): void {
    this.server.setSecureContext({ cert, key, minVersion: 'TLSv1.2' });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections?.();
    });
  }

  private send(res: ServerResponse, status: number, body: ClaimAnswer): void {
    if (res.headersSent) return;
    const headers: Record<string, string> = { 'content-type': 'application/json', 'cache-control': 'no-store' };
    if (body.retryAfterSeconds) headers['retry-after'] = String(body.retryAfterSeconds);
    res.writeHead(status, headers);
    res.end(JSON.stringify(body));
  }

  private refuse(res: ServerResponse, reason: RefusalReason, message: string, request?: ClaimRequest, retryAfterSeconds?: number): void {
    const who = request ? ` (from ${request.siteName ?? 'an unnamed site'}${request.remoteAddress ? ` at ${request.remoteAddress}` : ''})` : '';
    this.options.event?.({ type: 'Warning', reason: 'ClaimRefused', message: `${message}${who}` });
    this.send(res, refusalStatus(reason), { ok: false, reason, message, ...(retryAfterSeconds ? { retryAfterSeconds } : {}) });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const address = req.socket.remoteAddress ?? 'unknown';
    const url = new URL(req.url ?? '/', 'https://claims');
    if (req.method === 'GET' && url.pathname === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
      return;
    }
    if (req.method !== 'POST') {
      this.send(res, 405, { ok: false, reason: 'bad-request', message: 'redeem a claim with POST /<claim-name>' });
      return;
    }
    const claim = decodeURIComponent(url.pathname.replace(/^\/+|\/+$/g, ''));
    if (!claim || claim.includes('/')) {
      this.refuse(res, 'bad-request', 'the URL names no claim: POST /<claim-name>');
      return;
    }
    let body: Record<string, unknown>;
    try {
      body = await readJson(req);
    } catch (e) {
      this.refuse(res, 'bad-request', (e as Error).message);
      return;
    }
    const request: ClaimRequest = {
      claim,
      siteId: typeof body.siteId === 'string' ? body.siteId : undefined,
      siteName: typeof body.siteName === 'string' ? body.siteName : undefined,
      remoteAddress: address,
    };
    const wait = Math.max(this.perClaim.blockedFor(`claim:${claim}`), this.perAddress.blockedFor(`addr:${address}`));
    if (wait > 0) {
      this.refuse(res, 'rate-limited', `too many failed attempts for claim ${claim}: retry after ${wait} s`, request, wait);
      return;
    }
    if (typeof body.password !== 'string' || body.password.length === 0) {
      this.refuse(res, 'bad-request', 'the request carries no password', request);
      return;
    }
    const outcome = await redeemClaim(this.options.store, claim, body.password, request);
    if (!outcome.ok) {
      if (outcome.reason === 'wrong-password') {
        this.perClaim.fail(`claim:${claim}`);
        this.perAddress.fail(`addr:${address}`);
      } else if (outcome.reason === 'unknown') {
        this.perAddress.fail(`addr:${address}`);
      }
      this.refuse(res, outcome.reason, outcome.message, request);
      return;
    }
    this.perClaim.succeed(`claim:${claim}`);
    const token = await this.options.issue(request);
    const r = outcome.record;
    this.options.event?.({
      type: 'Normal',
      reason: 'ClaimRedeemed',
      message: `claim ${claim} redeemed by site ${request.siteName ?? request.siteId ?? 'unnamed'} at ${address} (use ${r.usesMade} of ${r.usesAllowed})`,
    });
    this.send(res, 200, { ok: true, token });
  }
}

function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new Error('the request body is too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', reject);
    req.on('end', () => {
      try {
        const value = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
        if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
        resolve(value as Record<string, unknown>);
      } catch {
        reject(new Error('the request body is not a JSON object'));
      }
    });
  });
}
