// Seeds REAL objects into the REAL test control plane (test/cluster/controlplane.ts) for the tests of the
// read model and the views: unique namespaces per run, a site as the site core writes it (its
// `skupper-site` ConfigMap from src/core/site/build.ts), link Secrets, `skupper-services` and a published
// `skupper-network-status`, written straight to the API servers (no routers run: the reader only reads
// these objects). Other test runs share the API servers, so the kubeconfigs written here use a
// ServiceAccount per cluster that may only read the namespaces of this run: listing across the cluster
// is forbidden (HTTP 403 from RBAC) and the reader falls back to the context's own namespace, so what a
// test sees is exactly what it seeded. Unreachable contexts: connection refused (127.0.0.1:1) and a TCP
// listener that accepts and never answers (the per-context timeout).
import { readFileSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { parse } from 'yaml';
import { ensureControlPlane } from '../cluster/controlplane';
import { createNamespace, deleteNamespace, uniqueName } from '../cluster/helpers';
import { Kube } from '../cluster/kube';
import { resolveOptions, siteConfigMap } from '../../src/core/site/build';

export const CLUSTERS = ['public', 'private', 'east'] as const;
export type ClusterName = (typeof CLUSTERS)[number];
const SA = 'van-reader';

export interface SeedLink {
  name: string;
  /** the remote site's id (the uid of its site ConfigMap) */
  remoteId?: string;
  remote: string;
  state: string;
  cost?: number;
  error?: string;
}
export interface SeedService {
  address: string;
  port: number;
  target?: string;
  origin?: string;
}

export interface KubeconfigContext {
  name: string;
  /** a cluster of the control plane, or an unreachable server */
  cluster: ClusterName | { server: string };
  namespace?: string;
  /** admin (sees the whole cluster) instead of this run's scoped ServiceAccount */
  admin?: boolean;
}

export class Seed {
  readonly run = uniqueName('van');
  private kubeconfigPath = '';
  private admin = new Map<string, Kube>();
  private tokens = new Map<string, string>();
  private clusterEntries = new Map<string, any>();
  private adminUsers = new Map<string, any>();
  private namespaces: { cluster: ClusterName; name: string }[] = [];
  private hangers: net.Server[] = [];
  private sockets = new Set<net.Socket>();

  /** Starts (or reuses) the control plane and makes this run's ServiceAccount in every cluster. */
  async init(clusters: readonly ClusterName[] = CLUSTERS): Promise<this> {
    const cp = await ensureControlPlane();
    this.kubeconfigPath = cp.kubeconfigPath;
    const kc = parse(readFileSync(cp.kubeconfigPath, 'utf8'));
    for (const c of kc.clusters) this.clusterEntries.set(c.name, c.cluster);
    for (const u of kc.users) this.adminUsers.set(u.name, u.user);
    await Promise.all(
      clusters.map(async (c) => {
        const kube = new Kube(cp.kubeconfigPath, c);
        this.admin.set(c, kube);
        const home = this.home(c);
        await this.namespace(c, home, false);
        const sa = await kube.post(`/api/v1/namespaces/${home}/serviceaccounts`, {
          apiVersion: 'v1',
          kind: 'ServiceAccount',
          metadata: { name: SA },
        });
        if (sa.status !== 201) throw new Error(`serviceaccount in ${c}: ${sa.status} ${sa.text}`);
        const tr = await kube.post(`/api/v1/namespaces/${home}/serviceaccounts/${SA}/token`, {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          spec: { expirationSeconds: 7200 },
        });
        if (tr.status !== 201) throw new Error(`token in ${c}: ${tr.status} ${tr.text}`);
        this.tokens.set(c, tr.body.status.token);
        await this.bind(c, home);
      }),
    );
    return this;
  }

  /** The namespace of this run in a cluster where no site lives (the scoped contexts' default). */
  home(_cluster?: ClusterName): string {
    return `${this.run}-home`;
  }

  kube(cluster: ClusterName): Kube {
    return this.admin.get(cluster)!;
  }

  private async bind(cluster: ClusterName, namespace: string): Promise<void> {
    const r = await this.kube(cluster).post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings`, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: SA },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' },
      subjects: [{ kind: 'ServiceAccount', name: SA, namespace: this.home(cluster) }],
    });
    if (r.status !== 201) throw new Error(`rolebinding in ${cluster}/${namespace}: ${r.status} ${r.text}`);
  }

  /** A namespace of this run (deleted by cleanup), readable by the scoped ServiceAccount. */
  async namespace(cluster: ClusterName, name: string, bind = true): Promise<string> {
    this.namespaces.push({ cluster, name });
    const kube = this.admin.get(cluster) ?? new Kube(this.kubeconfigPath, cluster);
    await createNamespace(kube, name);
    if (bind) await this.bind(cluster, name);
    return name;
  }

  private async create(cluster: ClusterName, path: string, obj: unknown): Promise<any> {
    const r = await this.kube(cluster).post(path, obj);
    if (r.status !== 201) throw new Error(`POST ${path} in ${cluster}: ${r.status} ${r.text}`);
    return r.body;
  }

  private async upsert(cluster: ClusterName, path: string, name: string, obj: any): Promise<void> {
    const r = await this.kube(cluster).post(path, obj);
    if (r.status === 409) {
      const cur = await this.kube(cluster).get(`${path}/${name}`);
      const u = await this.kube(cluster).put(`${path}/${name}`, {
        ...obj,
        metadata: { ...obj.metadata, resourceVersion: cur.body.metadata.resourceVersion },
      });
      if (u.status !== 200) throw new Error(`PUT ${path}/${name}: ${u.status} ${u.text}`);
    } else if (r.status !== 201) throw new Error(`POST ${path} in ${cluster}: ${r.status} ${r.text}`);
  }

  /** The site ConfigMap as the site core builds it; returns the site id (the ConfigMap's uid). */
  async site(cluster: ClusterName, namespace: string, name: string): Promise<string> {
    const cm = await this.create(
      cluster,
      `/api/v1/namespaces/${namespace}/configmaps`,
      siteConfigMap(resolveOptions({ namespace, siteName: name })),
    );
    return cm.metadata.uid as string;
  }

  /** Link Secrets, services and the published status of a site (created, or replaced when present). */
  async siteState(
    cluster: ClusterName,
    namespace: string,
    opts: { links?: SeedLink[]; services?: SeedService[]; network?: unknown },
  ): Promise<void> {
    const base = `/api/v1/namespaces/${namespace}`;
    for (const l of opts.links ?? []) {
      await this.upsert(cluster, `${base}/secrets`, l.name, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name: l.name,
          namespace,
          labels: { 'skupper.io/type': 'connection-token' },
          annotations: {
            'skupper.io/cost': String(l.cost ?? 1),
            'skupper.io/remote-site-name': l.remote,
            ...(l.remoteId ? { 'skupper.io/generated-by': l.remoteId } : {}),
          },
        },
        data: { 'ca.crt': Buffer.from('seeded').toString('base64') },
      });
    }
    if (opts.services) {
      const data: Record<string, string> = {};
      for (const s of opts.services)
        data[s.address] = JSON.stringify({
          address: s.address,
          protocol: 'tcp',
          ports: [s.port],
          targets: s.target ? [{ name: s.target, selector: `app=${s.target}`, targetPorts: { [s.port]: s.port } }] : [],
          ...(s.origin ? { origin: s.origin } : {}),
        });
      await this.upsert(cluster, `${base}/configmaps`, 'skupper-services', {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'skupper-services', namespace },
        data,
      });
    }
    if (opts.links?.length || opts.network) {
      const siteJson = {
        updated: new Date().toISOString(),
        links: (opts.links ?? []).map((l) => ({
          name: l.name,
          state: l.state,
          remoteSiteName: l.remote,
          remoteSiteId: l.remoteId,
          cost: l.cost ?? 1,
          lastError: l.error,
        })),
      };
      await this.upsert(cluster, `${base}/configmaps`, 'skupper-network-status', {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'skupper-network-status', namespace },
        data: { 'site.json': JSON.stringify(siteJson), ...(opts.network ? { 'network.json': JSON.stringify(opts.network) } : {}) },
      });
    }
  }

  /** A TCP listener on loopback that accepts connections and never answers (not even the TLS handshake). */
  async hangingServer(): Promise<string> {
    const s = net.createServer((sock) => {
      this.sockets.add(sock);
      sock.on('close', () => this.sockets.delete(sock));
      sock.on('error', () => undefined);
    });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    this.hangers.push(s);
    return `https://127.0.0.1:${(s.address() as net.AddressInfo).port}`;
  }

  /** Writes a kubeconfig (JSON, which is YAML) with these contexts; live ones use the cluster's real CA. */
  writeKubeconfig(file: string, contexts: KubeconfigContext[], current?: string): void {
    const clusters: any[] = [];
    const users: any[] = [];
    const ctxs: any[] = [];
    for (const c of contexts) {
      const clusterName = typeof c.cluster === 'string' ? c.cluster : `${c.name}-server`;
      if (!clusters.some((x) => x.name === clusterName)) {
        clusters.push({
          name: clusterName,
          cluster:
            typeof c.cluster === 'string'
              ? this.clusterEntries.get(c.cluster)
              : { server: c.cluster.server, 'insecure-skip-tls-verify': true },
        });
      }
      let user: string;
      if (typeof c.cluster !== 'string') {
        user = 'nobody';
        if (!users.some((u) => u.name === user)) users.push({ name: user, user: { token: 'unused' } });
      } else if (c.admin) {
        user = `${c.cluster}-admin`;
        if (!users.some((u) => u.name === user)) users.push({ name: user, user: this.adminUsers.get(user) });
      } else {
        user = `${c.cluster}-${SA}`;
        if (!users.some((u) => u.name === user)) users.push({ name: user, user: { token: this.tokens.get(c.cluster) } });
      }
      const namespace = c.namespace ?? (typeof c.cluster === 'string' && !c.admin ? this.home(c.cluster) : undefined);
      ctxs.push({ name: c.name, context: { cluster: clusterName, user, ...(namespace ? { namespace } : {}) } });
    }
    const kc = { apiVersion: 'v1', kind: 'Config', 'current-context': current ?? contexts[0]?.name ?? '', clusters, users, contexts: ctxs };
    writeFileSync(file, JSON.stringify(kc, null, 2) + '\n', { mode: 0o600 });
  }

  /** Deletes every namespace of this run and closes the hanging listeners. */
  async cleanup(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    for (const h of this.hangers) h.close();
    await Promise.all(
      this.namespaces.map((n) =>
        deleteNamespace(this.admin.get(n.cluster) ?? new Kube(this.kubeconfigPath, n.cluster), n.name).catch(() => undefined),
      ),
    );
  }
}
