// `van status`: the site of the namespace (or the local site): enabled, ready, name, id, links, services.
import type { CliCommand } from '../command';
import { report } from '../command';
import { type SiteStatus, siteStatus } from '../../core/site/kube';
import { localSiteStatus } from '../../core/site/local';
import { platformFlags, siteTarget } from './siteTarget';

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function statusText(s: SiteStatus, where: string): string {
  if (!s.enabled || !s.site) return `Skupper is not enabled in ${where}`;
  const links = s.links === 0 ? 'It has no links to other sites.' : `It has ${plural(s.links, 'link', 'links')} to other sites.`;
  const services =
    s.services === 0 ? 'It has no exposed services.' : `It has ${plural(s.services, 'exposed service', 'exposed services')}.`;
  const lines = [
    `Skupper is enabled for ${where} with site name "${s.site.name}" in ${s.site.mode} mode. ${links} ${services}`,
    `Site id:  ${s.site.id}`,
    `Router:   ${s.routers ? `${s.routers.ready}/${s.routers.total} ready` : 'unknown'}${s.ready ? '' : ' (not ready)'}`,
    `Ingress:  ${s.ingress ?? 'none'}${s.ingressAddress ? ` ${s.ingressAddress}` : ''}`,
  ];
  for (const p of s.problems) lines.push(`Problem:  ${p}`);
  return lines.join('\n');
}

export const statusCommand: CliCommand = {
  path: ['status'],
  usage: 'status [--platform kubernetes|local] [--site-name N]',
  summary: 'show the site: enabled, ready, name, id, links, services',
  available: true,
  flags: { ...platformFlags },
  async run(args, globals, io) {
    const target = siteTarget(args, globals);
    if (target.platform === 'local') {
      const s = await localSiteStatus(target.dir, target.name);
      report(io, globals, s, () => statusText(s, `local site '${target.name}'`));
      return;
    }
    const client = target.client();
    const s = await siteStatus(client);
    report(io, globals, s, () => statusText(s, `namespace ${client.namespace}`));
  },
};
