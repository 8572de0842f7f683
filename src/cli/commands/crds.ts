// van crds install [--controller] [--all-namespaces] [--router-image I]
// van crds status
import { UsageError, UserError } from '../../core/errors';
import { KubeClient } from '../../core/kube/client';
import { readRouterBundleGzip } from '../../core/site/bundle';
import { V2Api } from '../../core/v2/api';
import { crdName } from '../../core/v2/crds';
import { installController, installCrds } from '../../core/v2/install';
import { V2_KINDS } from '../../core/v2/types';
import { type CliCommand, type GlobalOptions, report } from '../command';

const clientFor = (globals: GlobalOptions) =>
  KubeClient.forContext({ kubeconfig: globals.kubeconfig, context: globals.context, namespace: globals.namespace });

export const crdsInstallCommand: CliCommand = {
  path: ['crds', 'install'],
  usage: 'crds install [--controller] [--all-namespaces] [--controller-only] [--router-image I]',
  summary: 'install the Skupper 2.x resources (CRDs; cluster-admin) and, with --controller, their controller in the namespace',
  available: true,
  flags: {
    controller: {
      type: 'boolean',
      description: 'also run the controller that reconciles Sites, Connectors, Listeners... in this namespace',
    },
    'all-namespaces': { type: 'boolean', description: 'the controller watches every namespace (needs cluster-admin), not only its own' },
    'controller-only': {
      type: 'boolean',
      description: 'only the controller (the CRDs are installed already): a namespace admin may do this',
    },
    'router-image': { type: 'string', description: 'the image the controller and the routers it makes run (node:20-alpine by default)' },
  },
  async run(args, globals, io) {
    if (args.positionals.length) throw new UsageError(`unexpected argument "${args.positionals[0]}"`);
    const client = clientFor(globals);
    const controllerOnly = args.flags['controller-only'] === true;
    const wantController = controllerOnly || args.flags.controller === true;
    if (args.flags['all-namespaces'] && !wantController)
      throw new UsageError('--all-namespaces applies to the controller: add --controller');
    const controller = wantController
      ? {
          allNamespaces: args.flags['all-namespaces'] === true,
          image: args.flags['router-image'] as string | undefined,
          bundleGzip: readRouterBundleGzip().gzip,
        }
      : undefined;
    if (controllerOnly && (await new V2Api(client).installedKinds()).length < V2_KINDS.length) {
      throw new UserError(
        `the Skupper 2.x CRDs are not installed in cluster ${client.contextName}: a cluster admin runs "van crds install" first`,
      );
    }
    const result = controllerOnly
      ? { crds: [], objects: await installController(client, { ...controller!, namespace: client.namespace }) }
      : await installCrds(client, controller);
    report(io, globals, { namespace: client.namespace, ...result }, () =>
      [
        ...result.crds.map((c) => `CustomResourceDefinition ${c.name} ${c.action}`),
        ...result.objects.map((o) => `${o} applied`),
        controller
          ? `The controller in namespace ${client.namespace} reconciles Skupper 2.x resources in ${controller.allNamespaces ? 'every namespace' : 'this namespace'}: create a Site to make a site.`
          : 'No controller yet: run "van crds install --controller-only" in the namespace that should run it (add --all-namespaces for a cluster-wide one).',
      ].join('\n'),
    );
  },
};

export const crdsStatusCommand: CliCommand = {
  path: ['crds', 'status'],
  usage: 'crds status',
  summary: 'which Skupper 2.x resources the cluster serves',
  available: true,
  flags: {},
  async run(_args, globals, io) {
    const api = new V2Api(clientFor(globals));
    const installed = await api.installedKinds();
    const rows = V2_KINDS.map((kind) => ({ kind, crd: crdName(kind), installed: installed.includes(kind) }));
    report(io, globals, rows, () =>
      rows.map((r) => `${r.crd.padEnd(26)} ${r.installed ? 'installed' : 'missing: van crds install'}`).join('\n'),
    );
  },
};
