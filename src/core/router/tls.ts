// TLS material for links: one SecureContext per distinct (ca, cert, key) content, reused by every
// connection, and errors translated into words a user can act on.
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { isUnknownCaError } from '../pki';
import type { TlsFiles } from './config.js';

export interface LoadedTls {
  context: tls.SecureContext;
  /** The PEM contents, for servers (tls.Server builds its one shared context from these). */
  pem: { ca: Buffer; cert: Buffer; key: Buffer };
  /** Hash of the file contents: a changed hash means rotated certificates. */
  hash: string;
  caNames: string[];
}

const cache = new Map<string, LoadedTls>();

export function loadTls(files: TlsFiles): LoadedTls {
  let ca: Buffer;
  let cert: Buffer;
  let key: Buffer;
  try {
    ca = readFileSync(files.ca);
    cert = readFileSync(files.cert);
    key = readFileSync(files.key);
  } catch (e) {
    throw new Error(`cannot read TLS files (${(e as Error).message})`, { cause: e });
  }
  const hash = createHash('sha256').update(ca).update('\0').update(cert).update('\0').update(key).digest('hex');
  const hit = cache.get(hash);
  if (hit) return hit;
  let context: tls.SecureContext;
  try {
    context = tls.createSecureContext({ ca, cert, key, minVersion: 'TLSv1.3' });
  } catch (e) {
    throw new Error(
      `the TLS files ${files.cert}, ${files.key}, ${files.ca} do not form a usable key pair and CA (${(e as Error).message})`,
      { cause: e },
    );
  }
  let caNames: string[] = [];
  try {
    caNames = [new X509Certificate(ca).subject.replace(/\n/g, ', ')];
  } catch {
    // not fatal
  }
  const loaded = { context, hash, caNames, pem: { ca, cert, key } };
  if (cache.size > 64) cache.clear();
  cache.set(hash, loaded);
  return loaded;
}

function certNames(cert: { subjectaltname?: string; subject?: { CN?: string | string[] } } | undefined): string {
  if (!cert) return 'no names';
  const alt = cert.subjectaltname
    ? cert.subjectaltname
        .split(/,\s*/)
        .map((s) => s.replace(/^(DNS|IP Address):/, ''))
        .join(', ')
    : '';
  const cn = cert.subject?.CN;
  return alt || (cn ? `CN ${Array.isArray(cn) ? cn.join(', ') : cn}` : 'no names');
}

/**
 * Words for a failed outgoing link: what happened and what to do. `socket` is the TLS socket when the
 * failure happened during or after the handshake (gives the peer certificate).
 */
export function describeConnectError(err: unknown, host: string, port: number, socket?: tls.TLSSocket): string {
  const e = err as NodeJS.ErrnoException & { reason?: string };
  const code = e?.code ?? '';
  const msg = e?.message ?? String(err);
  const where = `${host}:${port}`;
  if (isUnknownCaError(code)) {
    return `the remote site's certificate is not signed by the CA in the token: the token is from another network or access was revoked (${where}, ${code})`;
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const fromError = (e as { cert?: tls.PeerCertificate }).cert;
    const peer =
      fromError && Object.keys(fromError).length ? fromError : (socket?.getPeerCertificate?.() as tls.PeerCertificate | undefined);
    const names = peer && Object.keys(peer).length ? certNames(peer) : (e.reason ?? '').replace(/^.*?: /, '');
    return `the remote site's certificate does not name "${host}": it holds ${names}; connect with one of those names or reissue the site's certificate with this one`;
  }
  if (code === 'CERT_HAS_EXPIRED') {
    const peer = socket?.getPeerCertificate?.();
    const when = peer && peer.valid_to ? ` on ${new Date(peer.valid_to).toISOString()}` : '';
    return `the remote site's certificate expired${when}: renew the site's certificates (${where})`;
  }
  if (code === 'CERT_NOT_YET_VALID') {
    return `the remote site's certificate is not valid yet: check the clocks of both machines (${where})`;
  }
  if (code === 'ECONNREFUSED') return `connection refused by ${where}: nothing listens there (router not running, wrong port or host)`;
  if (code === 'ETIMEDOUT' || code === 'VAN_TIMEOUT')
    return `timed out connecting to ${where}: the host does not answer (firewall, wrong address or router down)`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `cannot resolve the host name "${host}": check the token's host or your DNS`;
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return `no network route to ${where}`;
  if (
    /ALERT_CERTIFICATE_REQUIRED|ALERT_UNKNOWN_CA|ALERT_BAD_CERTIFICATE|ALERT_CERTIFICATE_UNKNOWN|ALERT_ACCESS_DENIED|ALERT_DECRYPT_ERROR/i.test(
      code,
    ) ||
    /alert (unknown ca|bad certificate|certificate required|certificate unknown)/i.test(msg)
  ) {
    return `the remote site rejected our client certificate: the link's token is from another network or access was revoked; create a new token at the remote site (${where})`;
  }
  if (/ALERT_CERTIFICATE_EXPIRED|alert certificate expired/i.test(code + msg)) {
    return `the remote site says our client certificate expired: create a new token at the remote site (${where})`;
  }
  if (code === 'ECONNRESET' || code === 'EPIPE') return `the connection to ${where} was reset (${msg})`;
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number/i.test(msg)) {
    return `${where} does not speak TLS: is it the link port of a site router?`;
  }
  return `${msg}${code && !msg.includes(code) ? ` (${code})` : ''} (${where})`;
}

/** Words for an incoming link refused at the handshake (server side). */
export function describeAcceptError(err: unknown): string {
  const e = (typeof err === 'string' ? Object.assign(new Error(err), { code: err }) : err) as NodeJS.ErrnoException;
  const code = e?.code ?? '';
  const msg = e?.message ?? String(err);
  if (/PEER_DID_NOT_RETURN_A_CERTIFICATE|certificate required|UNABLE_TO_GET_ISSUER_CERT$/i.test(code + msg) && !/LOCALLY/.test(code))
    return 'a peer connected without a client certificate';
  if (isUnknownCaError(code) || /unknown ca|certificate verify failed|self.signed|unable to get/i.test(msg)) {
    return `a peer presented a client certificate not signed by this site's CA (${code || msg}): a token from another network, or access was revoked`;
  }
  if (code === 'ECONNRESET' || /socket hang up/.test(msg)) {
    return "a peer gave up during the TLS handshake: it does not trust this site's certificate (a token from another network?) or it is not a van router";
  }
  return `TLS handshake with a peer failed: ${msg}`;
}
