// van expose deployment|statefulset|service/NAME --port P [--target-port T] [--protocol P] [--address A]
// van expose host/HOST --address A --port P [--target-port T] [--site-name N]   (a laptop site)
import { parseHostTarget, parseWorkload, type ParsedArgs } from '../args';
import { type CliCommand, type CliIO, type GlobalOptions, report } from '../command';
import { UsageError } from '../../core/errors';
import { serviceApiFor } from '../../core/service/api';
import { expose } from '../../core/service/expose';
import { refuseOnV2Site } from '../../core/v2/mode';
import { exposeHost } from '../../core/service/local';
import { platformFlags, siteTarget } from './siteTarget';

function exposeLocal(args: ParsedArgs, globals: GlobalOptions, io: CliIO, host: string): void {
  const target = siteTarget(args, globals, 'local');
  if (target.platform !== 'local') throw new UsageError('host targets are for laptop sites: add --platform local --site-name N');
  const def = exposeHost(target.dir, {
    host,
    address: args.flags.address as string,
    ports: (args.flags.port as number[] | undefined) ?? [],
    targetPorts: args.flags['target-port'] as number[] | undefined,
    protocol: args.flags.protocol as string | undefined,
  });
  report(io, globals, def, () => `host ${host} exposed as ${def.address} (port ${def.ports.join(', ')}) from local site ${target.name}`);
}

export const exposeCommand: CliCommand = {
  path: ['expose'],
  usage:
    'expose deployment|statefulset|service/NAME --port P [--target-port T] [--protocol tcp|http|http2] [--address A]  |  expose host/HOST --address A --port P [--site-name N]',
  summary: 'make a workload (or, on a laptop site, a port of this machine) reachable from every linked site',
  available: true,
  flags: {
    port: { type: 'number', multiple: true, description: 'port of the service (repeat for several)' },
    'target-port': { type: 'number', multiple: true, description: 'port on the pods or host (one, or one per --port; default: the same)' },
    protocol: { type: 'string', description: 'tcp (default), http or http2 (carried as tcp for now)' },
    address: { type: 'string', description: 'the service name in every site (default: the workload name; required for a host)' },
    ...platformFlags,
  },
  async run(args, globals, io) {
    const host = parseHostTarget(args.positionals);
    if (host) {
      if (host.rest.length) throw new UsageError(`unexpected argument "${host.rest[0]}"`);
      return exposeLocal(args, globals, io, host.host);
    }
    const { kind, name, rest } = parseWorkload(args.positionals);
    if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}"`);
    if (siteTarget(args, globals).platform === 'local')
      throw new UsageError(`a laptop site exposes ports of this machine: \`van expose host/127.0.0.1 --address ${name} --port P\``);
    const api = serviceApiFor(globals);
    await refuseOnV2Site(api, `van expose ${kind}/${name}`);
    const def = await expose(api, {
      kind,
      name,
      ports: (args.flags.port as number[] | undefined) ?? [],
      targetPorts: args.flags['target-port'] as number[] | undefined,
      protocol: args.flags.protocol as string | undefined,
      address: args.flags.address as string | undefined,
    });
    report(io, globals, def, () => `${kind} ${name} exposed as ${def.address}`);
  },
};
