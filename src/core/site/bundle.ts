// Finding the router bundle (dist/router.js) this program ships, to deliver it to a site.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { UserError } from '../errors';

/** Where router.js may be: VAN_ROUTER_BUNDLE, next to the running bundle (dist/cli.js, dist/extension.js), or the project's dist when run from source. */
export function routerBundleCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const here = typeof __dirname === 'string' ? __dirname : process.cwd();
  return [
    ...(env.VAN_ROUTER_BUNDLE ? [resolve(env.VAN_ROUTER_BUNDLE)] : []),
    join(here, 'router.js'),
    join(here, '..', '..', '..', 'dist', 'router.js'), // src/core/site → dist (tsx)
    ...(env.VAN_PROJECT_ROOT ? [join(env.VAN_PROJECT_ROOT, 'dist', 'router.js')] : []),
  ];
}

export function findRouterBundle(explicit?: string): string {
  if (explicit) {
    if (!existsSync(explicit)) throw new UserError(`router bundle ${explicit} does not exist`);
    return explicit;
  }
  const candidates = routerBundleCandidates();
  const found = candidates.find((p) => existsSync(p));
  if (!found)
    throw new UserError(
      `cannot find the router bundle router.js (looked at ${candidates.join(', ')}): run "npm run build" or set VAN_ROUTER_BUNDLE`,
    );
  return found;
}

export function readRouterBundleGzip(explicit?: string): { path: string; gzip: Buffer; size: number } {
  const path = findRouterBundle(explicit);
  const raw = readFileSync(path);
  return { path, gzip: gzipSync(raw, { level: 9 }), size: raw.length };
}
