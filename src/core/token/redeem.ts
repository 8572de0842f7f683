// One redemption of a claim: count a use on the claim record, then issue the cert token. The claims
// endpoint does it through a `Redeem` function, so that it may run where the claim records and the
// CA are (a site's controller container) while the endpoint faces the callers.
import { type ClaimStore, type RefusalReason, redeemClaim } from './claims';
import type { SecretManifest } from './types';

export interface RedeemRequest {
  claim: string;
  siteId?: string;
  siteName?: string;
}

export type Redeemed =
  { ok: true; token: SecretManifest; usesMade: number; usesAllowed: number } | { ok: false; reason: RefusalReason; message: string };

export type Redeem = (claim: string, password: string, request: RedeemRequest) => Promise<Redeemed>;

/** Redeems against `store` and issues with `issue` (called only once a use was counted). */
export function redeemWith(store: ClaimStore, issue: (request: RedeemRequest) => Promise<SecretManifest>): Redeem {
  return async (claim, password, request) => {
    const outcome = await redeemClaim(store, claim, password, request);
    if (!outcome.ok) return outcome;
    return { ok: true, token: await issue(request), usesMade: outcome.record.usesMade, usesAllowed: outcome.record.usesAllowed };
  };
}
