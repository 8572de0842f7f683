// `van site start|stop`: run or stop a local site's router (a detached child process, logging to a file).
import type { CliCommand } from '../command';
import { report } from '../command';
import { UserError } from '../../core/errors';
import { readLocalSite, startLocalSite, stopLocalSite } from '../../core/site/local';
import { join } from 'node:path';
import { platformFlags, siteTarget } from './siteTarget';

const flags = {
  'site-name': platformFlags['site-name'],
  timeout: { type: 'number' as const, description: 'seconds to wait for the router to be ready (default 20)' },
};

export const siteStartCommand: CliCommand = {
  path: ['site', 'start'],
  usage: 'site start [--site-name N]',
  summary: "start the local site's router (local platform)",
  available: true,
  flags,
  async run(args, globals, io) {
    const target = siteTarget(args, globals, 'local');
    if (target.platform !== 'local' || !readLocalSite(target.dir))
      throw new UserError(
        `no local site ${target.platform === 'local' ? target.name : ''}: create it with \`van init --platform local --site-name N\``,
      );
    const r = await startLocalSite(target.dir, { timeoutMs: ((args.flags.timeout as number | undefined) ?? 20) * 1000 });
    report(io, globals, { site: target.name, pid: r.pid, alreadyRunning: r.alreadyRunning, log: join(target.dir, 'router.log') }, () =>
      r.alreadyRunning
        ? `the router of local site '${target.name}' is already running (pid ${r.pid})`
        : `the router of local site '${target.name}' is running (pid ${r.pid}, log ${join(target.dir, 'router.log')})`,
    );
  },
};

export const siteStopCommand: CliCommand = {
  path: ['site', 'stop'],
  usage: 'site stop [--site-name N]',
  summary: "stop the local site's router (local platform)",
  available: true,
  flags: { 'site-name': platformFlags['site-name'] },
  async run(args, globals, io) {
    const target = siteTarget(args, globals, 'local');
    if (target.platform !== 'local' || !readLocalSite(target.dir))
      throw new UserError(`no local site ${target.platform === 'local' ? target.name : ''}`);
    const stopped = await stopLocalSite(target.dir);
    report(io, globals, { site: target.name, stopped }, () =>
      stopped ? `the router of local site '${target.name}' is stopped` : `the router of local site '${target.name}' was not running`,
    );
  },
};
