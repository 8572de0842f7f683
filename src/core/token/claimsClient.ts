// Redeeming a claim token at the issuing site's claims endpoint, verifying the endpoint with the CA the
// token carries. Every failure becomes one sentence: TLS (unknown CA, name mismatch with the names the
// certificate holds, expired), TCP (refused, timeout, no route, unknown host) or the site's refusal.
import https from 'node:https';
import { X509Certificate } from 'node:crypto';
import { checkServerIdentity, connect as tlsConnect, type PeerCertificate, type TLSSocket } from 'node:tls';
import { UserError } from '../errors';
import { checkHostName, isUnknownCaError } from '../pki';
import type { ClaimAnswer } from './claimsServer';
import { tokenFromSecret } from './token';
import type { CertToken, ClaimToken } from './types';

export class ClaimRefused extends UserError {
  constructor(
    message: string,
    readonly reason: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ClaimRefused';
  }
}

export interface RedeemOptions {
  siteId: string;
  siteName: string;
  timeoutMs?: number;
}

function pemOf(cert: PeerCertificate | undefined): string | undefined {
  if (!cert?.raw) return undefined;
  const b64 = cert.raw.toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

/** One sentence for a failed HTTPS/TLS connection to `host:port`; `peerPem` is the server's certificate if seen. */
export function describeTlsFailure(err: unknown, host: string, port: number, peerPem?: string, what = 'the claims endpoint'): string {
  const e = err as NodeJS.ErrnoException;
  const code = e?.code ?? '';
  const where = `${host}:${port}`;
  if (isUnknownCaError(code)) {
    let subject = '';
    if (peerPem) {
      try {
        subject = `; it presents a certificate issued by ${new X509Certificate(peerPem).issuer.replace(/\n/g, ', ')}`;
      } catch {
        // keep it short
      }
    }
    return (
      `${what} at ${where} is not signed by the CA in the token (unknown CA${subject}): ` +
      `the token is from another site, or that site revoked access since; create a new token there`
    );
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const reason = peerPem ? checkHostName(peerPem, host).reason : undefined;
    return (
      `certificate name mismatch at ${where}: ${reason ?? `the certificate does not name ${host}`}; ` +
      `the issuing site's ingress host changed since its certificate was made ` +
      `(re-create its server certificate, or use a token naming one of those hosts)`
    );
  }
  if (code === 'CERT_HAS_EXPIRED') {
    let when = '';
    if (peerPem) {
      try {
        when = ` on ${new Date(new X509Certificate(peerPem).validTo).toISOString()}`;
      } catch {
        // keep it short
      }
    }
    return `the certificate of ${what} at ${where} expired${when}: the issuing site must renew its certificates (van revoke-access there), then create a new token`;
  }
  if (code === 'CERT_NOT_YET_VALID') return `the certificate of ${what} at ${where} is not valid yet: check the clocks of both machines`;
  if (code === 'ECONNREFUSED')
    return `connection refused by ${where}: nothing listens there (the issuing site's router is not running, or its ingress is not ready yet)`;
  if (code === 'ETIMEDOUT' || code === 'VAN_TIMEOUT')
    return `timed out reaching ${what} at ${where}: the host does not answer (firewall, wrong address, or the site is down)`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return `cannot resolve the host name "${host}" of ${what}: check the token's URL or your DNS`;
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return `no network route to ${where}`;
  if (code === 'ECONNRESET')
    return `the connection to ${where} was reset while redeeming the claim: retry, and check that ${where} is the site's claims port`;
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number/i.test(e?.message ?? ''))
    return `${where} does not speak TLS: is it the claims port of a site?`;
  return `${e?.message ?? String(err)}${code ? ` (${code})` : ''} reaching ${what} at ${where}`;
}

const REFUSAL_WORDS: Record<string, string> = {
  unknown: 'unknown claim',
  expired: 'claim expired',
  'used-up': 'claim used up',
  'wrong-password': 'wrong password',
  'rate-limited': 'too many attempts',
  'bad-request': 'bad request',
  internal: 'the site failed',
};

/** Redeems `token` at its URL; resolves with the cert token the site hands out, or throws one sentence. */
export async function redeemClaimToken(token: ClaimToken, options: RedeemOptions): Promise<CertToken> {
  const url = new URL(token.url);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || 443);
  const body = JSON.stringify({ password: token.password, siteId: options.siteId, siteName: options.siteName });
  const timeoutMs = options.timeoutMs ?? 15_000;
  let peerPem: string | undefined;
  const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    let settled = false;
    const fail = (e: unknown): void => {
      if (settled) return;
      settled = true;
      const code = (e as NodeJS.ErrnoException)?.code ?? '';
      // the chain did not verify: look at the certificate once more, without sending anything, to name its issuer
      const peer = isUnknownCaError(code) || code === 'CERT_HAS_EXPIRED' ? fetchPeerCertificate(host, port) : Promise.resolve(peerPem);
      void peer.then((pem) =>
        reject(new ClaimRefused(`cannot redeem the claim: ${describeTlsFailure(e, host, port, pem ?? peerPem)}`, 'connect')),
      );
    };
    const req = https.request(
      {
        host,
        port,
        method: 'POST',
        path: url.pathname,
        ca: token.caPem,
        servername: /^[\d.]+$|:/.test(host) ? undefined : host,
        checkServerIdentity: (hostname, cert) => {
          peerPem = pemOf(cert);
          // node's own check; its failure carries code ERR_TLS_CERT_ALTNAME_INVALID
          return checkServerIdentity(hostname, cert);
        },
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', fail);
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
        });
      },
    );
    req.on('socket', (socket) => {
      socket.on('secureConnect', () => {
        try {
          const cert = (socket as TLSSocket).getPeerCertificate?.();
          if (cert && Object.keys(cert).length) peerPem = pemOf(cert);
        } catch {
          // not fatal
        }
      });
    });
    req.on('error', (e) => {
      clearTimeout(timer);
      // a certificate the CA does not know: still name who issued it
      const sock = req.socket as TLSSocket | null;
      try {
        const cert = sock?.getPeerCertificate?.();
        if (!peerPem && cert && Object.keys(cert).length) peerPem = pemOf(cert);
      } catch {
        // not fatal
      }
      fail(e);
    });
    const timer = setTimeout(() => {
      const e = Object.assign(new Error('timeout'), { code: 'VAN_TIMEOUT' });
      fail(e);
      req.destroy(e);
    }, timeoutMs);
    req.end(body);
  });
  let parsed: ClaimAnswer;
  try {
    parsed = JSON.parse(answer.text) as ClaimAnswer;
  } catch {
    throw new ClaimRefused(
      `cannot redeem the claim: ${host}:${port} answered HTTP ${answer.status} without a claims answer: is it a site's claims port?`,
      'protocol',
      answer.status,
    );
  }
  if (answer.status !== 200 || !parsed.ok || !parsed.token) {
    const reason = parsed.reason ?? 'unknown';
    const words = REFUSAL_WORDS[reason] ?? reason;
    throw new ClaimRefused(
      `the issuing site refused the claim (${words}): ${parsed.message ?? `HTTP ${answer.status}`}`,
      reason,
      answer.status,
    );
  }
  const cert = tokenFromSecret(parsed.token, 'the certificate the issuing site returned');
  if (cert.type !== 'cert') throw new ClaimRefused('the issuing site returned something other than a certificate token', 'protocol');
  return cert;
}

/** The certificate a TLS server presents, without trusting it or sending anything (for diagnosis). */
export function fetchPeerCertificate(host: string, port: number, timeoutMs = 3000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host, port, rejectUnauthorized: false, servername: /^[\d.]+$|:/.test(host) ? undefined : host });
    const done = (pem: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(pem);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.once('secureConnect', () => done(pemOf(socket.getPeerCertificate())));
    socket.once('error', () => done(undefined));
  });
}
