// `van delete`: remove the site and everything it created (owner references plus an explicit sweep).
import type { CliCommand } from '../command';
import { report } from '../command';
import { deleteSite } from '../../core/site/kube';
import { deleteLocalSite } from '../../core/site/local';
import { refuseOnV2Site } from '../../core/v2/mode';
import { platformFlags, siteTarget } from './siteTarget';

export const deleteCommand: CliCommand = {
  path: ['delete'],
  usage: 'delete [--platform kubernetes|local] [--site-name N]',
  summary: 'remove the site and everything it created',
  available: true,
  flags: { ...platformFlags },
  async run(args, globals, io) {
    const target = siteTarget(args, globals);
    if (target.platform === 'local') {
      const r = await deleteLocalSite(target.dir);
      report(
        io,
        globals,
        { platform: 'local', existed: r.existed, removed: r.existed ? [target.dir] : [], stoppedRouter: r.stopped },
        () =>
          r.existed
            ? `Skupper is now removed from this machine: local site '${target.name}' (${target.dir})${r.stopped ? ', router stopped' : ''}.`
            : `no local site ${target.name}: nothing to delete`,
      );
      return;
    }
    const client = target.client();
    await refuseOnV2Site(client, 'van delete (delete the Site resource instead)');
    const r = await deleteSite(client, { progress: (line) => io.err(line) });
    report(
      io,
      globals,
      {
        platform: 'kubernetes',
        namespace: client.namespace,
        existed: r.existed,
        site: r.site ? { name: r.site.name, id: r.site.id } : null,
        removed: r.removed,
        podsGone: r.podsGone,
      },
      () => {
        if (!r.existed) return `no site in namespace ${client.namespace}: nothing to delete`;
        return [
          `Skupper is now removed from '${client.namespace}'.`,
          ...r.removed.map((o) => `  deleted ${o}`),
          ...(r.podsGone ? [] : ['  (router pods are still terminating)']),
        ].join('\n');
      },
    );
  },
};
