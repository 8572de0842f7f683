// Claim records: what the issuing site remembers about a claim token (a hash of its password, uses
// allowed and made, expiry), the store they live in (a Secret per claim, or memory for tests), and the
// redemption rule with optimistic concurrency: the use is counted by an update conditioned on the
// version read, so two concurrent redemptions of a single-use claim cannot both succeed.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { describeExpiry } from '../pki';
import { ANN_CLAIM_EXPIRATION, type OwnerReference, type SecretManifest, TYPE_CLAIM_RECORD, TYPE_LABEL } from './types';

export interface Redemption {
  siteId?: string;
  siteName?: string;
  at: string;
}

export interface ClaimRecord {
  name: string;
  /** hex sha256(salt || password) */
  passwordHash: string;
  salt: string;
  usesAllowed: number;
  usesMade: number;
  expires: Date;
  created: Date;
  redeemedBy: Redemption[];
}

export interface VersionedRecord {
  record: ClaimRecord;
  version: string;
}

/** Where claim records live. `update` fails with 'conflict' when the version moved since it was read. */
export interface ClaimStore {
  get(name: string): Promise<VersionedRecord | undefined>;
  create(record: ClaimRecord): Promise<void>;
  update(record: ClaimRecord, version: string): Promise<'ok' | 'conflict' | 'gone'>;
  list(): Promise<ClaimRecord[]>;
  /** Deletes one record (a token that could not be handed out); false when there was none. */
  delete(name: string): Promise<boolean>;
  /** Deletes every record; returns how many there were. */
  deleteAll(): Promise<number>;
}

export function hashPassword(password: string, salt: string): string {
  return createHash('sha256').update(Buffer.from(salt, 'hex')).update(password, 'utf8').digest('hex');
}

export function newClaimRecord(name: string, password: string, usesAllowed: number, expires: Date, now = new Date()): ClaimRecord {
  const salt = randomBytes(16).toString('hex');
  return { name, passwordHash: hashPassword(password, salt), salt, usesAllowed, usesMade: 0, expires, created: now, redeemedBy: [] };
}

export function passwordMatches(record: ClaimRecord, password: string): boolean {
  const given = Buffer.from(hashPassword(password, record.salt), 'hex');
  const stored = Buffer.from(record.passwordHash, 'hex');
  return given.length === stored.length && timingSafeEqual(given, stored);
}

// ---------------------------------------------------------------------------------------------------
// Record <-> Secret

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined): string => (s ? Buffer.from(s, 'base64').toString('utf8') : '');

export function recordSecret(record: ClaimRecord, owner?: OwnerReference): SecretManifest {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: record.name,
      labels: { [TYPE_LABEL]: TYPE_CLAIM_RECORD },
      annotations: { [ANN_CLAIM_EXPIRATION]: record.expires.toISOString() },
      ...(owner ? { ownerReferences: [owner] } : {}),
    },
    data: {
      'password-hash': b64(record.passwordHash),
      salt: b64(record.salt),
      'uses-allowed': b64(String(record.usesAllowed)),
      'uses-made': b64(String(record.usesMade)),
      expiry: b64(record.expires.toISOString()),
      created: b64(record.created.toISOString()),
      'redeemed-by': b64(JSON.stringify(record.redeemedBy)),
    },
  };
}

export function recordFromSecret(secret: { metadata?: { name?: string }; data?: Record<string, string> }): ClaimRecord {
  const d = secret.data ?? {};
  let redeemedBy: Redemption[] = [];
  try {
    const parsed = JSON.parse(unb64(d['redeemed-by']) || '[]');
    if (Array.isArray(parsed)) redeemedBy = parsed;
  } catch {
    // keep empty
  }
  return {
    name: secret.metadata?.name ?? '',
    passwordHash: unb64(d['password-hash']),
    salt: unb64(d.salt),
    usesAllowed: Number(unb64(d['uses-allowed']) || '1'),
    usesMade: Number(unb64(d['uses-made']) || '0'),
    expires: new Date(unb64(d.expiry) || 0),
    created: new Date(unb64(d.created) || 0),
    redeemedBy,
  };
}

// ---------------------------------------------------------------------------------------------------
// In memory

export class MemoryClaimStore implements ClaimStore {
  private readonly records = new Map<string, VersionedRecord>();
  private counter = 0;

  async get(name: string): Promise<VersionedRecord | undefined> {
    const hit = this.records.get(name);
    return hit ? { record: structuredClone(hit.record), version: hit.version } : undefined;
  }

  async create(record: ClaimRecord): Promise<void> {
    if (this.records.has(record.name)) throw new Error(`claim ${record.name} exists`);
    this.records.set(record.name, { record: structuredClone(record), version: String(++this.counter) });
  }

  async update(record: ClaimRecord, version: string): Promise<'ok' | 'conflict' | 'gone'> {
    const hit = this.records.get(record.name);
    if (!hit) return 'gone';
    if (hit.version !== version) return 'conflict';
    this.records.set(record.name, { record: structuredClone(record), version: String(++this.counter) });
    return 'ok';
  }

  async list(): Promise<ClaimRecord[]> {
    return [...this.records.values()].map((v) => structuredClone(v.record));
  }

  async delete(name: string): Promise<boolean> {
    return this.records.delete(name);
  }

  async deleteAll(): Promise<number> {
    const n = this.records.size;
    this.records.clear();
    return n;
  }
}

// ---------------------------------------------------------------------------------------------------
// Redemption

export type RefusalReason = 'unknown' | 'expired' | 'used-up' | 'wrong-password' | 'rate-limited' | 'bad-request';

export type RedeemOutcome =
  { ok: true; record: ClaimRecord } | { ok: false; reason: RefusalReason; message: string; retryAfterSeconds?: number };

export function refusalStatus(reason: RefusalReason): number {
  switch (reason) {
    case 'unknown':
      return 404;
    case 'expired':
      return 410;
    case 'used-up':
      return 410;
    case 'wrong-password':
      return 403;
    case 'rate-limited':
      return 429;
    case 'bad-request':
      return 400;
  }
}

/**
 * Validates and counts one use of the claim `name`. The count is written with the version read, and
 * retried on conflict, so uses are never over-granted however many redeem at once.
 */
export async function redeemClaim(
  store: ClaimStore,
  name: string,
  password: string,
  who: { siteId?: string; siteName?: string },
  now: () => Date = () => new Date(),
): Promise<RedeemOutcome> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const hit = await store.get(name);
    if (!hit) {
      return {
        ok: false,
        reason: 'unknown',
        message: `no claim named ${name} at this site: the token was never issued here, or access was revoked since (create a new token)`,
      };
    }
    const { record, version } = hit;
    if (!passwordMatches(record, password)) {
      return {
        ok: false,
        reason: 'wrong-password',
        message: `wrong password for claim ${name}: the token file was altered or belongs to another claim`,
      };
    }
    const t = now();
    if (record.expires.getTime() <= t.getTime()) {
      return {
        ok: false,
        reason: 'expired',
        message: `claim ${name} ${describeExpiry(record.expires, t)} (${record.expires.toISOString()}): create a new token`,
      };
    }
    if (record.usesMade >= record.usesAllowed) {
      const last = record.redeemedBy[record.redeemedBy.length - 1];
      const by = last?.siteName ? `, last by site ${last.siteName}` : '';
      return {
        ok: false,
        reason: 'used-up',
        message:
          `claim ${name} was already used ${record.usesMade} of ${record.usesAllowed} time${record.usesAllowed === 1 ? '' : 's'}${by}: ` +
          `create a new token (--uses N for more)`,
      };
    }
    const updated: ClaimRecord = {
      ...record,
      usesMade: record.usesMade + 1,
      redeemedBy: [...record.redeemedBy, { siteId: who.siteId, siteName: who.siteName, at: t.toISOString() }].slice(-20),
    };
    const result = await store.update(updated, version);
    if (result === 'ok') return { ok: true, record: updated };
    // conflict or gone: read again, the answer may now be "used up" or "unknown"
  }
  return { ok: false, reason: 'used-up', message: `claim ${name} is being redeemed by too many sites at once: try again` };
}

// ---------------------------------------------------------------------------------------------------
// Slowing down failed attempts

export interface ThrottleOptions {
  /** Failures within the window answered without delay. */
  freeFailures: number;
  /** A failure is forgotten after this long. */
  windowMs: number;
  /** The delay after the free failures; it doubles with each further failure, up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Attempts that may wait their delay at once for one key; one more is refused (retry later). */
  maxWaiting: number;
}

/** Per claim: a claim is never locked, only slowed down, so its right password still works (after at most maxDelayMs). */
export const CLAIM_THROTTLE: ThrottleOptions = {
  freeFailures: 3,
  windowMs: 10 * 60_000,
  baseDelayMs: 1000,
  maxDelayMs: 8000,
  maxWaiting: 8,
};
/** Per source address: laxer (one address may be a load balancer in front of many callers). */
export const ADDRESS_THROTTLE: ThrottleOptions = {
  freeFailures: 10,
  windowMs: 10 * 60_000,
  baseDelayMs: 250,
  maxDelayMs: 8000,
  maxWaiting: 16,
};

/** One attempt registered with a throttle; end it exactly once. */
export interface Attempt {
  /** How long to wait before checking it. */
  readonly delayMs: number;
  /** The wait is over (it no longer counts against maxWaiting). */
  waited(): void;
  /** failed: it stays counted as a failure; reset: the key's failures are forgotten (a success). */
  end(outcome: 'failed' | 'passed' | 'reset'): void;
}

interface Bucket {
  failures: number[];
  inFlight: number;
  waiting: number;
}

const MAX_KEYS = 10_000;

/**
 * Slows down a key (a claim name, a source address) that fails often: an attempt is counted when it
 * begins, before anything is awaited, so attempts in flight weigh like failures and a burst of
 * parallel guesses gets growing delays at once; too many waiting at once are refused.
 */
export class AttemptThrottle {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly options: ThrottleOptions,
    private readonly clock: () => number = Date.now,
  ) {}

  delayFor(count: number): number {
    const o = this.options;
    if (count < o.freeFailures) return 0;
    return Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** Math.min(30, count - o.freeFailures));
  }

  /** Registers an attempt; undefined when too many attempts already wait for this key. */
  begin(key: string): Attempt | undefined {
    const now = this.clock();
    const b = this.buckets.get(key) ?? { failures: [], inFlight: 0, waiting: 0 };
    b.failures = b.failures.filter((t) => now - t < this.options.windowMs);
    const delayMs = this.delayFor(b.failures.length + b.inFlight);
    if (delayMs > 0 && b.waiting >= this.options.maxWaiting) return undefined;
    b.inFlight++;
    if (delayMs > 0) b.waiting++;
    if (!this.buckets.has(key)) {
      if (this.buckets.size >= MAX_KEYS) this.prune(now);
      this.buckets.set(key, b);
    }
    let waiting = delayMs > 0;
    let ended = false;
    const waited = () => {
      if (!waiting) return;
      waiting = false;
      b.waiting--;
    };
    return {
      delayMs,
      waited,
      end: (outcome) => {
        if (ended) return;
        ended = true;
        waited();
        b.inFlight--;
        if (outcome === 'failed') {
          b.failures.push(this.clock());
          if (b.failures.length > 64) b.failures.splice(0, b.failures.length - 64);
        }
        if (outcome === 'reset') b.failures = [];
        if (b.inFlight === 0 && b.failures.length === 0) this.buckets.delete(key);
      },
    };
  }

  /** Failures within the window plus attempts in flight. */
  count(key: string): number {
    const b = this.buckets.get(key);
    if (!b) return 0;
    const now = this.clock();
    return b.failures.filter((t) => now - t < this.options.windowMs).length + b.inFlight;
  }

  get size(): number {
    return this.buckets.size;
  }

  /** Forgets idle keys whose failures are old, then (many sources) the oldest idle ones. */
  private prune(now: number): void {
    for (const [k, b] of this.buckets) {
      if (b.inFlight === 0 && b.failures.every((t) => now - t >= this.options.windowMs)) this.buckets.delete(k);
    }
    for (const [k, b] of this.buckets) {
      if (this.buckets.size < MAX_KEYS) break;
      if (b.inFlight === 0) this.buckets.delete(k);
    }
  }
}
