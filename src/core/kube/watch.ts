// A watch that comes back: when the stream ends (server timeout, network drop, 410 Gone) it
// reconnects with back-off, and tells the caller through onConnect so it can re-read (list) first:
// level-triggered consumers (the agent, the extension's tree) never miss a change that happened
// while the watch was down.
import { type KubeConfig, Watch } from '@kubernetes/client-node';

export type WatchPhase = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchOptions {
  /** e.g. { labelSelector: 'skupper.io/type=connection-token' } or { fieldSelector: 'metadata.name=skupper-site' } */
  query?: Record<string, string | number | boolean | undefined>;
  onEvent(phase: WatchPhase, object: any): void; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Each time the watch (re)connects: re-read what you need. */
  onConnect?(): void;
  onError?(error: unknown): void;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export interface WatchHandle {
  stop(): void;
}

/** Watches `path` (e.g. /api/v1/namespaces/NS/configmaps) until stop(). */
export function watchWithReconnect(kc: KubeConfig, path: string, options: WatchOptions): WatchHandle {
  const watch = new Watch(kc);
  let stopped = false;
  let controller: AbortController | undefined;
  let timer: NodeJS.Timeout | undefined;
  let backoff = options.minBackoffMs ?? 500;
  const max = options.maxBackoffMs ?? 30_000;

  const again = (error?: unknown) => {
    if (stopped) return;
    if (error) options.onError?.(error);
    timer = setTimeout(connect, error ? backoff : 0);
    if (error) backoff = Math.min(max, backoff * 2);
  };

  const connect = async () => {
    if (stopped) return;
    try {
      controller = await watch.watch(
        path,
        { allowWatchBookmarks: true, ...(options.query ?? {}) },
        (phase, object) => {
          backoff = options.minBackoffMs ?? 500;
          if (phase === 'ERROR') return; // e.g. 410 Gone: the stream ends and we reconnect
          options.onEvent(phase as WatchPhase, object);
        },
        (error) => again(error ?? undefined),
      );
      // stop() may have come while the watch was connecting: it found no controller to abort.
      if (stopped) {
        controller.abort();
        return;
      }
      options.onConnect?.();
    } catch (error) {
      again(error);
    }
  };

  void connect();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      controller?.abort();
    },
  };
}
