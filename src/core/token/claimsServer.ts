// The claims endpoint of a site: HTTPS (the site's server certificate), POST /<claim-name> with
// {"password", "siteId", "siteName"}; answers a cert token as JSON, or a refusal with its reason:
//   404 unknown · 410 expired / used-up · 403 wrong-password · 429 rate-limited · 400 bad-request.
// It faces the internet without authentication (the password is the authentication), so:
// - the path is checked by length and one anchored pattern before any other work;
// - every attempt is counted when it arrives, per claim and per source address, and a key that
//   failed often is slowed down (a delay that doubles, capped), never locked: the right password
//   still works after wrong ones, at worst after the capped delay; only when too many attempts
//   already wait for a key is one refused (429, retry after a few seconds);
// - refusals are folded: the first after a quiet minute is written as an event of its own, the rest
//   of the minute as one summary event;
// - TLS handshakes time out, connections are capped, and a failure answers a generic 500.
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorMessage } from '../errors';
import { dnsLabelOf, printable } from '../text';
import {
  ADDRESS_THROTTLE,
  type Attempt,
  AttemptThrottle,
  CLAIM_THROTTLE,
  type ClaimStore,
  type RefusalReason,
  refusalStatus,
  type ThrottleOptions,
} from './claims';
import { type Redeem, redeemWith } from './redeem';
import type { SecretManifest } from './types';

export interface ClaimRequest {
  claim: string;
  siteId?: string;
  siteName?: string;
  remoteAddress?: string;
}

export interface ClaimEvent {
  type: 'Normal' | 'Warning';
  reason: 'ClaimRedeemed' | 'ClaimRefused' | 'ClaimFailed';
  message: string;
}

export interface ClaimsServerOptions {
  store: ClaimStore;
  tls: { cert: string; key: string };
  /** Makes the cert token handed to a successful redeemer. */
  issue(request: ClaimRequest): Promise<SecretManifest>;
  /** Redeems elsewhere (a site's controller, which holds the claim records and the CA) instead of with `store` and `issue`. */
  redeem?: Redeem;
  event?(event: ClaimEvent): void;
  /** Per claim (CLAIM_THROTTLE by default). */
  limits?: ThrottleOptions;
  /** Per source address (ADDRESS_THROTTLE by default: laxer, one address may be many callers). */
  addressLimits?: ThrottleOptions;
  /** Refusals within this window after the first are written as one event (60 s). */
  eventWindowMs?: number;
  /** A TLS handshake not done by then is dropped (10 s). */
  handshakeTimeoutMs?: number;
  /** Connections open at once; more are closed on accept (256). */
  maxConnections?: number;
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
/** Longer request targets are refused unread: a claim name is at most 63 characters. */
const MAX_URL = 256;
const CLAIM_PATH = /^\/[a-z0-9-]{1,63}$/;
const INTERNAL = "the claims endpoint failed; the issuing site's events say why (van debug events there): try again later";

const REFUSAL_WORDS: Record<RefusalReason | 'internal', string> = {
  unknown: 'unknown claim',
  expired: 'expired',
  'used-up': 'used up',
  'wrong-password': 'wrong password',
  'rate-limited': 'rate limited',
  'bad-request': 'bad request',
  internal: 'failed',
};

interface Refusal {
  reason: RefusalReason | 'internal';
  message: string;
  claim?: string;
  address: string;
  siteName?: string;
}

const top = (counts: Map<string, number>, n: number): string => {
  const sorted = [...counts].sort((a, b) => b[1] - a[1]);
  const shown = sorted.slice(0, n).map(([k, c]) => `${k} (${c})`);
  return sorted.length > n ? `${shown.join(', ')} and ${sorted.length - n} more` : shown.join(', ');
};

/**
 * Folds refusals into events: the first after a quiet window is written at once, with its own
 * message; those that follow within the window are counted and written as one summary at its end.
 */
export class RefusalDigest {
  private timer?: NodeJS.Timeout;
  private count = 0;
  private readonly reasons = new Map<string, number>();
  private readonly addresses = new Map<string, number>();
  private readonly claims = new Map<string, number>();

  constructor(
    private readonly emit: (event: ClaimEvent) => void,
    private readonly windowMs = 60_000,
    private readonly reason: ClaimEvent['reason'] = 'ClaimRefused',
  ) {}

  add(r: Refusal): void {
    if (!this.timer) {
      const who = `${r.siteName ? ` from site ${r.siteName}` : ''} at ${r.address}`;
      this.emit({ type: 'Warning', reason: this.reason, message: printable(`${r.message} (${REFUSAL_WORDS[r.reason]}${who})`, 512) });
      this.start();
      return;
    }
    this.count++;
    const bump = (m: Map<string, number>, k: string) => {
      if (m.has(k) || m.size < 1000) m.set(k, (m.get(k) ?? 0) + 1);
    };
    bump(this.reasons, REFUSAL_WORDS[r.reason]);
    bump(this.addresses, r.address);
    if (r.claim) bump(this.claims, r.claim);
  }

  private start(): void {
    this.timer = setTimeout(() => this.flush(true), this.windowMs);
    this.timer.unref?.();
  }

  /** Writes the summary of the window if anything was counted; `again`: open a new window if so. */
  flush(again = false): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.count === 0) return;
    const seconds = Math.round(this.windowMs / 1000);
    const parts = [
      `${this.count} more ${this.count === 1 ? 'request' : 'requests'} refused in the last ${seconds} s: ${top(this.reasons, 6)}`,
      `from ${top(this.addresses, 3)}`,
    ];
    if (this.claims.size) parts.push(`claims ${top(this.claims, 3)}`);
    this.emit({ type: 'Warning', reason: this.reason, message: printable(parts.join('; '), 1024) });
    this.count = 0;
    this.reasons.clear();
    this.addresses.clear();
    this.claims.clear();
    if (again) this.start();
  }
}

export class ClaimsServer {
  readonly server: https.Server;
  private readonly perClaim: AttemptThrottle;
  private readonly perAddress: AttemptThrottle;
  private readonly refusals: RefusalDigest;
  private readonly failures: RefusalDigest;
  private readonly waits = new Set<() => void>();
  private closing = false;

  constructor(private readonly options: ClaimsServerOptions) {
    this.perClaim = new AttemptThrottle(options.limits ?? CLAIM_THROTTLE, options.clock);
    this.perAddress = new AttemptThrottle(options.addressLimits ?? ADDRESS_THROTTLE, options.clock);
    const emit = (e: ClaimEvent) => this.options.event?.(e);
    this.refusals = new RefusalDigest(emit, options.eventWindowMs);
    this.failures = new RefusalDigest(emit, options.eventWindowMs, 'ClaimFailed');
    this.server = https.createServer(
      { cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2', handshakeTimeout: options.handshakeTimeoutMs ?? 10_000 },
      (req, res) => {
        this.handle(req, res).catch((e) => {
          this.failures.add({ reason: 'internal', message: errorMessage(e), address: req.socket.remoteAddress ?? 'unknown' });
          this.send(res, 500, { ok: false, reason: 'internal', message: INTERNAL });
        });
      },
    );
    this.server.maxConnections = options.maxConnections ?? 256;
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 15_000;
    // A handshake that fails (or times out) only closes its socket.
    this.server.on('tlsClientError', (_e, socket) => socket.destroy());
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
    this.closing = true;
    for (const wake of [...this.waits]) wake();
    this.refusals.flush();
    this.failures.flush();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections?.();
    });
  }

  private send(res: ServerResponse, status: number, body: ClaimAnswer): void {
    if (res.headersSent || res.destroyed) return;
    const headers: Record<string, string> = { 'content-type': 'application/json', 'cache-control': 'no-store' };
    if (body.retryAfterSeconds) headers['retry-after'] = String(body.retryAfterSeconds);
    res.writeHead(status, headers);
    res.end(JSON.stringify(body));
  }

  private refuse(
    res: ServerResponse,
    reason: RefusalReason,
    message: string,
    who: { address: string; claim?: string; siteName?: string },
    retryAfterSeconds?: number,
  ): void {
    this.refusals.add({ reason, message, ...who });
    this.send(res, refusalStatus(reason), { ok: false, reason, message, ...(retryAfterSeconds ? { retryAfterSeconds } : {}) });
  }

  /** Waits `ms` (woken early when the server closes). */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.waits.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.waits.add(wake);
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const address = req.socket.remoteAddress ?? 'unknown';
    const raw = req.url ?? '/';
    const query = raw.indexOf('?');
    const path = raw.length > MAX_URL ? '' : query < 0 ? raw : raw.slice(0, query);
    if (req.method === 'GET' && path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
      return;
    }
    if (req.method !== 'POST') {
      this.send(res, 405, { ok: false, reason: 'bad-request', message: 'redeem a claim with POST /<claim-name>' });
      return;
    }
    if (!CLAIM_PATH.test(path)) {
      this.refuse(res, 'bad-request', 'the URL names no claim: POST /<claim-name> (lower case letters, digits and dashes, at most 63)', {
        address,
      });
      return;
    }
    const claim = path.slice(1);
    // Counted now, before anything is awaited: a burst of attempts sees itself.
    const byClaim = this.perClaim.begin(`claim:${claim}`);
    const byAddress = byClaim && this.perAddress.begin(`addr:${address}`);
    if (!byClaim || !byAddress) {
      byClaim?.end('passed');
      const wait = Math.ceil(
        Math.max((this.options.limits ?? CLAIM_THROTTLE).maxDelayMs, (this.options.addressLimits ?? ADDRESS_THROTTLE).maxDelayMs) / 1000,
      );
      this.refuse(res, 'rate-limited', `too many attempts for claim ${claim} at once: retry after ${wait} s`, { address, claim }, wait);
      return;
    }
    let outcome: { claim: 'failed' | 'passed' | 'reset'; address: 'failed' | 'passed' } = { claim: 'passed', address: 'passed' };
    try {
      outcome = await this.attempt(req, res, claim, address, byClaim, byAddress);
    } finally {
      byClaim.end(outcome.claim);
      byAddress.end(outcome.address);
    }
  }

  private async attempt(
    req: IncomingMessage,
    res: ServerResponse,
    claim: string,
    address: string,
    byClaim: Attempt,
    byAddress: Attempt,
  ): Promise<{ claim: 'failed' | 'passed' | 'reset'; address: 'failed' | 'passed' }> {
    const delay = Math.max(byClaim.delayMs, byAddress.delayMs);
    if (delay > 0) await this.pause(delay);
    byClaim.waited();
    byAddress.waited();
    if (this.closing) return { claim: 'passed', address: 'passed' };
    let body: Record<string, unknown>;
    try {
      body = await readJson(req);
    } catch (e) {
      this.refuse(res, 'bad-request', (e as Error).message, { address, claim });
      return { claim: 'passed', address: 'failed' };
    }
    const request: ClaimRequest = {
      claim,
      siteId: typeof body.siteId === 'string' ? printable(body.siteId, 64) : undefined,
      siteName: dnsLabelOf(body.siteName),
      remoteAddress: address,
    };
    const who = { address, claim, siteName: request.siteName };
    if (typeof body.password !== 'string' || body.password.length === 0 || body.password.length > 1024) {
      this.refuse(res, 'bad-request', 'the request carries no password', who);
      return { claim: 'passed', address: 'failed' };
    }
    const outcome = await (this.options.redeem ?? redeemWith(this.options.store, (r) => this.options.issue(r)))(
      claim,
      body.password,
      request,
    );
    if (!outcome.ok) {
      this.refuse(res, outcome.reason, outcome.message, who);
      if (outcome.reason === 'wrong-password') return { claim: 'failed', address: 'failed' };
      if (outcome.reason === 'unknown') return { claim: 'passed', address: 'failed' };
      return { claim: 'passed', address: 'passed' };
    }
    const { token, usesMade, usesAllowed } = outcome;
    this.options.event?.({
      type: 'Normal',
      reason: 'ClaimRedeemed',
      message: `claim ${claim} redeemed by site ${request.siteName ?? request.siteId ?? 'unnamed'} at ${address} (use ${usesMade} of ${usesAllowed})`,
    });
    this.send(res, 200, { ok: true, token });
    return { claim: 'reset', address: 'passed' };
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
