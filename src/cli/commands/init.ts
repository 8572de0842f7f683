// `van init`: install a site in the namespace (or on this machine with --platform local).
import type { CliCommand } from '../command';
import { report } from '../command';
import { UsageError } from '../../core/errors';
import { imageReferenceProblem } from '../../core/site/image';
import { initSite } from '../../core/site/kube';
import { refuseOnV2Site } from '../../core/v2/mode';
import { initLocalSite, startLocalSite } from '../../core/site/local';
import type { Ingress, RouterMode } from '../../core/site/names';
import { platformFlags, siteTarget } from './siteTarget';

function keyValues(list: string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`--${flag} takes KEY=VALUE (got "${item}")`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

export const initCommand: CliCommand = {
  path: ['init'],
  usage: 'init [--site-name N] [--ingress loadbalancer|nodeport|none] [--routers K] [--platform kubernetes|local]',
  summary: 'install a site in the namespace (or on this machine)',
  available: true,
  flags: {
    ...platformFlags,
    ingress: {
      type: 'string',
      choices: ['loadbalancer', 'nodeport', 'none'],
      description:
        'how other sites reach this one: loadbalancer (default on Kubernetes), nodeport, or none (outgoing links only; default for local sites)',
    },
    'ingress-host': {
      type: 'string',
      description: "host name or IP other sites use (added to the server certificate; nodeport, or the local site's listen address)",
    },
    'router-mode': { type: 'string', choices: ['interior', 'edge'], description: 'interior (default) or edge (no incoming links)' },
    routers: { type: 'number', description: 'router replicas (default 1)' },
    'router-image': {
      type: 'string',
      description: 'image of the router pod (default node:20-alpine); pin it by digest: IMAGE@sha256:DIGEST',
    },
    labels: { type: 'string', multiple: true, description: 'KEY=VALUE label on every object of the site (repeatable)' },
    annotations: { type: 'string', multiple: true, description: 'KEY=VALUE annotation on every object of the site (repeatable)' },
    update: { type: 'boolean', description: 're-apply the objects of an existing site (keeps its id and CA)' },
    wait: { type: 'boolean', description: 'wait until the router is ready (default true; --wait=false to return at once)' },
    timeout: { type: 'number', description: 'seconds to wait for the ingress address and the router (default 120)' },
  },
  async run(args, globals, io) {
    const target = siteTarget(args, globals);
    const ingress = args.flags.ingress as Ingress | undefined;
    const routerMode = args.flags['router-mode'] as RouterMode | undefined;
    const timeoutMs = ((args.flags.timeout as number | undefined) ?? 120) * 1000;
    const progress = (line: string) => io.err(line);
    if (target.platform === 'local') {
      const { dir, site } = await initLocalSite({
        siteName: target.name,
        ingress,
        routerMode,
        host: args.flags['ingress-host'] as string | undefined,
      });
      progress(`local site ${site.name} (id ${site.id}) in ${dir}; starting its router…`);
      const started = args.flags.wait === false ? undefined : await startLocalSite(dir, { timeoutMs });
      report(
        io,
        globals,
        { platform: 'local', site: { name: site.name, id: site.id, mode: site.mode }, dir, pid: started?.pid ?? null, ports: site.ports },
        () =>
          `Skupper is now installed on this machine as local site '${site.name}'.  Use 'van status --site-name ${site.name}' to get more information.`,
      );
      return;
    }
    const routers = args.flags.routers as number | undefined;
    const image = args.flags['router-image'] as string | undefined;
    const imageProblem = image === undefined ? undefined : imageReferenceProblem(image);
    if (imageProblem) throw new UsageError(`--router-image: ${imageProblem}`);
    if (routers !== undefined && (!Number.isInteger(routers) || routers < 1 || routers > 16))
      throw new UsageError('--routers must be an integer from 1 to 16');
    const client = target.client();
    await refuseOnV2Site(client, 'van init');
    const result = await initSite(client, {
      namespace: client.namespace,
      siteName: args.flags['site-name'] as string | undefined,
      ingress,
      ingressHost: args.flags['ingress-host'] as string | undefined,
      routerMode,
      routers,
      routerImage: image,
      labels: keyValues(args.flags.labels as string[] | undefined, 'labels'),
      annotations: keyValues(args.flags.annotations as string[] | undefined, 'annotations'),
      update: args.flags.update === true,
      noWait: args.flags.wait === false,
      ingressTimeoutMs: timeoutMs,
      readyTimeoutMs: timeoutMs,
      progress,
    });
    report(
      io,
      globals,
      {
        platform: 'kubernetes',
        namespace: client.namespace,
        site: { name: result.site.name, id: result.site.id, mode: result.site.routerMode },
        ready: result.ready,
        ingressAddress: result.ingressAddress ?? null,
        created: result.created,
        elapsedMs: result.elapsedMs,
      },
      () => `Skupper is now installed in namespace '${client.namespace}'.  Use 'van status' to get more information.`,
    );
  },
};
