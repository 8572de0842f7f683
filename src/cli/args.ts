// A small, strict command-line parser: flags may come before or after positionals, `--flag value`
// and `--flag=value` both work, repeated flags collect, unknown flags are usage errors.
import { UsageError } from '../core/errors';

export type FlagType = 'string' | 'number' | 'boolean';

export interface FlagSpec {
  type: FlagType;
  alias?: string;
  multiple?: boolean;
  description: string;
  choices?: readonly string[];
}

export type FlagSpecs = Record<string, FlagSpec>;
export type FlagValue = string | number | boolean | string[] | number[];

export interface ParsedArgs {
  positionals: string[];
  flags: Record<string, FlagValue | undefined>;
}

export function parseArgs(argv: string[], specs: FlagSpecs): ParsedArgs {
  const byAlias = new Map<string, string>();
  for (const [name, spec] of Object.entries(specs)) if (spec.alias) byAlias.set(spec.alias, name);
  const positionals: string[] = [];
  const flags: Record<string, FlagValue | undefined> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const long = arg.startsWith('--');
    const body = long ? arg.slice(2) : arg.slice(1);
    const eq = body.indexOf('=');
    const key = eq >= 0 ? body.slice(0, eq) : body;
    const name = long ? key : byAlias.get(key);
    const spec = name ? specs[name] : undefined;
    if (!name || !spec) throw new UsageError(`unknown flag ${long ? '--' : '-'}${key}`);
    let raw: string | undefined = eq >= 0 ? body.slice(eq + 1) : undefined;
    if (spec.type === 'boolean') {
      flags[name] = raw === undefined ? true : raw !== 'false';
      continue;
    }
    if (raw === undefined) {
      raw = argv[++i];
      if (raw === undefined) throw new UsageError(`flag --${name} needs a value`);
    }
    const value = convert(name, spec, raw);
    if (spec.multiple) {
      const list = (flags[name] as (string | number)[] | undefined) ?? [];
      flags[name] = [...list, value] as FlagValue;
    } else {
      flags[name] = value;
    }
  }
  return { positionals, flags };
}

function convert(name: string, spec: FlagSpec, raw: string): string | number {
  if (spec.choices && !spec.choices.includes(raw)) {
    throw new UsageError(`--${name} must be one of ${spec.choices.join(', ')} (got "${raw}")`);
  }
  if (spec.type === 'number') {
    const n = Number(raw);
    if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number (got "${raw}")`);
    return n;
  }
  return raw;
}

/** `host/HOST` or `host HOST` (a laptop site's target), else undefined. */
export function parseHostTarget(positionals: string[]): { host: string; rest: string[] } | undefined {
  const [first, second, ...others] = positionals;
  if (!first) return undefined;
  if (first.toLowerCase().startsWith('host/')) return { host: first.slice(5), rest: second === undefined ? others : [second, ...others] };
  if (first.toLowerCase() !== 'host') return undefined;
  if (!second) throw new UsageError('name the host: host/127.0.0.1 or host 127.0.0.1');
  return { host: second, rest: others };
}

/** Accepts `deployment/NAME`, `deployment NAME` and the short kinds the Skupper CLI takes. */
export function parseWorkload(positionals: string[]): { kind: 'deployment' | 'statefulset' | 'service'; name: string; rest: string[] } {
  const [first, second, ...others] = positionals;
  if (!first) throw new UsageError('name a workload: deployment/NAME, statefulset/NAME or service/NAME');
  const slash = first.indexOf('/');
  const kindWord = slash >= 0 ? first.slice(0, slash) : first;
  const kind = normaliseKind(kindWord);
  if (slash >= 0) return { kind, name: first.slice(slash + 1), rest: second === undefined ? others : [second, ...others] };
  if (!second) throw new UsageError(`name the ${kind}: ${kind}/NAME or ${kind} NAME`);
  return { kind, name: second, rest: others };
}

function normaliseKind(word: string): 'deployment' | 'statefulset' | 'service' {
  switch (word.toLowerCase()) {
    case 'deployment':
    case 'deployments':
    case 'deploy':
      return 'deployment';
    case 'statefulset':
    case 'statefulsets':
    case 'sts':
      return 'statefulset';
    case 'service':
    case 'services':
    case 'svc':
      return 'service';
    default:
      throw new UsageError(`cannot expose "${word}": expected deployment, statefulset or service (or host, on a laptop site)`);
  }
}
