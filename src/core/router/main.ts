// Runs a router from a JSON config file; re-applies the file when it changes (also when a Kubernetes
// ConfigMap volume swaps its symlink, by watching the folder), stops on SIGTERM/SIGINT.
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { parseRouterConfig, type RouterConfig } from './config.js';
import { createLogger } from './log.js';
import { Router } from './router.js';

function readConfig(path: string): { text: string; config: RouterConfig } {
  const text = readFileSync(path, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  return { text, config: parseRouterConfig(json) };
}

export async function runRouter(configPath: string): Promise<Router> {
  const log = createLogger({ component: 'router-main' });
  let { text, config } = readConfig(configPath);
  const router = await Router.start(config);
  let timer: NodeJS.Timeout | undefined;
  let applying = Promise.resolve();
  const reload = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      applying = applying.then(async () => {
        let next: { text: string; config: RouterConfig };
        try {
          next = readConfig(configPath);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; // mid-swap
          log.error('config not applied', { path: configPath, error: (e as Error).message });
          return;
        }
        if (next.text === text) return;
        text = next.text;
        config = next.config;
        try {
          await router.applyConfig(config);
          log.info('config applied', { path: configPath });
        } catch (e) {
          log.error('config applied with errors', { path: configPath, error: (e as Error).message });
        }
      });
    }, 200);
  };
  const watchers: FSWatcher[] = [];
  try {
    watchers.push(
      watch(dirname(configPath), { persistent: true }, (_ev, file) => {
        if (!file || file === basename(configPath) || file.startsWith('..')) reload();
      }),
    );
  } catch (e) {
    log.warn('cannot watch the config folder; changes need a restart', { error: (e as Error).message });
  }
  // Some file systems report nothing to watch(): poll as a backstop.
  const poll = setInterval(reload, 5000);
  poll.unref();
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    clearInterval(poll);
    for (const w of watchers) w.close();
    await router.stop();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  return router;
}
