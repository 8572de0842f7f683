// Runs a `van` verb in this process against a laptop site under a private VAN_LOCAL_HOME, capturing
// what it prints: no cluster, no child process.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from '../../../src/cli/args';
import { type CliCommand, globalFlags, globalsFrom } from '../../../src/cli/command';
import { initLocalSite } from '../../../src/core/site/local';

export interface Printed {
  out: string;
  err: string;
}

export async function runVerb(command: CliCommand, argv: string[]): Promise<Printed> {
  const printed: Printed = { out: '', err: '' };
  const args = parseArgs(argv, { ...globalFlags, ...command.flags });
  await command.run(args, globalsFrom(args), { out: (t) => (printed.out += `${t}\n`), err: (t) => (printed.err += `${t}\n`) });
  return printed;
}

/** A laptop site (not started) in a fresh VAN_LOCAL_HOME, which this process then uses. */
export async function laptopSite(name: string): Promise<{ dir: string; home: string }> {
  const home = mkdtempSync(join(tmpdir(), 'van-cli-home-'));
  process.env.VAN_LOCAL_HOME = home;
  const { dir } = await initLocalSite({ siteName: name, ingress: 'loadbalancer', env: { ...process.env, VAN_LOCAL_HOME: home } });
  return { dir, home };
}
