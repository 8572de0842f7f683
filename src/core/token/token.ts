// Tokens as files: build the Secret manifests of claim and cert tokens, and read them back with a
// precise one-line reason for every way a file can be wrong. Pure functions, no I/O.
import { randomBytes, X509Certificate } from 'node:crypto';
import { parseAllDocuments, stringify } from 'yaml';
import { UsageError, UserError } from '../errors';
import { describeExpiry } from '../pki';
import {
  ANN_CERT_EXPIRY,
  ANN_CLAIM_EXPIRATION,
  ANN_CLAIM_USES,
  ANN_EDGE_HOST,
  ANN_EDGE_PORT,
  ANN_GENERATED_BY,
  ANN_INTER_ROUTER_HOST,
  ANN_INTER_ROUTER_PORT,
  ANN_SITE_NAME,
  ANN_SITE_VERSION,
  ANN_VAN_VERSION,
  ANN_URL,
  type Endpoint,
  type SecretManifest,
  SITE_VERSION,
  VAN_VERSION,
  type SiteIdentity,
  type Token,
  TYPE_CERT,
  TYPE_CLAIM,
  TYPE_CLAIM_RECORD,
  TYPE_LABEL,
} from './types';

// ---------------------------------------------------------------------------------------------------
// Durations and names

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "15m", "1h30m", "90s", "2d" → milliseconds. A bare number is minutes. */
export function parseDuration(text: string, flag = '--expiry'): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) * UNITS.m;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(t)) !== null) {
    total += Number(m[1]) * UNITS[m[2]];
    matched = re.lastIndex;
  }
  if (matched !== t.length || t.length === 0) {
    throw new UsageError(`${flag} must be a duration such as 15m, 1h or 2h30m (got "${text}")`);
  }
  if (total <= 0) throw new UsageError(`${flag} must be longer than zero (got "${text}")`);
  return total;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** A name usable as a Secret name (and URL segment): lower case letters, digits and dashes. */
export function checkName(name: string, what = '--name'): string {
  if (!DNS_LABEL.test(name)) {
    throw new UsageError(
      `${what} must be lower case letters, digits and dashes, at most 63, starting and ending with a letter or digit (got "${name}")`,
    );
  }
  return name;
}

/** A random claim name (a UUID, as Skupper 1.x names its claims). */
export function newClaimName(): string {
  const b = randomBytes(16);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** 192 random bits, base64url: far beyond guessing, and rate limited on top. */
export function newPassword(): string {
  return randomBytes(24).toString('base64url');
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

// ---------------------------------------------------------------------------------------------------
// Building

export interface ClaimTokenInput {
  name: string;
  password: string;
  url: string;
  caPem: string;
  site: SiteIdentity;
  expires: Date;
  uses: number;
}

export function claimTokenSecret(input: ClaimTokenInput): SecretManifest {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: input.name,
      labels: { [TYPE_LABEL]: TYPE_CLAIM },
      annotations: {
        [ANN_URL]: input.url,
        [ANN_GENERATED_BY]: input.site.id,
        [ANN_SITE_NAME]: input.site.name,
        [ANN_SITE_VERSION]: SITE_VERSION,
        [ANN_VAN_VERSION]: VAN_VERSION,
        [ANN_CLAIM_EXPIRATION]: input.expires.toISOString(),
        [ANN_CLAIM_USES]: String(input.uses),
      },
    },
    data: { password: b64(input.password), 'ca.crt': b64(input.caPem) },
  };
}

export interface CertTokenInput {
  name: string;
  certPem: string;
  keyPem: string;
  caPem: string;
  interRouter: Endpoint;
  edge?: Endpoint;
  site: SiteIdentity;
}

export function certTokenSecret(input: CertTokenInput): SecretManifest {
  const annotations: Record<string, string> = {
    [ANN_INTER_ROUTER_HOST]: input.interRouter.host,
    [ANN_INTER_ROUTER_PORT]: String(input.interRouter.port),
    [ANN_GENERATED_BY]: input.site.id,
    [ANN_SITE_NAME]: input.site.name,
    [ANN_SITE_VERSION]: SITE_VERSION,
    [ANN_VAN_VERSION]: VAN_VERSION,
  };
  if (input.edge) {
    annotations[ANN_EDGE_HOST] = input.edge.host;
    annotations[ANN_EDGE_PORT] = String(input.edge.port);
  }
  try {
    annotations[ANN_CERT_EXPIRY] = new Date(new X509Certificate(input.certPem).validTo).toISOString();
  } catch {
    // not fatal: the annotation is informative
  }
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: { name: input.name, labels: { [TYPE_LABEL]: TYPE_CERT }, annotations },
    data: { 'tls.crt': b64(input.certPem), 'tls.key': b64(input.keyPem), 'ca.crt': b64(input.caPem) },
  };
}

/** The YAML text of a token file. */
export function tokenYaml(secret: SecretManifest): string {
  return stringify(secret, { lineWidth: 0 });
}

// ---------------------------------------------------------------------------------------------------
// Reading

/** Why a token file cannot be used: a one-line message. */
export class TokenError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'TokenError';
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses the YAML (or JSON) text of a token file into a Secret manifest, or says what is wrong. */
export function parseSecretText(text: string, source = 'the token file'): SecretManifest {
  if (text.trim().length === 0) throw new TokenError(`${source} is empty: expected a token written by "van token create"`);
  let docs;
  try {
    docs = parseAllDocuments(text);
  } catch (e) {
    throw new TokenError(`${source} is not valid YAML (${(e as Error).message.split('\n')[0]})`);
  }
  if (!Array.isArray(docs)) throw new TokenError(`${source} is not valid YAML`);
  const nonEmpty = docs.filter((d) => d.contents !== null);
  if (nonEmpty.length === 0) throw new TokenError(`${source} is empty: expected a token written by "van token create"`);
  if (nonEmpty.length > 1) throw new TokenError(`${source} holds ${nonEmpty.length} YAML documents: a token is exactly one Secret`);
  const doc = nonEmpty[0];
  if (doc.errors.length > 0) {
    const first = doc.errors[0];
    const line = first.linePos?.[0]?.line;
    throw new TokenError(`${source} is not valid YAML${line ? ` (line ${line})` : ''}: ${first.message.split('\n')[0]}`);
  }
  const value: unknown = doc.toJS();
  if (!isObject(value)) throw new TokenError(`${source} is not a Kubernetes object: expected a Secret written by "van token create"`);
  const kind = value.kind;
  if (kind !== 'Secret') {
    throw new TokenError(
      `${source} is a ${typeof kind === 'string' ? kind : 'document without a kind'}, not a Secret: a token is a Secret written by "van token create"`,
    );
  }
  if (!isObject(value.metadata)) throw new TokenError(`${source} is a Secret without metadata: it is not a token`);
  const metadata = value.metadata as Record<string, unknown>;
  if (typeof metadata.name !== 'string' || metadata.name.length === 0)
    throw new TokenError(`${source} is a Secret without a name: it is not a token`);
  const data: Record<string, string> = {};
  if (value.data !== undefined) {
    if (!isObject(value.data)) throw new TokenError(`${source}: data must be a map of base64 values`);
    for (const [k, v] of Object.entries(value.data)) {
      if (typeof v !== 'string' || !/^[A-Za-z0-9+/=\s_-]*$/.test(v)) throw new TokenError(`${source}: data.${k} is not base64`);
      data[k] = v.replace(/\s+/g, '');
    }
  }
  if (isObject(value.stringData)) {
    for (const [k, v] of Object.entries(value.stringData)) if (typeof v === 'string') data[k] = b64(v);
  }
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: typeof value.type === 'string' ? value.type : undefined,
    metadata: {
      name: metadata.name,
      labels: stringMap(metadata.labels),
      annotations: stringMap(metadata.annotations),
    },
    data,
  };
}

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObject(v)) return out;
  for (const [k, x] of Object.entries(v)) if (x !== undefined && x !== null) out[k] = String(x);
  return out;
}

function dataText(secret: SecretManifest, key: string): string | undefined {
  const v = secret.data?.[key];
  if (v === undefined || v === '') return undefined;
  return Buffer.from(v, 'base64').toString('utf8');
}

function pemOf(secret: SecretManifest, key: string, what: string, source: string, kind: 'CERTIFICATE' | 'PRIVATE KEY'): string {
  const text = dataText(secret, key);
  if (!text) throw new TokenError(`${source} has no ${key} (${what}): the token is incomplete, create a new one`);
  if (!text.includes(`-----BEGIN `) || (kind === 'CERTIFICATE' ? !text.includes('CERTIFICATE-----') : !/PRIVATE KEY-----/.test(text))) {
    throw new TokenError(
      `${source}: ${key} is not a PEM ${kind === 'CERTIFICATE' ? 'certificate' : 'private key'} (${what}): the token is damaged, create a new one`,
    );
  }
  if (kind === 'CERTIFICATE') {
    try {
      new X509Certificate(text);
    } catch {
      throw new TokenError(`${source}: ${key} does not hold a readable certificate (${what}): the token is damaged, create a new one`);
    }
  }
  return text;
}

function portOf(value: string | undefined, ann: string, source: string): number {
  const n = Number(value);
  if (!value || !Number.isInteger(n) || n < 1 || n > 65535) {
    throw new TokenError(`${source}: annotation ${ann} must be a port number (got ${value === undefined ? 'nothing' : `"${value}"`})`);
  }
  return n;
}

function dateOf(value: string | undefined, ann: string, source: string): Date | undefined {
  if (value === undefined || value === '') return undefined;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new TokenError(`${source}: annotation ${ann} is not a date (got "${value}")`);
  return d;
}

/** Reads a token from a Secret manifest, or explains what is missing or wrong. */
export function tokenFromSecret(secret: SecretManifest, source = 'the token file'): Token {
  const labels = secret.metadata.labels ?? {};
  const ann = secret.metadata.annotations ?? {};
  const type = labels[TYPE_LABEL];
  if (type === undefined) {
    throw new TokenError(
      `${source} is a Secret without the label ${TYPE_LABEL}: it is not a token (expected ${TYPE_CLAIM} or ${TYPE_CERT})`,
    );
  }
  if (type === TYPE_CLAIM_RECORD) {
    throw new TokenError(
      `${source} is a claim record (the issuing site's own bookkeeping), not a token: use the file "van token create" wrote`,
    );
  }
  if (type !== TYPE_CLAIM && type !== TYPE_CERT) {
    throw new TokenError(`${source} is a Secret of type "${type}", not a token (expected ${TYPE_CLAIM} or ${TYPE_CERT})`);
  }
  const issuerId = ann[ANN_GENERATED_BY];
  if (!issuerId)
    throw new TokenError(`${source} has no ${ANN_GENERATED_BY} annotation: cannot tell which site issued it, create a new token`);
  const issuer = { id: issuerId, name: ann[ANN_SITE_NAME] || undefined };
  if (type === TYPE_CLAIM) {
    const url = ann[ANN_URL];
    if (!url)
      throw new TokenError(
        `${source} is a claim token without the ${ANN_URL} annotation: there is nowhere to redeem it, create a new token`,
      );
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new TokenError(`${source}: ${ANN_URL} is not a URL (got "${url}")`);
    }
    if (parsed.protocol !== 'https:') throw new TokenError(`${source}: ${ANN_URL} must be an https URL (got "${url}")`);
    const name =
      decodeURIComponent(
        parsed.pathname
          .replace(/^\/+|\/+$/g, '')
          .split('/')
          .pop() ?? '',
      ) || secret.metadata.name;
    const password = dataText(secret, 'password');
    if (!password) throw new TokenError(`${source} is a claim token without a password: the token is incomplete, create a new one`);
    const caPem = pemOf(secret, 'ca.crt', 'the CA of the issuing site', source, 'CERTIFICATE');
    const usesText = ann[ANN_CLAIM_USES];
    const uses = usesText !== undefined && usesText !== '' ? Number(usesText) : undefined;
    if (uses !== undefined && (!Number.isInteger(uses) || uses < 1))
      throw new TokenError(`${source}: annotation ${ANN_CLAIM_USES} must be a positive integer (got "${usesText}")`);
    return {
      type: 'claim',
      name,
      url,
      password,
      caPem,
      issuer,
      expires: dateOf(ann[ANN_CLAIM_EXPIRATION], ANN_CLAIM_EXPIRATION, source),
      uses,
    };
  }
  const certPem = pemOf(secret, 'tls.crt', 'the client certificate', source, 'CERTIFICATE');
  const keyPem = pemOf(secret, 'tls.key', 'the client key', source, 'PRIVATE KEY');
  const caPem = pemOf(secret, 'ca.crt', 'the CA of the issuing site', source, 'CERTIFICATE');
  const host = ann[ANN_INTER_ROUTER_HOST];
  if (!host) throw new TokenError(`${source} has no ${ANN_INTER_ROUTER_HOST} annotation: cannot tell where to connect, create a new token`);
  const interRouter = { host, port: portOf(ann[ANN_INTER_ROUTER_PORT], ANN_INTER_ROUTER_PORT, source) };
  const edge = ann[ANN_EDGE_HOST] ? { host: ann[ANN_EDGE_HOST], port: portOf(ann[ANN_EDGE_PORT], ANN_EDGE_PORT, source) } : undefined;
  const expires = new Date(new X509Certificate(certPem).validTo);
  return { type: 'cert', name: secret.metadata.name, certPem, keyPem, caPem, interRouter, edge, issuer, expires };
}

/** Text of a token file → token, every failure a one-line TokenError. */
export function parseToken(text: string, source = 'the token file'): Token {
  return tokenFromSecret(parseSecretText(text, source), source);
}

// ---------------------------------------------------------------------------------------------------
// Checking and describing

/** Problems that make a token unusable, as far as can be known without asking the issuing site. */
export function offlineProblems(token: Token, now = new Date()): string[] {
  const problems: string[] = [];
  if (token.type === 'claim') {
    if (token.expires && token.expires.getTime() <= now.getTime()) {
      problems.push(`the claim ${describeExpiry(token.expires, now)}: create a new token at ${token.issuer.name ?? 'the issuing site'}`);
    }
  } else {
    const x = new X509Certificate(token.certPem);
    if (new Date(x.validTo).getTime() <= now.getTime()) {
      problems.push(
        `the client certificate ${describeExpiry(new Date(x.validTo), now)}: create a new token at ${token.issuer.name ?? 'the issuing site'}`,
      );
    } else if (new Date(x.validFrom).getTime() > now.getTime()) {
      problems.push("the client certificate is not valid yet: check this machine's clock");
    }
    const ca = new X509Certificate(token.caPem);
    if (!(x.checkIssued(ca) && x.verify(ca.publicKey))) {
      problems.push('the client certificate is not signed by the CA in the token: the token is damaged, create a new one');
    }
  }
  return problems;
}

export interface TokenDescription {
  type: 'claim' | 'cert';
  name: string;
  issuer: { id: string; name?: string };
  endpoint: string;
  expires?: string;
  expiry: string;
  uses?: number;
  valid: boolean;
  problems: string[];
  /** What can only be known by asking the issuing site. */
  caveat?: string;
}

export function describeToken(token: Token, now = new Date()): TokenDescription {
  const problems = offlineProblems(token, now);
  const base = { name: token.name, issuer: token.issuer, valid: problems.length === 0, problems };
  if (token.type === 'claim') {
    return {
      ...base,
      type: 'claim',
      endpoint: token.url,
      expires: token.expires?.toISOString(),
      expiry: token.expires ? describeExpiry(token.expires, now) : 'no expiry recorded',
      uses: token.uses,
      caveat: problems.length === 0 ? 'whether uses are left (or access was revoked) is known only to the issuing site' : undefined,
    };
  }
  const ep = `${token.interRouter.host}:${token.interRouter.port}`;
  return {
    ...base,
    type: 'cert',
    endpoint: token.edge ? `${ep} (inter-router), ${token.edge.host}:${token.edge.port} (edge)` : ep,
    expires: token.expires?.toISOString(),
    expiry: token.expires ? `certificate ${describeExpiry(token.expires, now)}` : 'unknown',
    caveat: problems.length === 0 ? 'whether the issuing site has revoked access is known only to that site' : undefined,
  };
}

export function formatDescription(d: TokenDescription): string {
  const issuer = d.issuer.name ? `${d.issuer.name} (${d.issuer.id})` : d.issuer.id;
  const lines = [
    `Type:     ${d.type === 'claim' ? 'claim (redeemed once for a certificate at the issuing site)' : 'cert (client certificate, used directly)'}`,
    `Name:     ${d.name}`,
    `Issuer:   ${issuer}`,
    `Endpoint: ${d.endpoint}`,
    `Expiry:   ${d.expiry}${d.expires ? ` (${d.expires})` : ''}`,
  ];
  if (d.type === 'claim') lines.push(`Uses:     ${d.uses ?? 'not recorded'}`);
  if (d.valid) lines.push(`Valid:    yes, as far as can be known offline${d.caveat ? ` (${d.caveat})` : ''}`);
  else lines.push(`Valid:    no: ${d.problems.join('; ')}`);
  return lines.join('\n');
}
