// Certificates for sites and links, issued with node-forge.
//
// Keys are RSA-2048: node-forge signs X.509 only with RSA, 2048 bits is the smallest size still
// considered safe through 2030, and a 2048-bit handshake costs a few milliseconds of CPU, which the
// router pays once per inter-router connection (flows are multiplexed over it, never one handshake
// per flow). Key generation uses Node's native RSA (forge delegates to crypto.generateKeyPairSync).
import { generateKeyPair, randomBytes, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';

export interface KeyPair {
  certPem: string;
  keyPem: string;
}

export type CertificateUsage = 'server' | 'client' | 'both';

export interface CertificateRequest {
  commonName: string;
  dnsNames?: string[];
  ipAddresses?: string[];
  usage: CertificateUsage;
  validDays?: number;
}

export interface CertificateInfo {
  subject: string;
  issuer: string;
  dnsNames: string[];
  ipAddresses: string[];
  notBefore: Date;
  notAfter: Date;
  isCA: boolean;
  fingerprint256: string;
}

const DEFAULT_CA_DAYS = 5 * 365;
const DEFAULT_LEAF_DAYS = 5 * 365;

function newKeys(): forge.pki.rsa.KeyPair {
  return forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
}

function serialNumber(): string {
  // Positive 128-bit serial: clear the top bit so DER does not read it as negative.
  const bytes = randomBytes(16);
  bytes[0] = bytes[0] & 0x7f;
  return bytes.toString('hex');
}

function validity(cert: forge.pki.Certificate, days: number): void {
  const now = Date.now();
  cert.validity.notBefore = new Date(now - 5 * 60 * 1000); // tolerate small clock skew
  cert.validity.notAfter = new Date(now + days * 24 * 3600 * 1000);
}

/** A self-signed certificate authority for one site. */
export function createCA(commonName: string, validDays = DEFAULT_CA_DAYS): KeyPair {
  const keys = newKeys();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serialNumber();
  validity(cert, validDays);
  const attrs = [{ name: 'commonName', value: commonName }];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: forge.pki.privateKeyToPem(keys.privateKey) };
}

/** A leaf certificate signed by `ca`, for a router's server side, a link's client side, or both. */
export function issueCertificate(ca: KeyPair, request: CertificateRequest): KeyPair {
  return signLeaf(ca, request, newKeys());
}

/**
 * The same as issueCertificate, but the key is made on libuv's thread pool (or taken ready from
 * `pool`), so a process that also forwards traffic (the site agent next to its router) never blocks
 * its event loop for the hundreds of milliseconds an RSA-2048 key costs.
 */
export async function issueCertificateAsync(ca: KeyPair, request: CertificateRequest, pool?: KeyPool): Promise<KeyPair> {
  return signLeaf(ca, request, await (pool ? pool.take() : generateKeysAsync()));
}

function signLeaf(ca: KeyPair, request: CertificateRequest, keys: forge.pki.rsa.KeyPair): KeyPair {
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serialNumber();
  validity(cert, request.validDays ?? DEFAULT_LEAF_DAYS);
  cert.setSubject([{ name: 'commonName', value: request.commonName }]);
  cert.setIssuer(caCert.subject.attributes);
  const altNames = [
    ...(request.dnsNames ?? []).map((value) => ({ type: 2, value })),
    ...(request.ipAddresses ?? []).map((ip) => ({ type: 7, ip })),
  ];
  const extensions: object[] = [
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    {
      name: 'extKeyUsage',
      serverAuth: request.usage !== 'client',
      clientAuth: request.usage !== 'server',
    },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ];
  if (altNames.length > 0) extensions.push({ name: 'subjectAltName', altNames });
  cert.setExtensions(extensions);
  cert.sign(caKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: forge.pki.privateKeyToPem(keys.privateKey) };
}

/** An RSA-2048 key pair made off the event loop. */
export function generateKeysAsync(): Promise<forge.pki.rsa.KeyPair> {
  return new Promise((resolve, reject) => {
    generateKeyPair('rsa', { modulusLength: 2048, publicExponent: 0x10001 }, (error, _publicKey, privateKey) => {
      if (error) return reject(error);
      const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
      const priv = forge.pki.privateKeyFromPem(pem) as forge.pki.rsa.PrivateKey;
      resolve({ privateKey: priv, publicKey: forge.pki.setRsaPublicKey(priv.n, priv.e) });
    });
  });
}

/**
 * Keeps a few keys ready so that issuing a certificate on demand (a claim being redeemed) costs a
 * signature, not a key generation. Refills in the background after each take.
 */
export class KeyPool {
  private readonly ready: forge.pki.rsa.KeyPair[] = [];
  private filling = 0;

  constructor(private readonly size = 2) {}

  /** Starts making keys now, so the first take is already fast. */
  warm(): this {
    this.refill();
    return this;
  }

  async take(): Promise<forge.pki.rsa.KeyPair> {
    const keys = this.ready.shift() ?? (await generateKeysAsync());
    this.refill();
    return keys;
  }

  get available(): number {
    return this.ready.length;
  }

  private refill(): void {
    while (this.ready.length + this.filling < this.size) {
      this.filling++;
      generateKeysAsync()
        .then((keys) => this.ready.push(keys))
        .catch(() => undefined)
        .finally(() => this.filling--);
    }
  }
}

/** Splits the names a user gives (host names and IP addresses) into SAN kinds. */
export function splitHostNames(hosts: string[]): { dnsNames: string[]; ipAddresses: string[] } {
  const unique = [...new Set(hosts.filter((h) => h.length > 0))];
  return {
    dnsNames: unique.filter((h) => isIP(h) === 0),
    ipAddresses: unique.filter((h) => isIP(h) !== 0),
  };
}

/** Reads back what a certificate says, for diagnosis. */
export function describeCertificate(certPem: string): CertificateInfo {
  const x509 = new X509Certificate(certPem);
  const names = (x509.subjectAltName ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return {
    subject: x509.subject,
    issuer: x509.issuer,
    dnsNames: names.filter((n) => n.startsWith('DNS:')).map((n) => n.slice(4)),
    ipAddresses: names.filter((n) => n.startsWith('IP Address:')).map((n) => n.slice(11)),
    notBefore: new Date(x509.validFrom),
    notAfter: new Date(x509.validTo),
    isCA: x509.ca,
    fingerprint256: x509.fingerprint256,
  };
}

/** True when `certPem` was signed by the CA in `caPem`. */
export function isSignedBy(certPem: string, caPem: string): boolean {
  const cert = new X509Certificate(certPem);
  const ca = new X509Certificate(caPem);
  return cert.checkIssued(ca) && cert.verify(ca.publicKey);
}

/** Whether the certificate is valid for `host`; if not, a sentence naming what it is valid for. */
export function checkHostName(certPem: string, host: string): { ok: boolean; reason?: string } {
  const x509 = new X509Certificate(certPem);
  const matched = isIP(host) ? x509.checkIP(host) : x509.checkHost(host);
  if (matched) return { ok: true };
  const info = describeCertificate(certPem);
  const names = [...info.dnsNames, ...info.ipAddresses];
  return { ok: false, reason: `certificate valid for ${names.length ? names.join(', ') : 'no names'}, not ${host}` };
}

/** "expired 2 days ago", "expires in 3 days", "expires in 5 hours": for status lines. */
export function describeExpiry(notAfter: Date, now: Date = new Date()): string {
  const ms = notAfter.getTime() - now.getTime();
  const span = humanSpan(Math.abs(ms));
  return ms < 0 ? `expired ${span} ago` : `expires in ${span}`;
}

export function humanSpan(ms: number): string {
  const minutes = Math.round(ms / 60000);
  if (minutes < 1) return `${Math.max(1, Math.round(ms / 1000))} seconds`;
  if (minutes < 120) return `${minutes} minute${minutes === 1 ? '' : 's'}`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} hours`;
  return `${Math.round(hours / 24)} days`;
}

/** Node's verification codes that mean "not signed by a CA we trust" (another network, or revoked). */
const UNKNOWN_CA_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_SIGNATURE_FAILURE',
]);

export function isUnknownCaError(code: string): boolean {
  return UNKNOWN_CA_CODES.has(code);
}
