// Shared helpers for the cluster test suites.
import { connect } from 'node:net';
import { ensureControlPlane } from './controlplane';
import { Kube } from './kube';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function clusterSetup(): Promise<{ kubeconfigPath: string; contexts: string[]; kube: (context: string) => Kube }> {
  const cp = await ensureControlPlane();
  return { ...cp, kube: (context: string) => new Kube(cp.kubeconfigPath, context) };
}

/** Polls fn until it returns a truthy value; throws with the last value/error after timeoutMs. */
export async function eventually<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined | false | null>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (e) {
      last = e;
    }
    await sleep(200);
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s: ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

export async function createNamespace(kube: Kube, name: string): Promise<void> {
  const r = await kube.post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  if (r.status !== 201) throw new Error(`create namespace ${name}: ${r.status} ${r.text}`);
  await eventually(
    `default ServiceAccount in ${name}`,
    30_000,
    async () => (await kube.get(`/api/v1/namespaces/${name}/serviceaccounts/default`)).status === 200,
  );
}

export async function deleteNamespace(kube: Kube, name: string): Promise<void> {
  await kube.del(`/api/v1/namespaces/${name}`);
}

/** Sends one line over TCP and returns the first answer. */
export function tcpExchange(host: string, port: number, line: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer from ${host}:${port}`));
    }, timeoutMs);
    let got = '';
    s.setEncoding('utf8');
    s.on('connect', () => s.write(line + '\n'));
    s.on('data', (d: string) => {
      got += d;
      if (got.includes('\n')) {
        clearTimeout(t);
        s.end();
        resolve(got.trim());
      }
    });
    s.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}
