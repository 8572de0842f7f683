// Shared helpers of the end-to-end stories: the built `van` CLI against the test control plane,
// workloads, waiting, and timings.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureControlPlane } from '../cluster/controlplane';
import { createNamespace, deleteNamespace, eventually, sleep, tcpExchange, uniqueName } from '../cluster/helpers';
import { Kube } from '../cluster/kube';
import { projectRoot } from '../cluster/paths';

export { eventually, sleep, tcpExchange, uniqueName };

let built = false;

function newestMtime(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = statSync(path);
    newest = Math.max(newest, st.isDirectory() ? newestMtime(path) : st.mtimeMs);
  }
  return newest;
}

/**
 * Builds dist/ (the router pods run dist/router.js: the code under test) unless it is newer than
 * every file under src/ (npm test builds before the suites run).
 */
export function buildOnce(): void {
  if (built) return;
  const outputs = ['dist/cli.js', 'dist/router.js'].map((f) => join(projectRoot, f));
  const fresh =
    outputs.every((f) => existsSync(f)) && Math.min(...outputs.map((f) => statSync(f).mtimeMs)) > newestMtime(join(projectRoot, 'src'));
  if (!fresh) {
    const r = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: projectRoot, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`build failed: ${r.stderr || r.stdout}`);
  }
  built = true;
}

export interface VanResult {
  code: number;
  out: string;
  err: string;
}

/** A site under test: one context and namespace, and the `van` CLI bound to them. */
export class SiteUnderTest {
  readonly kube: Kube;

  constructor(
    readonly kubeconfig: string,
    readonly context: string,
    readonly namespace: string,
  ) {
    this.kube = new Kube(kubeconfig, context);
  }

  /** Runs `node dist/cli.js ARGS --kubeconfig K --context C -n NS`. */
  van(...args: string[]): Promise<VanResult> {
    return new Promise((resolve) => {
      const child = spawn(
        process.execPath,
        [join(projectRoot, 'dist/cli.js'), ...args, '--kubeconfig', this.kubeconfig, '--context', this.context, '-n', this.namespace],
        { cwd: projectRoot },
      );
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? -1, out: out.trim(), err: err.trim() });
      });
    });
  }

  /** Like van() but fails the test on a non-zero exit. */
  async must(...args: string[]): Promise<string> {
    const r = await this.van(...args);
    assert.equal(r.code, 0, `van ${args.join(' ')} (${this.context}/${this.namespace}) exited ${r.code}: ${r.err}`);
    return r.out;
  }

  async json<T = any>(...args: string[]): Promise<T> {
    return JSON.parse(await this.must(...args, '-o', 'json')) as T;
  }

  get ns(): string {
    return `/api/v1/namespaces/${this.namespace}`;
  }

  async deploy(
    name: string,
    image: string,
    options: { replicas?: number; port: number; labels?: Record<string, string>; env?: Record<string, string> },
  ): Promise<void> {
    const labels = options.labels ?? { application: name };
    const body = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, labels },
      spec: {
        replicas: options.replicas ?? 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              {
                name,
                image,
                ports: [{ containerPort: options.port }],
                env: Object.entries(options.env ?? {}).map(([n, value]) => ({ name: n, value })),
                readinessProbe: { tcpSocket: { port: options.port }, periodSeconds: 1 },
              },
            ],
          },
        },
      },
    };
    const r = await this.kube.post(`/apis/apps/v1/namespaces/${this.namespace}/deployments`, body);
    assert.equal(r.status, 201, r.text);
  }

  /** Ready pods with the labels: name and IP. */
  async readyPods(selector: string): Promise<{ name: string; ip: string }[]> {
    const r = await this.kube.get(`${this.ns}/pods?labelSelector=${encodeURIComponent(selector)}`);
    return (r.body.items ?? [])
      .filter(
        (p: any) =>
          !p.metadata.deletionTimestamp &&
          p.status?.podIP &&
          (p.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True'),
      )
      .map((p: any) => ({ name: p.metadata.name, ip: p.status.podIP }));
  }

  /** The ready endpoints (address:port) of a Service, from its EndpointSlices (no kube-proxy needed). */
  async endpoints(service: string): Promise<{ ip: string; port: number }[]> {
    const r = await this.kube.get(
      `/apis/discovery.k8s.io/v1/namespaces/${this.namespace}/endpointslices?labelSelector=${encodeURIComponent(`kubernetes.io/service-name=${service}`)}`,
    );
    const out: { ip: string; port: number }[] = [];
    for (const s of r.body.items ?? []) {
      const port = s.ports?.[0]?.port;
      if (!port) continue;
      for (const e of s.endpoints ?? []) {
        if (e.conditions?.ready === false) continue;
        for (const a of e.addresses ?? []) out.push({ ip: a, port });
      }
    }
    return out;
  }

  async service(name: string): Promise<any | undefined> {
    const r = await this.kube.get(`${this.ns}/services/${name}`);
    return r.status === 200 ? r.body : undefined;
  }

  /** Waits until `van status` says ready. */
  async waitReady(timeoutMs = 90_000): Promise<void> {
    await eventually(`site in ${this.context}/${this.namespace} ready`, timeoutMs, async () => {
      const r = await this.van('status', '-o', 'json');
      return r.code === 0 && JSON.parse(r.out).ready === true;
    });
  }

  /** Waits until every link of `van link status` is connected (at least `count`). */
  async waitLinks(count = 1, timeoutMs = 60_000): Promise<any[]> {
    return eventually(`${count} link(s) connected in ${this.context}/${this.namespace}`, timeoutMs, async () => {
      const r = await this.van('link', 'status', '-o', 'json');
      if (r.code !== 0) return undefined;
      const links = JSON.parse(r.out) as any[];
      const up = links.filter((l) => l.connected === true);
      return up.length >= count ? links : undefined;
    });
  }

  async createNamespace(): Promise<void> {
    await createNamespace(this.kube, this.namespace);
  }

  async deleteNamespace(): Promise<void> {
    await deleteNamespace(this.kube, this.namespace).catch(() => undefined);
  }

  /** Logs of the router pods (for failure reports), from the kubelet stand-in's pod folders. */
  async routerLogs(tail = 40): Promise<string> {
    const pods = await this.kube.get(`${this.ns}/pods?labelSelector=${encodeURIComponent('application=skupper-router')}`);
    const parts: string[] = [];
    for (const p of pods.body.items ?? []) {
      const file = join(projectRoot, '.van-test', this.context, 'pods', `${this.namespace}_${p.metadata.name}`, 'router.log');
      const text = existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-tail).join('\n') : '(no log file)';
      parts.push(`--- ${this.context}/${p.metadata.name}\n${text}`);
    }
    return parts.join('\n');
  }
}

export async function controlPlane(): Promise<{ kubeconfigPath: string }> {
  const cp = await ensureControlPlane();
  buildOnce();
  return cp;
}

/** A fresh folder for token files. */
export function tokenDir(): string {
  return mkdtempSync(join(tmpdir(), 'van-e2e-'));
}

/** Timings of one story, printed at its end. */
export class Timings {
  private readonly t0 = Date.now();
  private readonly marks: [string, number][] = [];

  constructor(readonly story: string) {}

  /** Records how long `since` (a Date.now() value) took until now. */
  mark(what: string, since: number): number {
    const ms = Date.now() - since;
    this.marks.push([what, ms]);
    return ms;
  }

  print(): void {
    const lines = this.marks.map(([w, ms]) => `  ${w.padEnd(44)} ${(ms / 1000).toFixed(2).padStart(7)} s`);
    process.stdout.write(`\n[${this.story}] timings (total ${((Date.now() - this.t0) / 1000).toFixed(1)} s)\n${lines.join('\n')}\n`);
  }
}

/** GET over HTTP with a fresh connection; resolves with status and body. */
export function httpGet(host: string, port: number, path: string, timeoutMs = 10_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, method: 'GET', agent: false, timeout: timeoutMs, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${host}:${port}${path}`)));
    req.on('error', reject);
    req.end();
  });
}

/** A line-oriented client on one long-lived connection. */
export function session(host: string, port: number): Promise<{ ask(line: string): Promise<string>; close(): void; closed(): boolean }> {
  return new Promise((resolve, reject) => {
    const s: Socket = connect({ host, port });
    let buffer = '';
    let waiting: ((line: string) => void) | undefined;
    let closed = false;
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      buffer += d;
      const nl = buffer.indexOf('\n');
      if (nl >= 0 && waiting) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        const w = waiting;
        waiting = undefined;
        w(line.trim());
      }
    });
    s.on('error', (e) => (waiting ? undefined : reject(e)));
    s.on('close', () => {
      closed = true;
    });
    s.on('connect', () =>
      resolve({
        ask: (line) =>
          new Promise((res, rej) => {
            if (closed) return rej(new Error('the connection is closed'));
            const timer = setTimeout(() => rej(new Error(`no answer to "${line}" on the long-lived connection`)), 10_000);
            waiting = (l) => {
              clearTimeout(timer);
              res(l);
            };
            s.write(line + '\n');
          }),
        close: () => s.destroy(),
        closed: () => closed,
      }),
    );
  });
}

/**
 * The usual cast of a story: a `public` and a `private` site-to-be, each in a fresh namespace of its
 * cluster. Registers the before/after hooks (namespaces made, then deleted; timings printed).
 */
export function publicAndPrivate(prefix: string, timings: Timings): { pub: SiteUnderTest; priv: SiteUnderTest } {
  const cast = {} as { pub: SiteUnderTest; priv: SiteUnderTest };
  before(
    async () => {
      const { kubeconfigPath } = await controlPlane();
      const ns = uniqueName(prefix);
      cast.pub = new SiteUnderTest(kubeconfigPath, 'public', ns);
      cast.priv = new SiteUnderTest(kubeconfigPath, 'private', ns);
      await Promise.all([cast.pub.createNamespace(), cast.priv.createNamespace()]);
    },
    { timeout: 300_000 },
  );
  after(async () => {
    timings.print();
    await Promise.all([cast.pub?.deleteNamespace(), cast.priv?.deleteNamespace()]);
  });
  return cast;
}
