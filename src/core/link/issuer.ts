// The cert token a site hands to whoever redeemed one of its claims: a client certificate signed by
// the site CA, for the site's ingress. Used by the claims endpoint of a local site and by the
// controller container of a Kubernetes site (the router container never holds the CA).
import type { KeyPool } from '../pki';
import { makeCertToken } from '../token/issue';
import type { RedeemRequest } from '../token/redeem';
import type { SecretManifest, SiteIdentity } from '../token/types';
import type { LinkSite } from './site';

export function certIssuer(site: LinkSite, identity: SiteIdentity, keys?: KeyPool): (request: RedeemRequest) => Promise<SecretManifest> {
  return async (request) => {
    const [ca, ingress] = await Promise.all([site.ca(), site.ingress()]);
    if (!ingress.ok) throw new Error(ingress.reason);
    const who = (request.siteName ?? 'site').toLowerCase().replace(/[^a-z0-9-]/g, '-');
    return makeCertToken(
      ca,
      identity,
      ingress.ingress,
      `${identity.name}-${request.claim}`.slice(0, 63).replace(/-+$/, ''),
      `${who}-link-to-${identity.name}`,
      keys,
    );
  };
}
