// `van`: the command-line face of the same core the extension uses.
// Exit codes: 0 success, 1 a user error (one line on stderr), 2 a usage error.
import { type FlagSpecs, parseArgs } from './args';
import { type CliCommand, type CliIO, globalFlags, globalsFrom } from './command';
import { commands } from './commands';
import { UsageError, UserError, errorMessage } from '../core/errors';

const io: CliIO = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
};

/** The words of argv that are not flags or flag values (flags of every verb are known here). */
function verbWords(argv: string[]): string[] {
  const valued = new Set<string>();
  for (const specs of [globalFlags, ...commands.map((c) => c.flags)]) {
    for (const [name, spec] of Object.entries(specs)) {
      if (spec.type === 'boolean') continue;
      valued.add(`--${name}`);
      if (spec.alias) valued.add(`-${spec.alias}`);
    }
  }
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--') break;
    if (valued.has(argv[i])) i++;
    else if (!argv[i].startsWith('-')) words.push(argv[i]);
  }
  return words;
}

export function findCommand(argv: string[]): { command: CliCommand; rest: string[] } | undefined {
  const words = verbWords(argv);
  let best: CliCommand | undefined;
  for (const command of commands) {
    const matches = command.path.every((word, i) => words[i] === word);
    if (matches && (!best || command.path.length > best.path.length)) best = command;
  }
  if (!best) return undefined;
  const rest = [...argv];
  for (const word of best.path) rest.splice(rest.indexOf(word), 1);
  return { command: best, rest };
}

function flagLines(specs: FlagSpecs): string[] {
  const names = Object.entries(specs).map(([name, f]) => `--${name}${f.alias ? `, -${f.alias}` : ''}`);
  const width = Math.max(0, ...names.map((n) => n.length));
  return Object.values(specs).map((f, i) => `  ${names[i].padEnd(width)}  ${f.description}`);
}

export function helpText(): string {
  const width = Math.max(...commands.map((c) => c.path.join(' ').length));
  const lines = commands.map((c) => `  ${c.path.join(' ').padEnd(width)}  ${c.summary}${c.available ? '' : ' (not available yet)'}`);
  return [
    'van: Virtual Application Networks across clusters, namespaces and laptops',
    '',
    'Usage: van COMMAND [flags]',
    '',
    'Commands:',
    ...lines,
    '',
    'Global flags:',
    ...flagLines(globalFlags),
    '',
    'Run "van COMMAND --help" for a command\'s flags.',
  ].join('\n');
}

function commandHelp(command: CliCommand): string {
  const flags = flagLines(command.flags);
  return [`Usage: van ${command.usage}`, '', command.summary, ...(flags.length ? ['', 'Flags:', ...flags] : [])].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === 'help' || argv[0] === '--help' || argv[0] === '-h') {
    io.out(helpText());
    return argv.length === 0 ? 2 : 0;
  }
  const found = findCommand(argv);
  if (!found) {
    io.err(`van: unknown command "${verbWords(argv).join(' ')}"; run "van --help" for the list`);
    return 2;
  }
  const { command, rest } = found;
  if (!command.available) {
    io.err(`van ${command.path.join(' ')}: not available yet in this version`);
    return 2;
  }
  try {
    const args = parseArgs(rest, { ...globalFlags, ...command.flags });
    if (args.flags.help) {
      io.out(commandHelp(command));
      return 0;
    }
    const code = await command.run(args, globalsFrom(args), io);
    return code ?? 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`van ${command.path.join(' ')}: ${error.message}`);
      io.err(`usage: van ${command.usage}`);
      return 2;
    }
    if (error instanceof UserError) {
      io.err(`van ${command.path.join(' ')}: ${error.message}`);
      if (error.detail && process.env.VAN_DEBUG) io.err(error.detail);
      return 1;
    }
    io.err(`van ${command.path.join(' ')}: ${errorMessage(error)}`);
    if (process.env.VAN_DEBUG && error instanceof Error && error.stack) io.err(error.stack);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    // Exit once output is flushed: kube clients keep sockets alive that would hold the process.
    process.stdout.write('', () => process.exit(code));
  });
}
