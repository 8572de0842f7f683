// The Skupper 2.x controller: watches the six kinds in its namespaces (one, a list, or all), and runs a
// NamespaceReconciler pass for a namespace when something there changes, and every few seconds while
// the namespace has any (router readiness, links and the network change without touching the resources).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage } from '../errors';
import { KubeClient } from '../kube/client';
import { type WatchHandle, watchWithReconnect } from '../kube/watch';
import { BUNDLE_DIR, BUNDLE_KEY } from '../site/names';
import { type ReconcileOptions, reconcilerFor } from './reconcile';
import { GROUP, PLURALS, V2_KINDS, VERSION } from './types';

export interface ControllerOptions extends ReconcileOptions {
  client: KubeClient;
  /** 'all' for every namespace, else the namespaces to watch. */
  namespaces: 'all' | string[];
  resyncMs?: number;
}

export class V2Controller {
  private readonly watches: WatchHandle[] = [];
  private readonly known = new Map<string, number>(); // namespace -> resources seen
  private readonly queued = new Set<string>();
  private readonly running = new Map<string, Promise<void>>();
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private readonly log: (line: string) => void;

  constructor(private readonly options: ControllerOptions) {
    this.log = options.log ?? (() => undefined);
  }

  start(): void {
    const paths =
      this.options.namespaces === 'all'
        ? V2_KINDS.map((k) => `/apis/${GROUP}/${VERSION}/${PLURALS[k]}`)
        : this.options.namespaces.flatMap((ns) => V2_KINDS.map((k) => `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURALS[k]}`));
    if (this.options.namespaces !== 'all') for (const ns of this.options.namespaces) this.known.set(ns, 1);
    for (const path of paths) {
      this.watches.push(
        watchWithReconnect(this.options.client.kc, path, {
          onEvent: (_phase, object: { metadata?: { namespace?: string } }) => {
            const ns = object?.metadata?.namespace;
            if (!ns) return;
            this.known.set(ns, 1);
            this.enqueue(ns);
          },
          onError: (error) => this.log(`watch ${path}: ${errorMessage(error)}`),
        }),
      );
    }
    const resync = () => {
      if (this.stopped) return;
      for (const ns of this.known.keys()) this.enqueue(ns);
      this.timer = setTimeout(resync, this.options.resyncMs ?? 3000);
    };
    resync();
  }

  /** One pass per namespace at a time; a change during a pass runs one more after it. */
  enqueue(namespace: string): void {
    if (this.stopped) return;
    if (this.running.has(namespace)) {
      this.queued.add(namespace);
      return;
    }
    const pass = reconcilerFor(this.options.client, namespace, this.options)
      .reconcile()
      .catch((error) => this.log(`namespace ${namespace}: ${errorMessage(error)}`))
      .finally(() => {
        this.running.delete(namespace);
        if (this.queued.delete(namespace)) this.enqueue(namespace);
      });
    this.running.set(namespace, pass);
  }

  /** Waits for the passes under way (tests). */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.all(this.running.values());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    for (const w of this.watches) w.stop();
    await Promise.all(this.running.values());
  }
}

function logLine(msg: string, level = 'info'): void {
  process.stderr.write(`${JSON.stringify({ ts: new Date().toISOString(), level, component: 'v2-controller', msg })}\n`);
}

/**
 * The controller Deployment's program (SKUPPER_COMPONENT=v2-controller): its service account's rights,
 * the namespaces of SKUPPER_WATCH_NAMESPACES (a comma-separated list, or "*" for all), and the bundle it
 * runs from, which it installs into each site it makes.
 */
export async function runV2Controller(env: NodeJS.ProcessEnv = process.env): Promise<V2Controller> {
  const client = KubeClient.inCluster({ namespace: env.POD_NAMESPACE });
  const watch = (env.SKUPPER_WATCH_NAMESPACES ?? client.namespace).trim();
  const namespaces =
    watch === '*'
      ? 'all'
      : watch
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
  const bundlePath = join(env.SKUPPER_BUNDLE_DIR || BUNDLE_DIR, BUNDLE_KEY);
  const controller = new V2Controller({
    client,
    namespaces,
    bundleGzip: () => readFileSync(bundlePath),
    routerImage: env.SKUPPER_ROUTER_IMAGE || undefined,
    log: (line) => logLine(line),
  });
  controller.start();
  logLine(`watching ${namespaces === 'all' ? 'every namespace' : namespaces.join(', ')}`);
  const stop = () => void controller.stop().finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  return controller;
}
