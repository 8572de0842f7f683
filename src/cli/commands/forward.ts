// van forward ADDRESS PORT [--host H] [--service-port P] [--site-name N]: a network service on a port of
// this machine (a laptop site listens only where asked). van unforward ADDRESS removes it.
import type { ParsedArgs } from '../args';
import { type CliCommand, type GlobalOptions, report } from '../command';
import { UsageError } from '../../core/errors';
import { forwardService, unforwardService } from '../../core/service/local';
import { platformFlags, siteTarget } from './siteTarget';

function laptopSite(args: ParsedArgs, globals: GlobalOptions): { name: string; dir: string } {
  const target = siteTarget(args, globals, 'local');
  if (target.platform !== 'local')
    throw new UsageError('forward is for laptop sites (a cluster site makes a Service for every network service by itself)');
  return target;
}

export const forwardCommand: CliCommand = {
  path: ['forward'],
  usage: 'forward ADDRESS PORT [--host 127.0.0.1] [--service-port P] [--site-name N]',
  summary: 'reach a network service on a port of this machine (laptop site)',
  available: true,
  flags: {
    host: { type: 'string', description: 'address to listen on (default 127.0.0.1: this machine only)' },
    'service-port': { type: 'number', description: 'for a service with several ports: which one (default: its first)' },
    'site-name': platformFlags['site-name'],
  },
  async run(args, globals, io) {
    const [address, portText, ...rest] = args.positionals;
    if (!address || !portText) throw new UsageError('usage: van forward ADDRESS PORT (e.g. van forward tcp-go-echo 9090)');
    if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}"`);
    const port = Number(portText);
    if (!Number.isInteger(port)) throw new UsageError(`PORT must be a number (got "${portText}")`);
    const site = laptopSite(args, globals);
    const f = await forwardService(site.dir, {
      address,
      port,
      host: args.flags.host as string | undefined,
      servicePort: args.flags['service-port'] as number | undefined,
    });
    report(io, globals, f, () => `${f.address} is reachable at ${f.host}:${f.port} on this machine (local site ${site.name})`);
  },
};

export const unforwardCommand: CliCommand = {
  path: ['unforward'],
  usage: 'unforward ADDRESS [--site-name N]',
  summary: 'stop forwarding a network service to this machine (laptop site)',
  available: true,
  flags: { 'site-name': platformFlags['site-name'] },
  async run(args, globals, io) {
    const [address, ...rest] = args.positionals;
    if (!address) throw new UsageError('usage: van unforward ADDRESS');
    if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}"`);
    const site = laptopSite(args, globals);
    const f = unforwardService(site.dir, address);
    report(io, globals, f, () => `${f.address} is no longer forwarded to ${f.host}:${f.port} (local site ${site.name})`);
  },
};
