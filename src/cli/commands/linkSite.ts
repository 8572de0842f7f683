// Which site a token/link verb acts on: the namespace of a kubeconfig context (default), or a local
// site (--platform local, --site-name N), chosen the way the site verbs choose (siteTarget.ts).
import type { ParsedArgs } from '../args';
import type { GlobalOptions } from '../command';
import { KubeLinkSite } from '../../core/link/kubeSite';
import { LocalLinkSite } from '../../core/link/localSite';
import type { LinkSite } from '../../core/link/site';
import { refuseOnV2Site } from '../../core/v2/mode';
import { platformFlags, siteTarget } from './siteTarget';

export const siteFlags = platformFlags;

export function linkSiteFor(args: ParsedArgs, globals: GlobalOptions): LinkSite {
  const target = siteTarget(args, globals);
  return target.platform === 'local' ? new LocalLinkSite(target.dir) : new KubeLinkSite(target.client());
}

/** A site for a token or link verb that changes it: refused on a site managed by Skupper 2.x resources (AccessGrant, AccessToken, Link there). */
export async function changeableLinkSiteFor(args: ParsedArgs, globals: GlobalOptions, what: string): Promise<LinkSite> {
  const site = linkSiteFor(args, globals);
  if (site instanceof KubeLinkSite) await refuseOnV2Site(site.client, what);
  return site;
}
