// van unexpose deployment|statefulset|service/NAME [--address A]
import { parseWorkload } from '../args';
import { type CliCommand, report } from '../command';
import { UsageError } from '../../core/errors';
import { serviceApiFor } from '../../core/service/api';
import { unexpose } from '../../core/service/expose';

export const unexposeCommand: CliCommand = {
  path: ['unexpose'],
  usage: 'unexpose deployment|statefulset|service/NAME [--address A]',
  summary: 'stop exposing a workload',
  available: true,
  flags: {
    address: { type: 'string', description: 'only the service with this address (default: every service of the workload)' },
  },
  async run(args, globals, io) {
    const { kind, name, rest } = parseWorkload(args.positionals);
    if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}"`);
    const removed = await unexpose(serviceApiFor(globals), { kind, name, address: args.flags.address as string | undefined });
    report(io, globals, removed.map((d) => d.address), () => `${kind} ${name} unexposed (${removed.map((d) => d.address).join(', ')})`);
  },
};
