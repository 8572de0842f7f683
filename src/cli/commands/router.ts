// `van router --config FILE`: runs the router (and, in a site, its agent) in the foreground.
import { UsageError } from '../../core/errors';
import { type CliCommand } from '../command';

export const routerCommand: CliCommand = {
  path: ['router'],
  usage: 'router --config FILE',
  summary: 'run a router in the foreground from a JSON config file',
  flags: { config: { type: 'string', description: 'the router config file (JSON)' } },
  available: true,
  async run(args) {
    const config = args.flags.config as string | undefined;
    if (!config) throw new UsageError('router needs --config FILE');
    const { runRouter } = await import('../../core/router/main');
    await runRouter(config);
    return new Promise<number>(() => undefined); // runs until a signal stops the process
  },
};
