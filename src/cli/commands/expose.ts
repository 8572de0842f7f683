// van expose deployment|statefulset|service/NAME --port P [--target-port T] [--protocol P] [--address A]
import { parseWorkload } from '../args';
import { type CliCommand, report } from '../command';
import { UsageError } from '../../core/errors';
import { serviceApiFor } from '../../core/service/api';
import { expose } from '../../core/service/expose';

export const exposeCommand: CliCommand = {
  path: ['expose'],
  usage: 'expose deployment|statefulset|service/NAME --port P [--target-port T] [--protocol tcp|http|http2] [--address A]',
  summary: 'make a workload reachable from every linked site',
  available: true,
  flags: {
    port: { type: 'number', multiple: true, description: 'port of the service (repeat for several)' },
    'target-port': { type: 'number', multiple: true, description: 'port on the pods (one, or one per --port; default: the same)' },
    protocol: { type: 'string', description: 'tcp (default), http or http2 (carried as tcp for now)' },
    address: { type: 'string', description: 'the service name in every site (default: the workload name)' },
  },
  async run(args, globals, io) {
    const { kind, name, rest } = parseWorkload(args.positionals);
    if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}"`);
    const api = serviceApiFor(globals);
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
