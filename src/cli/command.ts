// The shape of one `van` verb. Each verb lives in its own file under commands/ and is listed in
// commands/index.ts; main.ts finds the verb, parses its flags with the global ones, and runs it.
import { stringify } from 'yaml';
import { type FlagSpecs, type ParsedArgs } from './args';
import { asciiSafeJson, printableLines } from '../core/text';

export interface GlobalOptions {
  context?: string;
  namespace?: string;
  kubeconfig?: string;
  output?: 'json' | 'yaml';
}

export interface CliIO {
  out(text: string): void;
  err(text: string): void;
}

export interface CliCommand {
  /** Words that name the verb, e.g. ['link', 'create']. */
  path: string[];
  usage: string;
  summary: string;
  flags: FlagSpecs;
  /** False while the verb is not built yet: it answers "not available yet" and exits 2. */
  available: boolean;
  run(args: ParsedArgs, globals: GlobalOptions, io: CliIO): Promise<number | void>;
}

export const globalFlags: FlagSpecs = {
  context: { type: 'string', description: 'kubeconfig context to use (the current one by default)' },
  namespace: { type: 'string', alias: 'n', description: "namespace (the context's own by default)" },
  kubeconfig: { type: 'string', description: 'kubeconfig file(s), colon-separated (KUBECONFIG by default)' },
  output: { type: 'string', alias: 'o', choices: ['json', 'yaml'], description: 'print the result as json or yaml' },
  help: { type: 'boolean', alias: 'h', description: 'show help for the command' },
};

export function globalsFrom(args: ParsedArgs): GlobalOptions {
  return {
    context: args.flags.context as string | undefined,
    namespace: args.flags.namespace as string | undefined,
    kubeconfig: args.flags.kubeconfig as string | undefined,
    output: args.flags.output as GlobalOptions['output'],
  };
}

/** Prints `value` as JSON or YAML when asked, else calls `human` for the human form (without control characters: it may quote what sites publish). */
export function report(io: CliIO, globals: GlobalOptions, value: unknown, human: () => string): void {
  if (globals.output === 'json') io.out(asciiSafeJson(JSON.stringify(value, null, 2)));
  // JSON.stringify and YAML leave C1 controls (U+009B is a CSI) and bidi controls raw.
  else if (globals.output === 'yaml') io.out(stringify(value, (_k, v) => (typeof v === 'string' ? printableLines(v) : v)).trimEnd());
  else io.out(printableLines(human()));
}

/** A verb that is part of the contract but not built yet. */
export function notYet(path: string[], usage: string, summary: string): CliCommand {
  return { path, usage, summary, flags: {}, available: false, run: async () => 2 };
}
