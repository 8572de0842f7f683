// The real multi-cluster Kubernetes test control plane.
//
// Per cluster: an embedded etcd, kube-apiserver, kube-controller-manager and kube-scheduler (one Go
// binary built by build-controlplane.sh) on loopback ports, certificates of its own, and the kubelet
// stand-in (kubelet.ts) that runs pods as local processes. Everything lives under .van-test/ in the
// project root; processes are detached so the control plane outlives the command that started it.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { stringify } from 'yaml';
import { b64, ensureClusterPki, type ClusterPki } from './pki';
import {
  createPodNetwork,
  podNetworkExists,
  podNetworkNames,
  removePodNetwork,
  routeCluster,
  strayHostAddresses,
  unrouteCluster,
  type PodNetwork,
} from './podnet';
import { binaryExists, clusterDir, controlPlaneBinary, kubeconfigPath, projectRoot, stateDir, stateFile } from './paths';

export { kubeconfigPath, stateDir } from './paths';

export const DEFAULT_CLUSTERS = ['public', 'private', 'east'];

export interface ClusterState {
  name: string;
  /** Second octet of the cluster's private 10.X.0.0/16 range (pods, services, load balancers). */
  octet: number;
  ports: { etcd: number; etcdPeer: number; apiserver: number; controllerManager: number; scheduler: number };
  pids: Record<string, number>;
  node: string;
}

export interface ControlPlaneState {
  version: 1;
  binary: string;
  clusters: ClusterState[];
  /** The pod network namespace every cluster's pods run in (podnet.ts). */
  net?: PodNetwork;
  /** When set, the control plane is stopped once this process ends (a test run that started it). */
  ownerPid?: number;
  startedAt: string;
}

export interface ControlPlane {
  kubeconfigPath: string;
  contexts: string[];
}

const usersFile = join(stateDir, 'users');

function log(msg: string): void {
  if (process.env.VAN_TEST_QUIET !== '1') process.stderr.write(`[controlplane] ${msg}\n`);
}

export function readState(): ControlPlaneState | undefined {
  try {
    return JSON.parse(readFileSync(stateFile, 'utf8')) as ControlPlaneState;
  } catch {
    return undefined;
  }
}

function writeState(state: ControlPlaneState): void {
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(stateFile + '.tmp', JSON.stringify(state, null, 2));
  execFileSync('mv', ['-f', stateFile + '.tmp', stateFile]);
}

export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    try {
      // A zombie (exited, not yet reaped) is not alive.
      if (/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) return false;
    } catch {
      return false;
    }
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

function clusterPath(name: string, ...rest: string[]): string {
  return join(stateDir, name, ...rest);
}

function pkiOf(name: string, octet: number): ClusterPki {
  return ensureClusterPki(clusterPath(name, 'pki'), name, [`10.${octet}.240.1`, `10.${octet}.0.1`]);
}

/** GET a path of a cluster's API server with the admin certificate; resolves the status code (0 on error). */
function apiGet(c: ClusterState, path: string, timeoutMs = 3000): Promise<{ status: number; body: string }> {
  const pki = pkiOf(c.name, c.octet);
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: c.ports.apiserver,
        path,
        method: 'GET',
        ca: readFileSync(pki.caCert),
        cert: readFileSync(pki.adminCert),
        key: readFileSync(pki.adminKey),
        timeout: timeoutMs,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.end();
  });
}

function apiSend(c: ClusterState, method: string, path: string, obj: unknown): Promise<{ status: number; body: string }> {
  const pki = pkiOf(c.name, c.octet);
  const data = JSON.stringify(obj);
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: c.ports.apiserver,
        path,
        method,
        ca: readFileSync(pki.caCert),
        cert: readFileSync(pki.adminCert),
        key: readFileSync(pki.adminKey),
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
        timeout: 10000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ status: 0, body: String(e) }));
    req.end(data);
  });
}

async function nodeReady(c: ClusterState): Promise<boolean> {
  const r = await apiGet(c, `/api/v1/nodes/${c.node}`);
  if (r.status !== 200) return false;
  const node = JSON.parse(r.body) as { status?: { conditions?: { type: string; status: string }[] } };
  return !!node.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True');
}

/**
 * True when the cluster's API server is ready and its kubelet stand-in is up with a Ready node. A dead
 * controller-manager, scheduler or kubelet stand-in is started again (the cluster's data is in etcd);
 * a dead etcd or API server makes the cluster unhealthy.
 */
async function clusterHealthy(c: ClusterState, state: ControlPlaneState): Promise<boolean> {
  if (!state.net || !podNetworkExists(state.net)) return false;
  if (!isAlive(c.pids.etcd) || !isAlive(c.pids['kube-apiserver'])) return false;
  const r = await apiGet(c, '/readyz');
  if (r.status !== 200) return false;
  let repaired = false;
  for (const [k, args] of [
    ['kube-controller-manager', () => controllerManagerArgs(c)],
    ['kube-scheduler', () => schedulerArgs(c)],
  ] as const) {
    if (!isAlive(c.pids[k])) {
      log(`${k} of ${c.name} is not running: starting it again`);
      c.pids[k] = spawnDetached(c, k, state.binary, args());
      repaired = true;
    }
  }
  if (!isAlive(c.pids.kubelet)) {
    log(`the kubelet stand-in of ${c.name} is not running: starting it again`);
    c.pids.kubelet = spawnDetached(c, 'kubelet', process.execPath, kubeletArgs(c, kubeletScript()));
    repaired = true;
  }
  if (repaired) {
    writeState(state);
    try {
      await waitFor(`node ${c.node} of ${c.name} to be Ready`, 60_000, async () => isAlive(c.pids.kubelet) && (await nodeReady(c)));
    } catch {
      return false;
    }
  }
  return nodeReady(c);
}

function spawnDetached(c: ClusterState, component: string, cmd: string, args: string[]): number {
  if (aborted) throw new Error('the control plane is being stopped');
  mkdirSync(clusterPath(c.name, 'logs'), { recursive: true });
  const fd = openSync(clusterPath(c.name, 'logs', `${component}.log`), 'a');
  const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd], cwd: projectRoot, env: { ...process.env } });
  closeSync(fd);
  child.unref();
  if (!child.pid) throw new Error(`could not start ${component} of cluster ${c.name}`);
  return child.pid;
}

function writeKubeconfigFile(path: string, clusters: ClusterState[], withNsAdmin: boolean): void {
  const kc = {
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': clusters[0]?.name ?? '',
    clusters: clusters.map((c) => ({
      name: c.name,
      cluster: { server: `https://127.0.0.1:${c.ports.apiserver}`, 'certificate-authority-data': b64(pkiOf(c.name, c.octet).caCert) },
    })),
    users: clusters.flatMap((c) => {
      const pki = pkiOf(c.name, c.octet);
      const users = [
        { name: `${c.name}-admin`, user: { 'client-certificate-data': b64(pki.adminCert), 'client-key-data': b64(pki.adminKey) } },
      ];
      if (withNsAdmin)
        users.push({
          name: `${c.name}-ns-admin`,
          user: { 'client-certificate-data': b64(pki.nsAdminCert), 'client-key-data': b64(pki.nsAdminKey) },
        });
      return users;
    }),
    contexts: clusters.flatMap((c) => {
      const ctx = [{ name: c.name, context: { cluster: c.name, user: `${c.name}-admin`, namespace: 'default' } }];
      if (withNsAdmin)
        ctx.push({ name: `${c.name}-ns-admin`, context: { cluster: c.name, user: `${c.name}-ns-admin`, namespace: 'team' } });
      return ctx;
    }),
  };
  writeFileSync(path + '.tmp', stringify(kc), { mode: 0o600 });
  execFileSync('mv', ['-f', path + '.tmp', path]);
}

function usedOctets(): Set<number> {
  const used = new Set<number>();
  const out = spawnSync('ip', ['-o', '-4', 'addr', 'show'], { encoding: 'utf8' }).stdout ?? '';
  for (const m of out.matchAll(/inet 10\.(\d+)\./g)) used.add(Number(m[1]));
  const routes = spawnSync('ip', ['-o', '-4', 'route', 'show', 'table', 'all'], { encoding: 'utf8' }).stdout ?? '';
  for (const m of routes.matchAll(/(?:^|\s)10\.(\d+)\.\d+\.\d+/gm)) used.add(Number(m[1]));
  return used;
}

async function newCluster(name: string, taken: Set<number>): Promise<ClusterState> {
  let octet = Number(process.env.VAN_TEST_NET_BASE || 100);
  const used = usedOctets();
  while (used.has(octet) || taken.has(octet)) octet++;
  if (octet > 254) throw new Error('no free 10.X.0.0/16 range for the test cluster');
  taken.add(octet);
  const ports = {
    etcd: await freePort(),
    etcdPeer: await freePort(),
    apiserver: await freePort(),
    controllerManager: await freePort(),
    scheduler: await freePort(),
  };
  return { name, octet, ports, pids: {}, node: `${name}-node` };
}

async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean> | boolean, onTimeout?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(250);
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${onTimeout ? `\n${onTimeout()}` : ''}`);
}

function tail(path: string, lines = 25): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

function apiserverArgs(c: ClusterState): string[] {
  const dir = clusterPath(c.name);
  const pki = pkiOf(c.name, c.octet);
  return [
    'kube-apiserver',
    `--etcd-servers=http://127.0.0.1:${c.ports.etcd}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    // The endpoint reconciler refuses a loopback address for the `kubernetes` Service.
    '--endpoint-reconciler-type=none',
    `--secure-port=${c.ports.apiserver}`,
    `--cert-dir=${join(dir, 'pki', 'generated')}`,
    `--tls-cert-file=${pki.serverCert}`,
    `--tls-private-key-file=${pki.serverKey}`,
    `--client-ca-file=${pki.caCert}`,
    `--service-cluster-ip-range=10.${c.octet}.240.0/20`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${pki.saPub}`,
    `--service-account-signing-key-file=${pki.saKey}`,
    '--authorization-mode=Node,RBAC',
    '--allow-privileged=true',
    '--kubelet-preferred-address-types=InternalIP',
    '--enable-priority-and-fairness=false',
    '--profiling=false',
    '--v=0',
  ];
}

function controllerManagerArgs(c: ClusterState): string[] {
  const dir = clusterPath(c.name);
  const pki = pkiOf(c.name, c.octet);
  const adminKubeconfig = join(dir, 'admin.kubeconfig');
  return [
    'kube-controller-manager',
    `--kubeconfig=${adminKubeconfig}`,
    `--authentication-kubeconfig=${adminKubeconfig}`,
    `--authorization-kubeconfig=${adminKubeconfig}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${c.ports.controllerManager}`,
    `--cert-dir=${join(dir, 'pki', 'generated-kcm')}`,
    `--service-account-private-key-file=${pki.saKey}`,
    `--root-ca-file=${pki.caCert}`,
    `--cluster-signing-cert-file=${pki.caCert}`,
    `--cluster-signing-key-file=${pki.caKey}`,
    `--service-cluster-ip-range=10.${c.octet}.240.0/20`,
    '--use-service-account-credentials=false',
    '--leader-elect=false',
    '--concurrent-gc-syncs=5',
    '--profiling=false',
    '--v=0',
  ];
}

function schedulerArgs(c: ClusterState): string[] {
  const dir = clusterPath(c.name);
  const adminKubeconfig = join(dir, 'admin.kubeconfig');
  return [
    'kube-scheduler',
    `--kubeconfig=${adminKubeconfig}`,
    `--authentication-kubeconfig=${adminKubeconfig}`,
    `--authorization-kubeconfig=${adminKubeconfig}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${c.ports.scheduler}`,
    `--cert-dir=${join(dir, 'pki', 'generated-scheduler')}`,
    '--leader-elect=false',
    '--profiling=false',
    '--v=0',
  ];
}

async function startCluster(c: ClusterState, bin: string, onStarted: () => void): Promise<void> {
  const dir = clusterPath(c.name);
  mkdirSync(join(dir, 'etcd'), { recursive: true });
  const adminKubeconfig = join(dir, 'admin.kubeconfig');
  writeKubeconfigFile(adminKubeconfig, [c], false);
  const logOf = (k: string) => () => tail(clusterPath(c.name, 'logs', `${k}.log`));

  c.pids.etcd = spawnDetached(c, 'etcd', bin, [
    'etcd',
    `--name=${c.name}`,
    `--data-dir=${join(dir, 'etcd')}`,
    `--listen-client-urls=http://127.0.0.1:${c.ports.etcd}`,
    `--listen-peer-urls=http://127.0.0.1:${c.ports.etcdPeer}`,
  ]);
  onStarted();
  c.pids['kube-apiserver'] = spawnDetached(c, 'kube-apiserver', bin, apiserverArgs(c));
  onStarted();
  await waitFor(
    `the API server of ${c.name}`,
    120_000,
    async () => {
      if (!isAlive(c.pids['kube-apiserver'])) throw new Error(`kube-apiserver of ${c.name} exited:\n${logOf('kube-apiserver')()}`);
      if (!isAlive(c.pids.etcd)) throw new Error(`etcd of ${c.name} exited:\n${logOf('etcd')()}`);
      return (await apiGet(c, '/readyz')).status === 200;
    },
    logOf('kube-apiserver'),
  );

  c.pids['kube-controller-manager'] = spawnDetached(c, 'kube-controller-manager', bin, controllerManagerArgs(c));
  c.pids['kube-scheduler'] = spawnDetached(c, 'kube-scheduler', bin, schedulerArgs(c));
  c.pids.kubelet = spawnDetached(c, 'kubelet', process.execPath, kubeletArgs(c, kubeletScript()));
  onStarted();

  // The controller manager makes each namespace's default ServiceAccount (pods need it). Should it exit
  // (e.g. its port taken between freePort() and its bind), it is started again on another port.
  let restarts = 0;
  const controllerManagerUp = async (): Promise<void> => {
    if (isAlive(c.pids['kube-controller-manager'])) return;
    const why = logOf('kube-controller-manager')();
    if (restarts++ >= 2) throw new Error(`kube-controller-manager of ${c.name} exited three times:\n${why}`);
    log(
      `kube-controller-manager of ${c.name} exited; starting it again on another port (last lines: ${why.split('\n').slice(-2).join(' | ')})`,
    );
    c.ports.controllerManager = await freePort();
    c.pids['kube-controller-manager'] = spawnDetached(c, 'kube-controller-manager', bin, controllerManagerArgs(c));
    onStarted();
  };
  await bootstrap(c, controllerManagerUp, logOf('kube-controller-manager'));
  await waitFor(
    `node ${c.node} of ${c.name} to be Ready`,
    60_000,
    async () => {
      if (!isAlive(c.pids.kubelet)) throw new Error(`the kubelet stand-in of ${c.name} exited:\n${logOf('kubelet')()}`);
      return nodeReady(c);
    },
    logOf('kubelet'),
  );
}

function kubeletArgs(c: ClusterState, script: string): string[] {
  const dir = clusterPath(c.name);
  return [
    script,
    `--workloads=${join(clusterDir, 'workloads')}`,
    `--cluster=${c.name}`,
    `--node=${c.node}`,
    `--kubeconfig=${join(dir, 'admin.kubeconfig')}`,
    `--octet=${c.octet}`,
    `--state-dir=${dir}`,
    `--api-port=${c.ports.apiserver}`,
    `--netns=${podNetworkNames(stateDir).netns}`,
  ];
}

/** The kubelet stand-in compiled once to plain JavaScript (a third of the memory of running it through tsx). */
let kubeletBuilt: string | undefined;
function kubeletScript(): string {
  if (kubeletBuilt) return kubeletBuilt;
  const out = join(stateDir, 'kubelet.cjs');
  buildSync({
    entryPoints: [join(clusterDir, 'kubelet.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    packages: 'external',
    outfile: out,
    logLevel: 'warning',
  });
  kubeletBuilt = out;
  return out;
}

/** Namespace `team` with an admin user who is admin there and nowhere else. */
async function bootstrap(c: ClusterState, controllerManagerUp: () => Promise<void>, controllerManagerLog: () => string): Promise<void> {
  const must = async (r: Promise<{ status: number; body: string }>, what: string) => {
    const res = await r;
    if (res.status >= 300 && res.status !== 409) throw new Error(`${what} on ${c.name}: HTTP ${res.status} ${res.body}`);
  };
  await must(
    apiSend(c, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } }),
    'creating namespace team',
  );
  await must(
    apiSend(c, 'POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/team/rolebindings', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'ns-admin' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'ns-admin' }],
    }),
    'binding ns-admin',
  );
  // Pods can only be created once the namespace's default ServiceAccount exists.
  for (const ns of ['default', 'team']) {
    await waitFor(
      `the default ServiceAccount of ${ns} on ${c.name} (made by kube-controller-manager; its log follows)`,
      90_000,
      async () => {
        await controllerManagerUp();
        return (await apiGet(c, `/api/v1/namespaces/${ns}/serviceaccounts/default`)).status === 200;
      },
      controllerManagerLog,
    );
    await waitFor(
      `kube-root-ca.crt in ${ns} on ${c.name}`,
      60_000,
      async () => (await apiGet(c, `/api/v1/namespaces/${ns}/configmaps/kube-root-ca.crt`)).status === 200,
    );
  }
}

function requestedClusters(opts?: { clusters?: string[] }): string[] {
  const env = process.env.VAN_TEST_CLUSTERS?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const names = opts?.clusters?.length ? opts.clusters : env?.length ? env : DEFAULT_CLUSTERS;
  for (const n of names)
    if (!/^[a-z]([-a-z0-9]{0,30}[a-z0-9])?$/.test(n)) throw new Error(`invalid test cluster name "${n}" (a short DNS label)`);
  return names;
}

// A lock so that two processes (say two test files) never start control planes at the same time.
let lockDepth = 0;
let aborted = false;
async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  if (lockDepth > 0) return fn(); // re-entrant: this process holds it (Ctrl-C while starting)
  const lock = join(stateDir, '.lock');
  const deadline = Date.now() + 600_000;
  for (;;) {
    try {
      // Again each time: a reaper stopping the previous run's control plane removes the whole folder.
      mkdirSync(stateDir, { recursive: true });
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch {
      let holder: number;
      try {
        holder = Number(readFileSync(lock, 'utf8') || 0);
      } catch {
        // The lock (or its folder) went away between our two calls: try again shortly.
        if (Date.now() > deadline) throw new Error(`cannot take ${lock}`);
        await sleep(50);
        continue;
      }
      if (!isAlive(holder)) {
        try {
          unlinkSync(lock);
        } catch {
          /* someone else took it */
        }
        continue;
      }
      if (Date.now() > deadline) throw new Error(`.van-test/.lock held by pid ${holder} for too long`);
      await sleep(500);
    }
  }
  lockDepth++;
  try {
    return await fn();
  } finally {
    lockDepth--;
    try {
      unlinkSync(lock);
    } catch {
      /* gone */
    }
  }
}

let startedHere = false;

/**
 * Returns a running control plane with (at least) the requested clusters, starting what is missing.
 * Clusters: opts.clusters, else env VAN_TEST_CLUSTERS (comma list), else public,private,east.
 * A control plane started from inside a test run is stopped when that test run ends.
 */
export async function ensureControlPlane(opts?: { clusters?: string[]; owner?: 'test-run' | 'none' }): Promise<ControlPlane> {
  const wanted = requestedClusters(opts);
  return withLock(async () => {
    let state = readState();
    const healthy: ClusterState[] = [];
    if (state) {
      const st = state;
      const checks = await Promise.all(st.clusters.map(async (c) => ((await clusterHealthy(c, st)) ? c : undefined)));
      for (const c of checks) if (c) healthy.push(c);
      if (healthy.length !== state.clusters.length || !existsSync(kubeconfigPath)) {
        log('found a control plane that does not answer on every cluster: stopping it');
        await stopControlPlaneUnlocked();
        state = undefined;
        healthy.length = 0;
      }
    }
    const missing = wanted.filter((n) => !healthy.some((c) => c.name === n));
    // A control plane a test run started lives as long as any test run that uses it, unless
    // cluster:up adopts it (then it stays until cluster:down).
    if (state?.ownerPid && opts?.owner === 'none') {
      delete state.ownerPid;
      writeState(state);
      log('adopted the control plane a test run had started: it now stays up until cluster:down');
    }
    if (state?.ownerPid && process.env.NODE_TEST_CONTEXT) appendFileSync(usersFile, `${process.ppid}\n`);
    if (missing.length === 0 && state) {
      return { kubeconfigPath, contexts: state.clusters.flatMap((c) => [c.name, `${c.name}-ns-admin`]) };
    }
    const bin = controlPlaneBinary();
    if (!binaryExists()) {
      throw new Error(
        `the control plane binary ${bin} is missing: run \`bash test/cluster/build-controlplane.sh\` first (10-20 minutes the first time)`,
      );
    }
    preflight();
    const fresh = !state;
    if (!state) {
      rmSync(stateDir, { recursive: true, force: true });
      mkdirSync(stateDir, { recursive: true });
      kubeletBuilt = undefined;
      writeFileSync(join(stateDir, '.lock'), String(process.pid));
      state = { version: 1, binary: bin, clusters: [], startedAt: new Date().toISOString() };
      const owner = opts?.owner ?? (process.env.NODE_TEST_CONTEXT ? 'test-run' : 'none');
      if (owner === 'test-run') state.ownerPid = process.env.NODE_TEST_CONTEXT ? process.ppid : process.pid;
    }
    const s = state;
    if (!s.net || !podNetworkExists(s.net)) s.net = createPodNetwork(stateDir);
    const t0 = Date.now();
    log(`starting ${missing.join(', ')} (Kubernetes ${bin.split('controlplane-')[1]?.split('/')[0] ?? ''})`);
    const taken = new Set(s.clusters.map((c) => c.octet));
    const added: ClusterState[] = [];
    for (const name of missing) added.push(await newCluster(name, taken));
    s.clusters.push(...added);
    for (const c of added) routeCluster(s.net, c.octet);
    const save = () => writeState(s);
    save();
    if (fresh && s.ownerPid) {
      appendFileSync(usersFile, `${s.ownerPid}\n`);
      startReaper(s.ownerPid);
    }
    startedHere = true;
    try {
      await Promise.all(added.map((c) => startCluster(c, bin, save)));
    } catch (e) {
      save();
      if (fresh) await stopControlPlaneUnlocked();
      throw e;
    }
    save();
    writeKubeconfigFile(kubeconfigPath, s.clusters, true);
    log(`ready in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${kubeconfigPath}`);
    return { kubeconfigPath, contexts: s.clusters.flatMap((c) => [c.name, `${c.name}-ns-admin`]) };
  });
}

/** What the kubelet stand-in needs from the machine. */
function preflight(): void {
  if (process.getuid?.() !== 0) throw new Error('the test control plane needs root (pod addresses on lo, mount namespaces)');
  const missing = ['ip', 'unshare', 'nsenter', 'mount', 'openssl', 'bash'].filter(
    (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0,
  );
  if (missing.length)
    throw new Error(`the test control plane needs ${missing.join(', ')} (Debian packages iproute2, util-linux, mount, openssl)`);
  // Test addresses live in the pod network namespace only; refuse to run beside ones on the host.
  const stray = strayHostAddresses(readState()?.net);
  if (stray.length) {
    throw new Error(
      `the host's network namespace carries test addresses (${stray.map((a) => `${a.address} on ${a.dev}`).join(', ')}), probably left by an older test harness: remove them (ip addr del ADDRESS/32 dev DEV) and run again`,
    );
  }
}

/** Stops the control plane when the given process (the test runner) ends. */
function startReaper(ownerPid: number): void {
  const fd = openSync(join(stateDir, 'reaper.log'), 'a');
  // Every second: when no test run that uses the control plane is left, stop it (down.ts exits 3
  // when a new user showed up in the meantime, and 0 once stopped or gone).
  const script = [
    'while :; do',
    '  alive=0',
    `  for p in $(cat ${JSON.stringify(usersFile)} 2>/dev/null); do kill -0 "$p" 2>/dev/null && alive=1; done`,
    '  if [ "$alive" = 0 ]; then',
    `    ${JSON.stringify(process.execPath)} --import tsx ${JSON.stringify(join(clusterDir, 'down.ts'))} --if-owner ${ownerPid}`,
    '    [ "$?" = 3 ] || exit 0',
    '  fi',
    '  sleep 1',
    'done',
  ].join('\n');
  const child = spawn('bash', ['-c', script], { detached: true, stdio: ['ignore', fd, fd], cwd: projectRoot });
  closeSync(fd);
  child.unref();
}

/**
 * For the reaper of a test run's control plane: stops it unless a test run still uses it.
 * Returns 'stopped', 'in-use' or 'not-owner'.
 */
export async function stopIfUnused(ownerPid: number): Promise<'stopped' | 'in-use' | 'not-owner'> {
  if (!existsSync(stateDir)) return 'not-owner';
  return withLock(async () => {
    const state = readState();
    if (!state || state.ownerPid !== ownerPid) return 'not-owner';
    let users: number[] = [];
    try {
      users = readFileSync(usersFile, 'utf8').split('\n').filter(Boolean).map(Number);
    } catch {
      /* none */
    }
    if (users.some((p) => isAlive(p))) return 'in-use';
    await stopControlPlaneUnlocked();
    return 'stopped';
  });
}

/**
 * Restarts the kubelet stand-ins of the running control plane (to pick up a changed kubelet.ts): as
 * with a real kubelet restart, pods keep their objects and IPs and their processes are started again.
 */
export async function restartKubelets(): Promise<void> {
  await withLock(async () => {
    const state = readState();
    if (!state) throw new Error('no control plane is running');
    kubeletBuilt = undefined;
    const script = kubeletScript();
    for (const c of state.clusters) {
      const old = c.pids.kubelet;
      if (old && isAlive(old)) {
        killGroup(old, 'SIGTERM');
        const deadline = Date.now() + 15_000;
        while (isAlive(old) && Date.now() < deadline) await sleep(50);
        if (isAlive(old)) killGroup(old, 'SIGKILL');
      }
      c.pids.kubelet = spawnDetached(c, 'kubelet', process.execPath, kubeletArgs(c, script));
      writeState(state);
    }
    for (const c of state.clusters) {
      await waitFor(`node ${c.node} of ${c.name} to be Ready`, 60_000, () => nodeReady(c));
    }
  });
}

/** Restarts the API servers of the running control plane (same ports, same etcd data) to apply changed flags. */
export async function restartApiServers(): Promise<void> {
  await withLock(async () => {
    const state = readState();
    if (!state) throw new Error('no control plane is running');
    for (const c of state.clusters) {
      const old = c.pids['kube-apiserver'];
      if (old && isAlive(old)) {
        killGroup(old, 'SIGTERM');
        const deadline = Date.now() + 3_000;
        while (isAlive(old) && Date.now() < deadline) await sleep(50);
        if (isAlive(old)) killGroup(old, 'SIGKILL');
      }
      c.pids['kube-apiserver'] = spawnDetached(c, 'kube-apiserver', state.binary, apiserverArgs(c));
      writeState(state);
      await waitFor(`the API server of ${c.name}`, 120_000, async () => (await apiGet(c, '/readyz')).status === 200);
    }
  });
}

/** True when this process started (part of) the control plane. */
export function startedByThisProcess(): boolean {
  return startedHere;
}

/** True when pid is still one of ours (its command line or environment names the state folder), not a reused pid. */
function isOurs(pid: number): boolean {
  for (const f of ['cmdline', 'environ']) {
    try {
      if (readFileSync(`/proc/${pid}/${f}`, 'utf8').includes(stateDir)) return true;
    } catch {
      return false;
    }
  }
  return false;
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  if (!isOurs(pid)) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* gone */
    }
  }
}

async function stopControlPlaneUnlocked(): Promise<void> {
  const state = readState();
  if (state) {
    // The kubelets first (they stop their pods and remove their addresses), then the rest at once:
    // the state is thrown away, so nothing needs a graceful shutdown.
    const kubelets = state.clusters.map((c) => c.pids.kubelet).filter((p): p is number => !!p && isAlive(p));
    for (const p of kubelets) killGroup(p, 'SIGTERM');
    const deadline = Date.now() + 10_000;
    while (kubelets.some(isAlive) && Date.now() < deadline) await sleep(50);
    const rest = state.clusters.flatMap((c) => Object.values(c.pids)).filter((p) => !!p && isAlive(p));
    for (const p of rest) killGroup(p, 'SIGKILL');
    const hard = Date.now() + 5_000;
    while (rest.some(isAlive) && Date.now() < hard) await sleep(50);
    // Pod processes a crashed kubelet may have left behind.
    for (const c of state.clusters) {
      const pods = clusterPath(c.name, 'pods');
      if (!existsSync(pods)) continue;
      for (const p of readdirSync(pods)) {
        for (const f of readdirSync(join(pods, p)).filter((x) => x.endsWith('.pid'))) {
          const pid = Number(readFileSync(join(pods, p, f), 'utf8'));
          if (isAlive(pid)) killGroup(pid, 'SIGKILL');
        }
      }
    }
    // The routes to the clusters' ranges, then the pod network itself (its addresses go with it).
    for (const c of state.clusters) unrouteCluster(state.net, c.octet);
  }
  removePodNetwork(podNetworkNames(stateDir));
  // Unmount anything left mounted below the state folder, then remove it.
  rmSync(stateDir, { recursive: true, force: true });
  startedHere = false;
}

/** Stops every process the control plane started and removes its state. */
export async function stopControlPlane(): Promise<void> {
  if (lockDepth > 0) aborted = true;
  if (!existsSync(stateDir)) return;
  await withLock(() => stopControlPlaneUnlocked());
}

/** Kubeconfig contexts of the running control plane (cluster names). */
export function runningClusters(): string[] {
  return readState()?.clusters.map((c) => c.name) ?? [];
}
