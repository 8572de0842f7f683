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
  | { ok: true; record: ClaimRecord }
  | { ok: false; reason: RefusalReason; message: string; retryAfterSeconds?: number };

export function refusalStatus(reason: RefusalReason): number {
  switch (reason) {
    case 'unknown': return 404;
    case 'expired': return 410;
    case 'used-up': return 410;
    case 'wrong-password': return 403;
    case 'rate-limited': return 429;
    case 'bad-request': return 400;
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
      return { ok: false, reason: 'unknown', message: `no claim named ${name} at this site: the token was never issued here, or access was revoked since (create a new token)` };
    }
    const { record, version } = hit;
    if (!passwordMatches(record, password)) {
      return { ok: false, reason: 'wrong-password', message: `wrong password for claim ${name}: the token file was altered or belongs to another claim` };
    }
    const t = now();
    if (record.expires.getTime() <= t.getTime()) {
      return { ok: false, reason: 'expired', message: `claim ${name} ${describeExpiry(record.expires, t)} (${record.expires.toISOString()}): create a new token` };
    }
    if (record.usesMade >= record.usesAllowed) {
      const last = record.redeemedBy[record.redeemedBy.length - 1];
      const by = last?.siteName ? `, last by site ${last.siteName}` : '';
      return { ok: false, reason: 'used-up', message: `claim ${name} was already used ${record.usesMade} of ${record.usesAllowed} time${record.usesAllowed === 1 ? '' : 's'}${by}: create a new token (--uses N for more)` };
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
// Rate limiting of failed attempts

export interface RateLimitOptions {
  /** Failures allowed within the window before blocking. */
  maxFailures: number;
  windowMs: number;
  /** First block length; doubles with each block in a row, up to maxBlockMs. */
  blockMs: number;
  maxBlockMs: number;
}

export const DEFAULT_RATE_LIMIT: RateLimitOptions = { maxFailures: 5, windowMs: 60_000, blockMs: 30_000, maxBlockMs: 15 * 60_000 };

interface Bucket {
  failures: number[];
  blockedUntil: number;
  blocks: number;
}

/** Counts failures per key (a claim name, a source address) and blocks a key that fails too often. */
export class FailureLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly options: RateLimitOptions = DEFAULT_RATE_LIMIT, private readonly clock: () => number = Date.now) {}

  /** Seconds to wait when `key` is blocked, else 0. */
  blockedFor(key: string): number {
    const b = this.buckets.get(key);
    if (!b) return 0;
    const left = b.blockedUntil - this.clock();
    return left > 0 ? Math.ceil(left / 1000) : 0;
  }

  fail(key: string): void {
    const now = this.clock();
    const b = this.buckets.get(key) ?? { failures: [], blockedUntil: 0, blocks: 0 };
    b.failures = b.failures.filter((t) => now - t < this.options.windowMs);
    b.failures.push(now);
    if (b.failures.length >= this.options.maxFailures) {
      const length = Math.min(this.options.maxBlockMs, this.options.blockMs * 2 ** b.blocks);
      b.blockedUntil = now + length;
      b.blocks++;
      b.failures = [];
    }
    this.buckets.set(key, b);
    if (this.buckets.size > 10_000) this.prune(now);
  }

  succeed(key: string): void {
    this.buckets.delete(key);
  }

  private prune(now: number): void {
    for (const [k, b] of this.buckets) {
      if (b.blockedUntil < now && b.failures.every((t) => now - t >= this.options.windowMs)) this.buckets.delete(k);
    }
  }
}
