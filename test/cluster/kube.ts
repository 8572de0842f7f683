// A small REST client for the test control plane, on top of @kubernetes/client-node's KubeConfig
// (authentication, TLS) but speaking plain JSON, so that every field (MicroTime, int-or-string,
// status subresources, merge patches) goes to the API server exactly as written.
import { KubeConfig } from '@kubernetes/client-node';
import { request, type RequestOptions } from 'node:https';
import { URL } from 'node:url';

export interface KubeResponse<T = any> {
  status: number;
  body: T;
  text: string;
}

export class Kube {
  readonly kc: KubeConfig;
  private base: URL;
  private opts: RequestOptions = {};
  private ready: Promise<void>;

  constructor(kubeconfigPath: string, context?: string) {
    this.kc = new KubeConfig();
    this.kc.loadFromFile(kubeconfigPath);
    if (context) this.kc.setCurrentContext(context);
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new Error(`no cluster in ${kubeconfigPath}`);
    this.base = new URL(cluster.server);
    this.ready = this.kc.applyToHTTPSOptions(this.opts).then(() => undefined);
  }

  get server(): URL {
    return this.base;
  }

  async req<T = any>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
    timeoutMs = 30_000,
  ): Promise<KubeResponse<T>> {
    await this.ready;
    const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const r = request(
        {
          ...this.opts,
          host: this.base.hostname,
          port: this.base.port,
          path,
          method,
          timeout: timeoutMs,
          headers: {
            ...(this.opts.headers ?? {}),
            accept: 'application/json',
            ...(data !== undefined ? { 'content-type': contentType, 'content-length': Buffer.byteLength(data) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: any = text;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              /* not JSON */
            }
            resolve({ status: res.statusCode ?? 0, body: parsed, text });
          });
          res.on('error', reject);
        },
      );
      r.on('timeout', () => r.destroy(new Error(`${method} ${path}: timeout`)));
      r.on('error', reject);
      r.end(data);
    });
  }

  get<T = any>(path: string): Promise<KubeResponse<T>> {
    return this.req<T>('GET', path);
  }
  post<T = any>(path: string, body: unknown): Promise<KubeResponse<T>> {
    return this.req<T>('POST', path, body);
  }
  put<T = any>(path: string, body: unknown): Promise<KubeResponse<T>> {
    return this.req<T>('PUT', path, body);
  }
  del<T = any>(path: string, body?: unknown): Promise<KubeResponse<T>> {
    return this.req<T>('DELETE', path, body);
  }
  mergePatch<T = any>(path: string, body: unknown): Promise<KubeResponse<T>> {
    return this.req<T>('PATCH', path, body, 'application/merge-patch+json');
  }

  /**
   * List then watch `path` forever (re-listing when the watch breaks). onList gets the full list (a
   * resync), onEvent each watch event. Returns a stop function.
   */
  informer(path: string, onList: (items: any[]) => void, onEvent: (type: string, obj: any) => void): () => void {
    let stopped = false;
    let current: { destroy(): void } | undefined;
    const sep = path.includes('?') ? '&' : '?';
    const loop = async () => {
      while (!stopped) {
        try {
          const list = await this.get(path);
          if (list.status !== 200) throw new Error(`list ${path}: HTTP ${list.status} ${list.text.slice(0, 200)}`);
          let rv: string = list.body.metadata?.resourceVersion ?? '';
          onList(list.body.items ?? []);
          for (;;) {
            if (stopped) return;
            const gone = await new Promise<boolean>((resolve, reject) => {
              this.ready.then(() => {
                const r = request(
                  {
                    ...this.opts,
                    host: this.base.hostname,
                    port: this.base.port,
                    path: `${path}${sep}watch=1&allowWatchBookmarks=true&timeoutSeconds=300&resourceVersion=${encodeURIComponent(rv)}`,
                    method: 'GET',
                    headers: { ...(this.opts.headers ?? {}), accept: 'application/json' },
                  },
                  (res) => {
                    if (res.statusCode !== 200) {
                      res.resume();
                      resolve(true);
                      return;
                    }
                    let buf = '';
                    let expired = false;
                    res.setEncoding('utf8');
                    res.on('data', (d: string) => {
                      buf += d;
                      let i: number;
                      while ((i = buf.indexOf('\n')) >= 0) {
                        const line = buf.slice(0, i);
                        buf = buf.slice(i + 1);
                        if (!line.trim()) continue;
                        let ev: any;
                        try {
                          ev = JSON.parse(line);
                        } catch {
                          continue;
                        }
                        if (ev.type === 'ERROR') {
                          expired = true;
                          continue;
                        }
                        if (ev.object?.metadata?.resourceVersion) rv = ev.object.metadata.resourceVersion;
                        if (ev.type === 'BOOKMARK') continue;
                        try {
                          onEvent(ev.type, ev.object);
                        } catch (e) {
                          process.stderr.write(`informer ${path}: handler failed: ${(e as Error).stack}\n`);
                        }
                      }
                    });
                    res.on('end', () => resolve(expired));
                    res.on('error', reject);
                  },
                );
                current = r;
                r.on('error', reject);
                r.end();
              }, reject);
            });
            if (gone) break; // re-list
          }
        } catch (e) {
          if (!stopped) process.stderr.write(`informer ${path}: ${(e as Error).message}\n`);
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    };
    void loop();
    return () => {
      stopped = true;
      current?.destroy();
    };
  }
}
