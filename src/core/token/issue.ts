// Issuing tokens at a site: claim tokens (recorded by the site) and cert tokens (a client certificate
// signed by the site CA), and the certificate a claims endpoint hands out on redemption.
import { issueCertificateAsync, type KeyPair, type KeyPool } from '../pki';
import { UserError } from '../errors';
import type { LinkSite } from '../link/site';
import { newClaimRecord } from './claims';
import { certTokenSecret, checkName, claimTokenSecret, newClaimName, newPassword } from './token';
import type { SecretManifest, SiteIdentity, SiteIngress } from './types';

/** Link client certificates live as long as the CA allows by default (revoke-access ends them). */
export const CLIENT_CERT_DAYS = 5 * 365;

/** A cert token for a site that will link to `site` through `ingress`; `pool` holds keys made ahead. */
export async function makeCertToken(
  ca: KeyPair,
  site: SiteIdentity,
  ingress: SiteIngress,
  name: string,
  clientName?: string,
  pool?: KeyPool,
): Promise<SecretManifest> {
  const client = await issueCertificateAsync(ca, { commonName: clientName ?? name, usage: 'client', validDays: CLIENT_CERT_DAYS }, pool);
  return certTokenSecret({
    name,
    certPem: client.certPem,
    keyPem: client.keyPem,
    caPem: ca.certPem,
    interRouter: { host: ingress.host, port: ingress.interRouterPort },
    edge: { host: ingress.host, port: ingress.edgePort },
    site,
  });
}

export interface CreateTokenOptions {
  type: 'claim' | 'cert';
  expiryMs: number;
  uses: number;
  name?: string;
  now?: Date;
}

export interface CreatedToken {
  secret: SecretManifest;
  site: SiteIdentity;
  ingress: SiteIngress;
  expires?: Date;
}

/** URL host part: IPv6 literals in brackets. */
export function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

export async function createToken(site: LinkSite, options: CreateTokenOptions): Promise<CreatedToken> {
  if (!Number.isInteger(options.uses) || options.uses < 1)
    throw new UserError(`--uses must be a whole number of at least 1 (got ${options.uses})`);
  const answer = await site.ingress();
  if (!answer.ok) throw new UserError(answer.reason);
  const ingress = answer.ingress;
  const identity = await site.identity();
  const ca = await site.ca();
  const now = options.now ?? new Date();
  if (options.type === 'cert') {
    const name = options.name
      ? checkName(options.name)
      : `${identity.name}-${newClaimName().slice(0, 8)}`
          .toLowerCase()
          .replace(/[^a-z0-9-]/g, '-')
          .slice(0, 63);
    return { secret: await makeCertToken(ca, identity, ingress, name), site: identity, ingress };
  }
  const name = options.name ? checkName(options.name) : newClaimName();
  if (await site.secretExists(name)) {
    throw new UserError(`a Secret named ${name} already exists at site ${identity.name}: choose another --name`);
  }
  const password = newPassword();
  const expires = new Date(now.getTime() + options.expiryMs);
  await site.claims().create(newClaimRecord(name, password, options.uses, expires, now));
  const url = `https://${urlHost(ingress.host)}:${ingress.claimsPort}/${encodeURIComponent(name)}`;
  const secret = claimTokenSecret({ name, password, url, caPem: ca.certPem, site: identity, expires, uses: options.uses });
  return { secret, site: identity, ingress, expires };
}
