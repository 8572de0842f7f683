// Which site a site verb (init, delete, status, site start|stop) is about: a namespace of a
// kubeconfig context, or a local site. The local platform is used with `--platform local`, or when
// `--site-name N` names an existing local site and neither --context nor --namespace is given.
import type { FlagSpecs, ParsedArgs } from '../args';
import type { GlobalOptions } from '../command';
import { UsageError } from '../../core/errors';
import { KubeClient } from '../../core/kube/client';
import { listLocalSites, localSiteDir } from '../../core/site/local';

export const platformFlags: FlagSpecs = {
  platform: {
    type: 'string',
    choices: ['kubernetes', 'local'],
    description:
      "kubernetes (the context's namespace) or local (this machine); local is picked by itself when --site-name names a local site and no --context/--namespace is given",
  },
  'site-name': { type: 'string', description: "the site's name (default: the namespace name; required for local sites)" },
};

export type SiteTarget = { platform: 'kubernetes'; client: () => KubeClient } | { platform: 'local'; name: string; dir: string };

export function siteTarget(args: ParsedArgs, globals: GlobalOptions, defaultPlatform?: 'local'): SiteTarget {
  const siteName = args.flags['site-name'] as string | undefined;
  let platform = args.flags.platform as 'kubernetes' | 'local' | undefined;
  if (!platform && siteName && !globals.context && !globals.namespace && listLocalSites().includes(siteName)) platform = 'local';
  platform ??= defaultPlatform ?? 'kubernetes';
  if (platform === 'local') {
    if (!siteName) {
      const sites = listLocalSites();
      if (sites.length === 1) return { platform, name: sites[0], dir: localSiteDir(sites[0]) };
      throw new UsageError(
        'name the local site with --site-name' +
          (sites.length
            ? ` (local sites: ${sites.join(', ')})`
            : ' (there is none on this machine yet: `van init --platform local --site-name NAME` makes one)'),
      );
    }
    return { platform, name: siteName, dir: localSiteDir(siteName) };
  }
  return {
    platform,
    client: () =>
      KubeClient.forContext({
        kubeconfig: globals.kubeconfig,
        context: globals.context,
        namespace: globals.namespace,
        timeoutMs: timeoutFromEnv(),
      }),
  };
}

function timeoutFromEnv(): number | undefined {
  const s = Number(process.env.VAN_KUBE_TIMEOUT);
  return Number.isFinite(s) && s > 0 ? s * 1000 : undefined;
}
