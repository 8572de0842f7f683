// Kubeconfig loading: every file of KUBECONFIG (or ~/.kube/config, or an explicit list), merged the
// way kubectl merges them (the first file that names a cluster, user or context wins; the current
// context comes from the first file that sets one). Nothing here ever writes a kubeconfig file or
// changes the user's current context: a client for another context gets its own in-memory copy.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { type Cluster, type Context, KubeConfig, type User } from '@kubernetes/client-node';
import { UserError, errorMessage } from '../errors';

export interface ContextInfo {
  name: string;
  cluster: string;
  server: string;
  user: string;
  /** The context's own namespace, or "default". */
  namespace: string;
  /** The kubeconfig file that defined the context. */
  file: string;
}

export interface Kubeconfig {
  files: string[];
  contexts: ContextInfo[];
  /** The current context of the merged files ('' when none is set). */
  currentContext: string;
  clusters: Cluster[];
  users: User[];
  rawContexts: Context[];
}

/** The kubeconfig files to read: an explicit list (colon-separated string or array), else KUBECONFIG, else ~/.kube/config. */
export function kubeconfigFiles(explicit?: string | string[], env: NodeJS.ProcessEnv = process.env): string[] {
  const split = (s: string) =>
    s
      .split(delimiter)
      .map((p) => p.trim())
      .filter(Boolean);
  if (explicit !== undefined) return Array.isArray(explicit) ? explicit : split(explicit);
  if (env.KUBECONFIG) return split(env.KUBECONFIG);
  return [join(env.HOME || homedir(), '.kube', 'config')];
}

/** Loads and merges the files. A missing file in KUBECONFIG is skipped (like kubectl); a broken one is an error naming it. */
export function loadKubeconfig(explicit?: string | string[], env: NodeJS.ProcessEnv = process.env): Kubeconfig {
  const files = kubeconfigFiles(explicit, env);
  const result: Kubeconfig = { files: [], contexts: [], currentContext: '', clusters: [], users: [], rawContexts: [] };
  const contextFile = new Map<string, string>();
  for (const file of files) {
    if (!existsSync(file)) {
      if (explicit !== undefined) throw new UserError(`kubeconfig file ${file} does not exist`);
      continue;
    }
    if (statSync(file).isDirectory()) throw new UserError(`kubeconfig ${file} is a directory, not a file`);
    const kc = new KubeConfig();
    try {
      const text = readFileSync(file, 'utf8');
      if (text.trim().length === 0) continue;
      kc.loadFromFile(file);
    } catch (error) {
      throw new UserError(`cannot read kubeconfig file ${file}: ${oneLine(errorMessage(error))}`);
    }
    result.files.push(file);
    for (const c of kc.clusters) if (!result.clusters.some((x) => x.name === c.name)) result.clusters.push(c);
    for (const u of kc.users) if (!result.users.some((x) => x.name === u.name)) result.users.push(u);
    for (const c of kc.contexts) {
      if (result.rawContexts.some((x) => x.name === c.name)) continue;
      result.rawContexts.push(c);
      contextFile.set(c.name, file);
    }
    if (!result.currentContext && kc.currentContext) result.currentContext = kc.currentContext;
  }
  if (result.files.length === 0) {
    throw new UserError(`no kubeconfig found (looked at ${files.join(', ') || 'nothing'}): set KUBECONFIG or pass --kubeconfig`);
  }
  result.contexts = result.rawContexts.map((c) => ({
    name: c.name,
    cluster: c.cluster,
    server: result.clusters.find((x) => x.name === c.cluster)?.server ?? '',
    user: c.user,
    namespace: c.namespace || 'default',
    file: contextFile.get(c.name) ?? '',
  }));
  return result;
}

/** The context to use: the named one, else the current one. Unknown names list the known ones. */
export function resolveContext(config: Kubeconfig, name?: string): ContextInfo {
  const wanted = name || config.currentContext;
  const known = config.contexts.map((c) => c.name);
  if (!wanted) {
    throw new UserError(`no current context in ${config.files.join(', ')}: pass --context (known: ${known.join(', ') || 'none'})`);
  }
  const found = config.contexts.find((c) => c.name === wanted);
  if (!found) {
    throw new UserError(`unknown context "${wanted}"; known contexts: ${known.join(', ') || 'none'}`);
  }
  if (!found.server)
    throw new UserError(`context "${wanted}" names cluster "${found.cluster}", which is not defined in ${config.files.join(', ')}`);
  return found;
}

/** A KubeConfig holding only what one context needs, with that context current: in memory only. */
export function kubeConfigFor(config: Kubeconfig, context: ContextInfo): KubeConfig {
  const raw = config.rawContexts.find((c) => c.name === context.name)!;
  const cluster = config.clusters.find((c) => c.name === raw.cluster);
  const user = config.users.find((u) => u.name === raw.user);
  if (!user) throw new UserError(`context "${context.name}" names user "${raw.user}", which is not defined in ${config.files.join(', ')}`);
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: [cluster], users: [user], contexts: [raw], currentContext: raw.name });
  return kc;
}

function oneLine(text: string): string {
  return text
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean)
    .join(' ');
}
