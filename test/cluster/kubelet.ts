// The kubelet stand-in of one test cluster (one process per cluster, started by controlplane.ts).
//
// - registers a Ready Node with capacity and renews its Lease, so the scheduler binds pods to it;
// - runs the containers of the pods bound to it as local processes inside the pod network namespace
//   (podnet.ts), each pod with its own address 10.<octet>.x.y on that namespace's `lo` as pod IP (the
//   API server refuses 127.0.0.0/8 in EndpointSlices, so loopback addresses cannot be pod IPs), volumes
//   written to a folder and bind-mounted at their mountPath inside a private mount namespace
//   (`unshare --mount`), env and downward API filled in;
// - reports phase, IPs, container states, readiness (tcpSocket/httpGet readiness probes) and
//   restarts (with back-off) through the pod status API; stops processes when pods are deleted;
// - plays kube-proxy and the cloud load balancer: every ClusterIP gets an address in the pod network
//   namespace and every LoadBalancer Service a 127.<octet>.200.x address, both in that namespace (for
//   pods) and in the host's (for tests and laptop sites), with a TCP proxy per port to its ready
//   endpoints (EndpointSlices); LoadBalancer Services get status.loadBalancer.ingress. The kubelet
//   itself stays in the host's namespace: sockets in the pod namespace are bound there by a small
//   helper (podnet-binder.cjs) that hands them over, and it reaches pod IPs through the veth;
// - keeps <state-dir>/resolve.json, the cluster's service names, which workloads' node processes
//   resolve through workloads/resolve-preload.cjs (the cluster DNS stand-in).
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { get as httpGet } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { Kube } from './kube';
import { addPodAddress, delPodAddress, inPodNetwork } from './podnet';

// ---------------------------------------------------------------------------------------------
// Arguments
const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const m = /^--([^=]+)=(.*)$/.exec(a);
    if (!m) throw new Error(`bad argument ${a}`);
    return [m[1], m[2]];
  }),
) as Record<string, string>;
const clusterName = args.cluster;
const nodeName = args.node;
const octet = Number(args.octet);
const stateDir = args['state-dir'];
const apiPort = Number(args['api-port']);
const podNet = { netns: args.netns };
if (!podNet.netns) throw new Error('--netns is required: the pod network namespace made by controlplane.ts');
const nodeIP = `10.${octet}.0.1`;
const podsDir = join(stateDir, 'pods');
const resolveFile = join(stateDir, 'resolve.json');
const workloadsDir = args.workloads;
const kube = new Kube(args.kubeconfig);
const caPem = readFileSync(join(stateDir, 'pki', 'ca.crt'), 'utf8');

function log(msg: string): void {
  process.stdout.write(`${new Date().toISOString()} ${msg}\n`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let exiting = false;
const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

// ---------------------------------------------------------------------------------------------
// Addresses on the pod network namespace's lo (never the host's: see podnet.ts)
const addresses = new Set<string>();
function addAddress(ip: string): void {
  if (addresses.has(ip)) return;
  addPodAddress(podNet, ip);
  addresses.add(ip);
}
function delAddress(ip: string): void {
  delPodAddress(podNet, ip);
  addresses.delete(ip);
}

// Listening sockets in the pod network namespace, bound by podnet-binder.cjs and accepted on here.
let binder: ChildProcess | undefined;
let binderSeq = 0;
const binderWaiting = new Map<number, { resolve: (s: Server) => void; reject: (e: Error) => void }>();
function startBinder(): void {
  binder = spawn(
    inPodNetwork(podNet)[0],
    [...inPodNetwork(podNet).slice(1), process.execPath, join(dirname(workloadsDir), 'podnet-binder.cjs')],
    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  binder.on('message', (m: { id: number; error?: string }, handle: unknown) => {
    const w = binderWaiting.get(m.id);
    binderWaiting.delete(m.id);
    if (!w) return;
    if (m.error || !handle) w.reject(new Error(m.error ?? 'no socket handed over'));
    else w.resolve(handle as Server);
  });
  binder.on('exit', (code, signal) => {
    if (exiting) return;
    log(`fatal: the pod network binder exited (${signal ?? code}); pods could no longer be served`);
    process.exit(1);
  });
}
function listenInPodNetwork(host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const id = ++binderSeq;
    binderWaiting.set(id, { resolve, reject });
    binder!.send({ id, host, port });
  });
}

class Pool {
  private used = new Set<string>();
  private cursor: number;
  constructor(
    private prefix: string,
    private first: number,
    private last: number,
  ) {
    this.cursor = first;
  }
  take(preferred?: string): string {
    if (preferred && preferred.startsWith(this.prefix) && !this.used.has(preferred)) {
      this.used.add(preferred);
      return preferred;
    }
    // Round robin, so that a freed address is not handed out again at once.
    const size = this.last - this.first + 1;
    for (let i = 0; i < size; i++) {
      const n = this.first + ((this.cursor - this.first + i) % size);
      const ip = `${this.prefix}${Math.floor(n / 254)}.${(n % 254) + 1}`;
      if (!this.used.has(ip)) {
        this.used.add(ip);
        this.cursor = n + 1;
        return ip;
      }
    }
    throw new Error(`address pool ${this.prefix} exhausted`);
  }
  release(ip: string): void {
    this.used.delete(ip);
  }
}
// Pods: 10.o.1.1 - 10.o.127.254; load balancers: 127.o.200.1 - 127.o.200.254 (loopback addresses are
// fine in a Service's status, and every 127.x.y.z is local).
const podPool = new Pool(`10.${octet}.`, 254, 254 * 128 - 1);
const lbPool = new Pool(`127.${octet}.`, 254 * 200, 254 * 201 - 1);

// ---------------------------------------------------------------------------------------------
// Node and lease
function nodeStatus(): any {
  const t = now();
  const cond = (type: string, status: string, reason: string, message: string) => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: t,
    lastTransitionTime: startedAt,
  });
  return {
    capacity: { cpu: '16', memory: '64Gi', pods: '250', 'ephemeral-storage': '100Gi' },
    allocatable: { cpu: '16', memory: '64Gi', pods: '250', 'ephemeral-storage': '100Gi' },
    conditions: [
      cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'test kubelet'),
      cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'test kubelet'),
      cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'test kubelet'),
      cond('Ready', 'True', 'KubeletReady', 'test kubelet (vscode-skupper) is posting ready status'),
    ],
    addresses: [
      { type: 'InternalIP', address: nodeIP },
      { type: 'Hostname', address: nodeName },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    nodeInfo: {
      machineID: createHash('md5').update(clusterName).digest('hex'),
      systemUUID: createHash('md5').update(nodeName).digest('hex'),
      bootID: createHash('md5').update(String(process.pid)).digest('hex'),
      kernelVersion: '',
      osImage: 'vscode-skupper test kubelet',
      containerRuntimeVersion: 'van-test://1',
      kubeletVersion: 'v0.0.0-van-test',
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: 'amd64',
    },
  };
}
const startedAt = now();

async function registerNode(): Promise<void> {
  const node = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: nodeName,
      labels: {
        'kubernetes.io/hostname': nodeName,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'van-test/cluster': clusterName,
      },
    },
    spec: {},
    status: nodeStatus(),
  };
  for (;;) {
    const r = await kube.post('/api/v1/nodes', node).catch((e) => ({ status: 0, text: String(e) }) as any);
    if (r.status === 201 || r.status === 409) break;
    log(`registering node: HTTP ${r.status} ${r.text}`);
    await sleep(1000);
  }
  await heartbeat();
}

async function heartbeat(): Promise<void> {
  const r = await kube.mergePatch(`/api/v1/nodes/${nodeName}/status`, { status: nodeStatus() });
  if (r.status !== 200) log(`node status: HTTP ${r.status} ${r.text.slice(0, 300)}`);
  const micro = new Date().toISOString().replace(/\.(\d+)Z$/, (_m, ms: string) => `.${ms.padEnd(6, '0')}Z`);
  const leasePath = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${nodeName}`;
  const l = await kube.mergePatch(leasePath, { spec: { holderIdentity: nodeName, leaseDurationSeconds: 40, renewTime: micro } });
  if (l.status === 404) {
    await kube.post('/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: nodeName },
      spec: { holderIdentity: nodeName, leaseDurationSeconds: 40, renewTime: micro },
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Images
const SUPPORTED =
  'node:* (host node), quay.io/skupper/tcp-go-echo, quay.io/skupper/hello-world-backend, quay.io/skupper/hello-world-frontend';
function repoOf(image: string): { repo: string; tag: string } {
  let s = image.split('@')[0];
  let tag = 'latest';
  const slash = s.lastIndexOf('/');
  const colon = s.lastIndexOf(':');
  if (colon > slash) {
    tag = s.slice(colon + 1);
    s = s.slice(0, colon);
  }
  s = s.replace(/^docker\.io\//, '').replace(/^library\//, '');
  return { repo: s, tag };
}
type Runner = { kind: 'node' } | { kind: 'builtin'; script: string; port: number };
function runnerFor(image: string): Runner | undefined {
  const { repo } = repoOf(image);
  if (repo === 'node') return { kind: 'node' };
  const builtins: Record<string, [string, number]> = {
    'quay.io/skupper/tcp-go-echo': ['tcp-go-echo.mjs', 9090],
    'quay.io/skupper/hello-world-backend': ['hello-world-backend.mjs', 8080],
    'quay.io/skupper/hello-world-frontend': ['hello-world-frontend.mjs', 8080],
  };
  const b = builtins[repo];
  return b ? { kind: 'builtin', script: join(workloadsDir, b[0]), port: b[1] } : undefined;
}

// ---------------------------------------------------------------------------------------------
// Pods
interface CtrRt {
  name: string;
  spec: any;
  init: boolean;
  proc?: ChildProcess;
  pid?: number;
  restartCount: number;
  state: any;
  lastState: any;
  ready: boolean;
  started: boolean;
  backoffMs: number;
  timer?: NodeJS.Timeout;
  probeTimer?: NodeJS.Timeout;
  runningSince?: number;
  exitCode?: number;
}
interface PodRt {
  key: string;
  uid: string;
  pod: any;
  ip: string;
  dir: string;
  ctrs: CtrRt[];
  inits: CtrRt[];
  initDone: boolean;
  stopping: boolean;
  gone: boolean;
  phase: string;
  reason?: string;
  message?: string;
  statusTimer?: NodeJS.Timeout;
  retryTimer?: NodeJS.Timeout;
  volumes: Map<string, string>; // volume name -> host folder
  volumeState: Map<string, string>; // volume name -> hash of its contents
  tokens: Map<string, { token: string; at: number; ttl: number }>;
  startTime: string;
}
const pods = new Map<string, PodRt>();
const keyOf = (p: any) => `${p.metadata.namespace}/${p.metadata.name}`;

class ConfigError extends Error {}

async function getObj(kind: 'configmaps' | 'secrets', ns: string, name: string, optional: boolean): Promise<any | undefined> {
  const r = await kube.get(`/api/v1/namespaces/${ns}/${kind}/${name}`);
  if (r.status === 200) return r.body;
  if (r.status === 404 && optional) return undefined;
  throw new ConfigError(`${kind === 'configmaps' ? 'configmap' : 'secret'} "${name}" not found`);
}

function dataOf(obj: any, kind: 'configmaps' | 'secrets'): Map<string, Buffer> {
  const m = new Map<string, Buffer>();
  if (!obj) return m;
  if (kind === 'secrets') for (const [k, v] of Object.entries(obj.data ?? {})) m.set(k, Buffer.from(String(v), 'base64'));
  else {
    for (const [k, v] of Object.entries(obj.data ?? {})) m.set(k, Buffer.from(String(v), 'utf8'));
    for (const [k, v] of Object.entries(obj.binaryData ?? {})) m.set(k, Buffer.from(String(v), 'base64'));
  }
  return m;
}

function fieldPathValue(pod: any, ip: string, path: string): string {
  const lm = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (lm) return pod.metadata[lm[1]]?.[lm[2]] ?? '';
  switch (path) {
    case 'metadata.name':
      return pod.metadata.name;
    case 'metadata.namespace':
      return pod.metadata.namespace;
    case 'metadata.uid':
      return pod.metadata.uid;
    case 'metadata.labels':
      return Object.entries(pod.metadata.labels ?? {})
        .map(([k, v]) => `${k}="${v}"`)
        .join('\n');
    case 'metadata.annotations':
      return Object.entries(pod.metadata.annotations ?? {})
        .map(([k, v]) => `${k}="${v}"`)
        .join('\n');
    case 'spec.nodeName':
      return nodeName;
    case 'spec.serviceAccountName':
      return pod.spec.serviceAccountName ?? 'default';
    case 'status.podIP':
    case 'status.podIPs':
      return ip;
    case 'status.hostIP':
    case 'status.hostIPs':
      return nodeIP;
    default:
      throw new ConfigError(`unsupported fieldRef ${path}`);
  }
}

function resourceValue(ctr: any, ref: any): string {
  const res = ref.resource as string;
  const [kind, what] = res.split('.');
  const v = ctr?.resources?.[kind]?.[what];
  if (v) return String(v);
  return what === 'cpu' ? '16' : String(64 * 1024 * 1024 * 1024);
}

async function serviceAccountToken(rt: PodRt, audience: string | undefined, expirationSeconds: number): Promise<string> {
  const k = `${audience ?? ''}/${expirationSeconds}`;
  const cached = rt.tokens.get(k);
  if (cached && Date.now() - cached.at < cached.ttl * 500) return cached.token;
  const sa = rt.pod.spec.serviceAccountName || 'default';
  const r = await kube.post(`/api/v1/namespaces/${rt.pod.metadata.namespace}/serviceaccounts/${sa}/token`, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: {
      ...(audience ? { audiences: [audience] } : {}),
      expirationSeconds,
      boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: rt.pod.metadata.name, uid: rt.uid },
    },
  });
  if (r.status !== 201 && r.status !== 200)
    throw new ConfigError(`token for service account ${sa}: HTTP ${r.status} ${r.text.slice(0, 200)}`);
  rt.tokens.set(k, { token: r.body.status.token, at: Date.now(), ttl: expirationSeconds });
  return r.body.status.token;
}

function applyItems(
  data: Map<string, Buffer>,
  items: any[] | undefined,
  files: Map<string, { data: Buffer; mode: number }>,
  mode: number,
  prefix = '',
): void {
  if (items?.length) {
    for (const it of items) {
      const v = data.get(it.key);
      if (v === undefined) throw new ConfigError(`key ${it.key} not found`);
      files.set(prefix + it.path, { data: v, mode: it.mode ?? mode });
    }
  } else for (const [k, v] of data) files.set(prefix + k, { data: v, mode });
}

/** The files of one volume, keyed by relative path; undefined for folder volumes (emptyDir...). */
async function volumeFiles(rt: PodRt, vol: any): Promise<Map<string, { data: Buffer; mode: number }> | undefined> {
  const ns = rt.pod.metadata.namespace;
  const files = new Map<string, { data: Buffer; mode: number }>();
  if (vol.configMap) {
    const cm = await getObj('configmaps', ns, vol.configMap.name, !!vol.configMap.optional);
    applyItems(dataOf(cm, 'configmaps'), vol.configMap.items, files, vol.configMap.defaultMode ?? 0o644);
    return files;
  }
  if (vol.secret) {
    const s = await getObj('secrets', ns, vol.secret.secretName, !!vol.secret.optional);
    applyItems(dataOf(s, 'secrets'), vol.secret.items, files, vol.secret.defaultMode ?? 0o644);
    return files;
  }
  if (vol.downwardAPI) {
    for (const it of vol.downwardAPI.items ?? []) {
      const v = it.fieldRef
        ? fieldPathValue(rt.pod, rt.ip, it.fieldRef.fieldPath)
        : resourceValue(
            rt.pod.spec.containers.find((c: any) => c.name === it.resourceFieldRef?.containerName) ?? rt.pod.spec.containers[0],
            it.resourceFieldRef,
          );
      files.set(it.path, { data: Buffer.from(v), mode: it.mode ?? vol.downwardAPI.defaultMode ?? 0o644 });
    }
    return files;
  }
  if (vol.projected) {
    const mode = vol.projected.defaultMode ?? 0o644;
    for (const src of vol.projected.sources ?? []) {
      if (src.configMap) {
        const cm = await getObj('configmaps', ns, src.configMap.name, !!src.configMap.optional);
        applyItems(dataOf(cm, 'configmaps'), src.configMap.items, files, mode);
      } else if (src.secret) {
        const s = await getObj('secrets', ns, src.secret.name, !!src.secret.optional);
        applyItems(dataOf(s, 'secrets'), src.secret.items, files, mode);
      } else if (src.downwardAPI) {
        for (const it of src.downwardAPI.items ?? []) {
          const v = it.fieldRef
            ? fieldPathValue(rt.pod, rt.ip, it.fieldRef.fieldPath)
            : resourceValue(rt.pod.spec.containers[0], it.resourceFieldRef);
          files.set(it.path, { data: Buffer.from(v), mode: it.mode ?? mode });
        }
      } else if (src.serviceAccountToken) {
        const t = await serviceAccountToken(rt, src.serviceAccountToken.audience, src.serviceAccountToken.expirationSeconds ?? 3607);
        files.set(src.serviceAccountToken.path, { data: Buffer.from(t), mode });
      } else if (src.clusterTrustBundle) {
        throw new ConfigError('clusterTrustBundle volumes are not supported by the test kubelet');
      }
    }
    return files;
  }
  return undefined;
}

/** Writes files the way the kubelet does (..data symlink swapped atomically), so updates are seen whole. */
function writeAtomic(dir: string, files: Map<string, { data: Buffer; mode: number }>): void {
  mkdirSync(dir, { recursive: true });
  const ts = `..${Date.now()}_${Math.random().toString(36).slice(2, 8)}`;
  const tsDir = join(dir, ts);
  for (const [rel, f] of files) {
    const p = join(tsDir, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, f.data, { mode: f.mode });
  }
  mkdirSync(tsDir, { recursive: true });
  const tmpLink = join(dir, '..data_tmp');
  rmSync(tmpLink, { force: true });
  symlinkSync(ts, tmpLink);
  renameSync(tmpLink, join(dir, '..data'));
  const tops = new Set([...files.keys()].map((k) => k.split('/')[0]));
  for (const t of tops) {
    const link = join(dir, t);
    if (!existsSync(link)) {
      rmSync(link, { force: true });
      symlinkSync(join('..data', t), link);
    }
  }
  for (const e of readdirSync(dir)) {
    if (e === '..data' || e === ts) continue;
    if (e.startsWith('..')) rmSync(join(dir, e), { recursive: true, force: true });
    else if (!tops.has(e)) rmSync(join(dir, e), { recursive: true, force: true });
  }
}

function hashFiles(files: Map<string, { data: Buffer; mode: number }>): string {
  const h = createHash('sha1');
  for (const [k, v] of [...files].sort(([a], [b]) => a.localeCompare(b)))
    h.update(k).update('\0').update(String(v.mode)).update(v.data).update('\0');
  return h.digest('hex');
}

/** Writes (or refreshes) every volume of the pod. */
async function syncVolumes(rt: PodRt): Promise<void> {
  for (const vol of rt.pod.spec.volumes ?? []) {
    const dir = join(rt.dir, 'volumes', vol.name);
    rt.volumes.set(vol.name, dir);
    const files = await volumeFiles(rt, vol);
    if (files === undefined) {
      if (vol.hostPath) {
        rt.volumes.set(vol.name, vol.hostPath.path);
        if (vol.hostPath.type === 'DirectoryOrCreate') mkdirSync(vol.hostPath.path, { recursive: true });
      } else {
        mkdirSync(dir, { recursive: true }); // emptyDir and anything else: an empty folder
        chmodSync(dir, 0o777); // as the kubelet makes it: writable whatever uid the containers run as
      }
      continue;
    }
    const h = hashFiles(files);
    if (rt.volumeState.get(vol.name) === h) continue;
    writeAtomic(dir, files);
    rt.volumeState.set(vol.name, h);
  }
}

function expandVars(s: string, env: Record<string, string>): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) => {
    if (m === '$$') return '$';
    return name !== undefined && name in env ? env[name] : m;
  });
}

async function containerEnv(rt: PodRt, c: any): Promise<Record<string, string>> {
  const pod = rt.pod;
  const ns = pod.metadata.namespace;
  const env: Record<string, string> = {};
  // Service links, as the kubelet sets them for the kubernetes Service.
  // The kubernetes Service's ClusterIP, which this stand-in proxies to the API server.
  const apiIP = services.get('default/kubernetes')?.spec?.clusterIP ?? `10.${octet}.240.1`;
  env.KUBERNETES_SERVICE_HOST = apiIP;
  env.KUBERNETES_SERVICE_PORT = '443';
  env.KUBERNETES_SERVICE_PORT_HTTPS = '443';
  env.KUBERNETES_PORT = `tcp://${apiIP}:443`;
  env.KUBERNETES_PORT_443_TCP = `tcp://${apiIP}:443`;
  env.KUBERNETES_PORT_443_TCP_PROTO = 'tcp';
  env.KUBERNETES_PORT_443_TCP_PORT = '443';
  env.KUBERNETES_PORT_443_TCP_ADDR = apiIP;
  if (pod.spec.enableServiceLinks !== false) {
    // <SVC>_SERVICE_HOST / _PORT for the Services of the pod's namespace, as the kubelet sets them.
    for (const [key, svc] of services) {
      const [sns, sname] = key.split('/');
      const cip = svc.spec.clusterIP;
      if (sns !== ns || !cip || cip === 'None' || (sns === 'default' && sname === 'kubernetes')) continue;
      const p0 = svc.spec.ports?.[0];
      if (!p0) continue;
      const prefix = sname.toUpperCase().replace(/-/g, '_');
      env[`${prefix}_SERVICE_HOST`] = cip;
      env[`${prefix}_SERVICE_PORT`] = String(p0.port);
      for (const p of svc.spec.ports ?? [])
        if (p.name) env[`${prefix}_SERVICE_PORT_${p.name.toUpperCase().replace(/-/g, '_')}`] = String(p.port);
      env[`${prefix}_PORT`] = `${(p0.protocol ?? 'TCP').toLowerCase()}://${cip}:${p0.port}`;
    }
  }
  for (const from of c.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    if (from.configMapRef)
      for (const [k, v] of dataOf(await getObj('configmaps', ns, from.configMapRef.name, !!from.configMapRef.optional), 'configmaps'))
        env[prefix + k] = v.toString('utf8');
    if (from.secretRef)
      for (const [k, v] of dataOf(await getObj('secrets', ns, from.secretRef.name, !!from.secretRef.optional), 'secrets'))
        env[prefix + k] = v.toString('utf8');
  }
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = expandVars(String(e.value), env);
    else if (e.valueFrom?.fieldRef) env[e.name] = fieldPathValue(pod, rt.ip, e.valueFrom.fieldRef.fieldPath);
    else if (e.valueFrom?.resourceFieldRef) env[e.name] = resourceValue(c, e.valueFrom.resourceFieldRef);
    else if (e.valueFrom?.configMapKeyRef) {
      const ref = e.valueFrom.configMapKeyRef;
      const v = dataOf(await getObj('configmaps', ns, ref.name, !!ref.optional), 'configmaps').get(ref.key);
      if (v === undefined && !ref.optional) throw new ConfigError(`couldn't find key ${ref.key} in ConfigMap ${ns}/${ref.name}`);
      if (v !== undefined) env[e.name] = v.toString('utf8');
    } else if (e.valueFrom?.secretKeyRef) {
      const ref = e.valueFrom.secretKeyRef;
      const v = dataOf(await getObj('secrets', ns, ref.name, !!ref.optional), 'secrets').get(ref.key);
      if (v === undefined && !ref.optional) throw new ConfigError(`couldn't find key ${ref.key} in Secret ${ns}/${ref.name}`);
      if (v !== undefined) env[e.name] = v.toString('utf8');
    } else env[e.name] = '';
  }
  return env;
}

function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The script run inside the container's own mount namespace: it makes every mountPath exist (shadowing
 * the nearest existing folder with a tmpfs copy so nothing is created on the host), bind-mounts each
 * volume folder there, then execs the container's command in its working directory.
 */
function mountScript(rt: PodRt, c: any): string {
  const lines: string[] = [
    'set -e',
    `scratch=${shq(join(rt.dir, 'ns-scratch'))}`,
    'mount -t tmpfs -o mode=755 van-scratch "$scratch"',
    'ROOT=""; n=0; declare -A SHADOWED',
    'shadow() { # $1: existing real folder; replaces it (in this namespace only) by a writable copy of itself',
    '  local a="$1" s e b; n=$((n+1)); s="$scratch/s$n"; mkdir -p "$s"',
    '  for e in "$ROOT$a"/* "$ROOT$a"/.[!.]* "$ROOT$a"/..?*; do',
    '    [ -e "$e" ] || [ -L "$e" ] || continue; b="${e##*/}"',
    '    if [ -L "$e" ]; then cp -P "$e" "$s/$b"',
    '    elif [ -d "$e" ]; then mkdir "$s/$b"; mount --rbind "$e" "$s/$b"',
    '    else touch "$s/$b"; mount --bind "$e" "$s/$b"; fi',
    '  done',
    '  if [ "$a" = / ] && [ -z "$ROOT" ]; then ROOT="$s"; else mount --rbind "$s" "$ROOT$a"; fi',
    '  SHADOWED["$a"]=1',
    '}',
    'make_path() { # $1: path, $2: dir|file',
    '  local p="$1" a',
    '  if [ "$2" = dir ] && [ -d "$ROOT$p" ]; then return; fi',
    '  if [ "$2" = file ] && [ -e "$ROOT$p" ]; then return; fi',
    '  a="$p"; while [ ! -e "$ROOT$a" ]; do a="$(dirname "$a")"; done',
    '  if [ -n "$ROOT" ]; then a="$(cd "$ROOT$a" && pwd -P)"; a="${a#$ROOT}"; a="${a:-/}"; else a="$(readlink -f "$a")"; fi',
    '  [ -n "${SHADOWED[$a]:-}" ] || shadow "$a"',
    '  if [ "$2" = dir ]; then mkdir -p "$ROOT$p"; else mkdir -p "$(dirname "$ROOT$p")"; touch "$ROOT$p"; fi',
    '}',
  ];
  const mounts = [...(c.volumeMounts ?? [])].sort((a: any, b: any) => a.mountPath.split('/').length - b.mountPath.split('/').length);
  for (const m of mounts) {
    const base = rt.volumes.get(m.name);
    if (!base) continue;
    let src = base;
    if (m.subPath) {
      src = join(base, m.subPath);
      if (!existsSync(src)) mkdirSync(src, { recursive: true });
    }
    const isFile = existsSync(src) && !readdirSafe(src);
    lines.push(`make_path ${shq(m.mountPath)} ${isFile ? 'file' : 'dir'}`);
    lines.push(`mount --bind ${shq(src)} "$ROOT"${shq(m.mountPath)}`);
    if (m.readOnly) lines.push(`mount -o remount,bind,ro "$ROOT"${shq(m.mountPath)} || true`);
  }
  const wd = c.workingDir || '/';
  lines.push(`make_path ${shq(wd)} dir`);
  lines.push(`if [ -n "$ROOT" ]; then exec chroot "$ROOT" /bin/sh -c 'cd "$0" && exec "$@"' ${shq(wd)} "$@"; fi`);
  lines.push(`cd ${shq(wd)}`);
  lines.push('exec "$@"');
  return lines.join('\n') + '\n';
}

function readdirSafe(p: string): boolean {
  try {
    readdirSync(p);
    return true;
  } catch {
    return false;
  }
}

function commandOf(rt: PodRt, c: any, env: Record<string, string>): string[] {
  const runner = runnerFor(c.image)!;
  const cmd: string[] = (c.command ?? []).map((s: string) => expandVars(s, env));
  const argv: string[] = (c.args ?? []).map((s: string) => expandVars(s, env));
  if (runner.kind === 'builtin') return [process.execPath, runner.script, ...argv];
  // node:* images: the entrypoint is node.
  const full = cmd.length ? [...cmd, ...argv] : ['node', ...argv];
  if (full[0] === 'node' || full[0] === '/usr/local/bin/node' || full[0] === 'docker-entrypoint.sh') {
    if (full[0] === 'docker-entrypoint.sh') full.shift();
    if (full[0] === 'node' || full[0] === '/usr/local/bin/node') full[0] = process.execPath;
    else full.unshift(process.execPath);
  }
  void rt;
  return full;
}

/** securityContext.runAsUser/runAsGroup (container over pod) and allowPrivilegeEscalation: false, through setpriv. */
function asUser(rt: PodRt, c: any): string[] {
  const pod = rt.pod.spec.securityContext ?? {};
  const uid = c.securityContext?.runAsUser ?? pod.runAsUser;
  if (uid === undefined || uid === 0) return [];
  const gid = c.securityContext?.runAsGroup ?? pod.runAsGroup ?? 0;
  return [
    'setpriv',
    `--reuid=${uid}`,
    `--regid=${gid}`,
    '--clear-groups',
    ...(c.securityContext?.allowPrivilegeEscalation === false ? ['--no-new-privs'] : []),
    '--',
  ];
}

async function launch(rt: PodRt, ctr: CtrRt): Promise<void> {
  const c = ctr.spec;
  const env = await containerEnv(rt, c);
  const argv = [...asUser(rt, c), ...commandOf(rt, c, env)];
  const binDir = join(rt.dir, 'bin');
  mkdirSync(binDir, { recursive: true });
  if (!existsSync(join(binDir, 'node'))) symlinkSync(process.execPath, join(binDir, 'node'));
  const preload = join(workloadsDir, 'resolve-preload.cjs');
  const fullEnv: Record<string, string> = {
    PATH: `${binDir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    HOSTNAME: rt.pod.metadata.name,
    HOME: '/root',
    VAN_TEST_POD_IP: rt.ip,
    VAN_TEST_POD_NAME: rt.pod.metadata.name,
    VAN_TEST_NAMESPACE: rt.pod.metadata.namespace,
    VAN_TEST_RESOLVE: resolveFile,
    ...(rt.pod.spec.hostNetwork ? { VAN_TEST_HOST_NETWORK: '1' } : {}),
    ...env,
  };
  fullEnv.NODE_OPTIONS = `--require ${preload}${env.NODE_OPTIONS ? ' ' + env.NODE_OPTIONS : ''}`;
  const script = join(rt.dir, `run-${ctr.name}.sh`);
  writeFileSync(script, mountScript(rt, c));
  mkdirSync(join(rt.dir, 'ns-scratch'), { recursive: true });
  const logPath = join(rt.dir, `${ctr.name}.log`);
  const fd = openSync(logPath, 'a');
  const [nsenter, ...nsArgs] = inPodNetwork(podNet);
  const child = spawn(nsenter, [...nsArgs, 'unshare', '--mount', '--propagation', 'private', '--', 'bash', script, ...argv], {
    detached: true,
    stdio: ['ignore', fd, fd],
    env: fullEnv,
    cwd: '/',
  });
  closeSync(fd);
  ctr.proc = child;
  ctr.pid = child.pid;
  if (child.pid) writeFileSync(join(rt.dir, `${ctr.name}.pid`), String(child.pid));
  ctr.runningSince = Date.now();
  ctr.state = { running: { startedAt: now() } };
  ctr.started = true;
  ctr.ready = false;
  log(`${rt.key}: started ${ctr.name} (pid ${child.pid}, ip ${rt.ip}): ${argv.join(' ')}`);
  child.on('error', (e) => log(`${rt.key}/${ctr.name}: ${e.message}`));
  child.on('exit', (code, signal) => onExit(rt, ctr, code, signal));
  if (!ctr.init) startProbe(rt, ctr);
  scheduleStatus(rt);
}

function onExit(rt: PodRt, ctr: CtrRt, code: number | null, signal: NodeJS.Signals | null): void {
  clearTimeout(ctr.probeTimer);
  ctr.proc = undefined;
  const exitCode = code ?? (signal ? 128 + ({ SIGKILL: 9, SIGTERM: 15, SIGINT: 2 } as Record<string, number>)[signal] || 137 : 1);
  ctr.exitCode = exitCode;
  const terminated = {
    exitCode,
    reason: exitCode === 0 ? 'Completed' : signal === 'SIGKILL' && !rt.stopping ? 'OOMKilled' : 'Error',
    startedAt: ctr.state?.running?.startedAt ?? now(),
    finishedAt: now(),
    containerID: `van-test://${ctr.pid}`,
  };
  if (signal === 'SIGKILL' && !rt.stopping) terminated.reason = 'Error';
  ctr.state = { terminated };
  ctr.ready = false;
  try {
    unlinkSync(join(rt.dir, `${ctr.name}.pid`));
  } catch {
    /* gone */
  }
  log(`${rt.key}: ${ctr.name} exited (${code ?? signal})`);
  if (rt.stopping || rt.gone) return;
  const policy = rt.pod.spec.restartPolicy ?? 'Always';
  if (ctr.init) {
    if (exitCode === 0) {
      void runNext(rt);
    } else if (policy === 'Never') {
      rt.phase = 'Failed';
      scheduleStatus(rt);
    } else restartLater(rt, ctr, terminated);
    scheduleStatus(rt);
    return;
  }
  const restart = policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
  if (restart) restartLater(rt, ctr, terminated);
  scheduleStatus(rt);
}

function restartLater(rt: PodRt, ctr: CtrRt, terminated: any): void {
  if (ctr.runningSince && Date.now() - ctr.runningSince > 60_000) ctr.backoffMs = 0;
  ctr.backoffMs = Math.min(ctr.backoffMs ? ctr.backoffMs * 2 : 1000, 20_000);
  ctr.lastState = { terminated };
  ctr.state = {
    waiting: {
      reason: 'CrashLoopBackOff',
      message: `back-off ${ctr.backoffMs / 1000}s restarting failed container=${ctr.name} pod=${rt.pod.metadata.name}`,
    },
  };
  ctr.timer = setTimeout(() => {
    if (rt.stopping || rt.gone) return;
    ctr.restartCount++;
    launch(rt, ctr).catch((e) => configFailed(rt, ctr, e));
  }, ctr.backoffMs);
}

function configFailed(rt: PodRt, ctr: CtrRt, e: unknown): void {
  const msg = (e as Error).message;
  ctr.state = { waiting: { reason: 'CreateContainerConfigError', message: msg } };
  log(`${rt.key}/${ctr.name}: ${msg}`);
  scheduleStatus(rt);
  clearTimeout(ctr.timer);
  ctr.timer = setTimeout(() => {
    if (rt.stopping || rt.gone) return;
    syncVolumes(rt)
      .then(() => launch(rt, ctr))
      .catch((err) => configFailed(rt, ctr, err));
  }, 2000);
}

function probeOnce(rt: PodRt, ctr: CtrRt, probe: any): Promise<boolean> {
  const portOf = (p: any): number => {
    if (typeof p === 'number') return p;
    if (/^\d+$/.test(String(p))) return Number(p);
    const named = (ctr.spec.ports ?? []).find((x: any) => x.name === p);
    return named?.containerPort ?? 0;
  };
  return new Promise((resolve) => {
    const timeout = Math.max(1, probe.timeoutSeconds ?? 1) * 1000;
    if (probe.tcpSocket) {
      const s = connect({ host: probe.tcpSocket.host || rt.ip, port: portOf(probe.tcpSocket.port), timeout });
      s.on('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
      s.on('timeout', () => {
        s.destroy();
        resolve(false);
      });
    } else if (probe.httpGet) {
      if ((probe.httpGet.scheme ?? 'HTTP') === 'HTTPS') {
        const s = connect({ host: probe.httpGet.host || rt.ip, port: portOf(probe.httpGet.port), timeout });
        s.on('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
        return;
      }
      const req = httpGet(
        { host: probe.httpGet.host || rt.ip, port: portOf(probe.httpGet.port), path: probe.httpGet.path || '/', timeout },
        (res) => {
          res.resume();
          resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400);
        },
      );
      req.on('error', () => resolve(false));
      req.on('timeout', () => {
        req.destroy();
        resolve(false);
      });
    } else resolve(true); // exec and grpc probes: ready when running
  });
}

function startProbe(rt: PodRt, ctr: CtrRt): void {
  let probe = ctr.spec.readinessProbe;
  const runner = runnerFor(ctr.spec.image);
  // The built-in workloads are ready once they listen (their images need no probe to be usable).
  if (!probe && runner?.kind === 'builtin') probe = { tcpSocket: { port: runner.port }, periodSeconds: 1 };
  if (!probe) {
    ctr.ready = true;
    return;
  }
  const period = Math.min(probe.periodSeconds ?? 10, 2) * 1000;
  const tick = async () => {
    if (!ctr.proc || rt.stopping) return;
    const ok = await probeOnce(rt, ctr, probe);
    if (ok !== ctr.ready && ctr.proc) {
      ctr.ready = ok;
      scheduleStatus(rt);
    }
    if (ctr.proc && !rt.stopping) ctr.probeTimer = setTimeout(tick, ok ? period : Math.min(period, 500));
  };
  ctr.probeTimer = setTimeout(tick, Math.max(0, probe.initialDelaySeconds ?? 0) * 1000 + 100);
}

// Status ----------------------------------------------------------------------------------------
function ctrStatus(rt: PodRt, ctr: CtrRt): any {
  return {
    name: ctr.name,
    image: ctr.spec.image,
    imageID: `van-test://${repoOf(ctr.spec.image).repo}`,
    ...(ctr.pid ? { containerID: `van-test://${ctr.pid}` } : {}),
    ready: !ctr.init && !!ctr.proc && ctr.ready,
    started: !!ctr.proc,
    restartCount: ctr.restartCount,
    state: ctr.state,
    lastState: ctr.lastState ?? {},
  };
}

function podPhase(rt: PodRt): string {
  if (rt.phase === 'Failed' || rt.phase === 'Succeeded') return rt.phase;
  if (!rt.initDone) return 'Pending';
  if (rt.ctrs.some((c) => c.proc)) return 'Running';
  const policy = rt.pod.spec.restartPolicy ?? 'Always';
  const allTerminated = rt.ctrs.every((c) => c.state?.terminated);
  if (allTerminated && policy !== 'Always') {
    if (rt.ctrs.every((c) => c.state.terminated.exitCode === 0)) return 'Succeeded';
    if (policy === 'Never') return 'Failed';
  }
  return rt.ctrs.some((c) => c.started || c.restartCount > 0) ? 'Running' : 'Pending';
}

function buildStatus(rt: PodRt): any {
  const phase = podPhase(rt);
  if (phase === 'Succeeded' || phase === 'Failed') rt.phase = phase;
  const t = now();
  const ready = phase === 'Running' && rt.ctrs.every((c) => c.proc && c.ready);
  const cond = (type: string, ok: boolean, reason?: string) => ({
    type,
    status: ok ? 'True' : 'False',
    lastTransitionTime: t,
    lastProbeTime: null,
    ...(reason && !ok ? { reason } : {}),
  });
  return {
    phase,
    ...(rt.reason ? { reason: rt.reason, message: rt.message } : {}),
    hostIP: nodeIP,
    hostIPs: [{ ip: nodeIP }],
    podIP: rt.ip,
    podIPs: [{ ip: rt.ip }],
    startTime: rt.startTime,
    conditions: [
      cond('PodReadyToStartContainers', true),
      cond('Initialized', rt.initDone, 'ContainersNotInitialized'),
      cond('Ready', ready, 'ContainersNotReady'),
      cond('ContainersReady', ready, 'ContainersNotReady'),
      cond('PodScheduled', true),
    ],
    ...(rt.inits.length ? { initContainerStatuses: rt.inits.map((c) => ctrStatus(rt, c)) } : {}),
    containerStatuses: rt.ctrs.map((c) => ctrStatus(rt, c)),
  };
}

const lastSent = new Map<string, string>();
function scheduleStatus(rt: PodRt): void {
  if (rt.statusTimer || rt.gone) return;
  rt.statusTimer = setTimeout(() => {
    rt.statusTimer = undefined;
    void sendStatus(rt);
  }, 30);
}

async function sendStatus(rt: PodRt): Promise<void> {
  if (rt.gone) return;
  const status = buildStatus(rt);
  // Keep condition transition times stable when nothing changed.
  const sig = JSON.stringify({ ...status, conditions: status.conditions.map((c: any) => [c.type, c.status]) });
  if (lastSent.get(rt.uid) === sig) return;
  const prev = rt.pod.status?.conditions ?? [];
  for (const c of status.conditions) {
    const p = prev.find((x: any) => x.type === c.type);
    if (p && p.status === c.status && p.lastTransitionTime) c.lastTransitionTime = p.lastTransitionTime;
  }
  const path = `/api/v1/namespaces/${rt.pod.metadata.namespace}/pods/${rt.pod.metadata.name}/status`;
  try {
    const r = await kube.mergePatch(path, { metadata: { uid: rt.uid }, status });
    if (r.status === 200) {
      lastSent.set(rt.uid, sig);
      rt.pod.status = r.body.status;
    } else if (r.status === 422) {
      lastSent.set(rt.uid, sig); // a bug in the stand-in: retrying the same status cannot help
      log(`${rt.key}: status refused: ${r.text.slice(0, 500)}`);
    } else if (r.status !== 404 && r.status !== 409) {
      log(`${rt.key}: status update HTTP ${r.status} ${r.text.slice(0, 300)}`);
      setTimeout(() => scheduleStatus(rt), 1000);
    }
  } catch (e) {
    log(`${rt.key}: status update failed: ${(e as Error).message}`);
    setTimeout(() => scheduleStatus(rt), 1000);
  }
}

// Lifecycle -------------------------------------------------------------------------------------
function newCtr(spec: any, init: boolean): CtrRt {
  return {
    name: spec.name,
    spec,
    init,
    restartCount: 0,
    state: { waiting: { reason: 'ContainerCreating' } },
    lastState: {},
    ready: false,
    started: false,
    backoffMs: 0,
  };
}

async function startPod(pod: any): Promise<void> {
  const key = keyOf(pod);
  const dir = join(podsDir, `${pod.metadata.namespace}_${pod.metadata.name}`);
  cleanPodDir(dir);
  mkdirSync(dir, { recursive: true });
  const prevIP = pod.status?.podIP as string | undefined;
  const ip = podPool.take(prevIP);
  const rt: PodRt = {
    key,
    uid: pod.metadata.uid,
    pod,
    ip,
    dir,
    ctrs: (pod.spec.containers ?? []).map((c: any) => newCtr(c, false)),
    inits: (pod.spec.initContainers ?? []).map((c: any) => newCtr(c, true)),
    initDone: !(pod.spec.initContainers ?? []).length,
    stopping: false,
    gone: false,
    phase: 'Pending',
    volumes: new Map(),
    volumeState: new Map(),
    tokens: new Map(),
    startTime: now(),
  };
  pods.set(key, rt);
  addAddress(ip);
  log(`${key}: scheduled here, ip ${ip}`);
  // Images first: an unsupported image is an image pull error, as with a real kubelet.
  let bad = false;
  for (const c of [...rt.inits, ...rt.ctrs]) {
    if (!runnerFor(c.spec.image)) {
      bad = true;
      c.state = {
        waiting: {
          reason: 'ErrImagePull',
          message: `image "${c.spec.image}" is not supported by the test kubelet (vscode-skupper test control plane); supported images: ${SUPPORTED}`,
        },
      };
    }
  }
  scheduleStatus(rt);
  if (bad) return;
  await prepareAndRun(rt);
}

async function prepareAndRun(rt: PodRt): Promise<void> {
  if (rt.stopping || rt.gone) return;
  try {
    await syncVolumes(rt);
  } catch (e) {
    const msg = (e as Error).message;
    for (const c of [...rt.inits, ...rt.ctrs])
      c.state = { waiting: { reason: e instanceof ConfigError ? 'CreateContainerConfigError' : 'ContainerCreating', message: msg } };
    log(`${rt.key}: volumes: ${msg}`);
    scheduleStatus(rt);
    rt.retryTimer = setTimeout(() => void prepareAndRun(rt), 2000);
    return;
  }
  await runNext(rt);
}

/** Runs the next init container, or all containers once the init containers are done. */
async function runNext(rt: PodRt): Promise<void> {
  if (rt.stopping || rt.gone) return;
  const next = rt.inits.find((c) => !(c.state?.terminated?.exitCode === 0));
  if (next && !rt.initDone) {
    if (next.proc) return;
    await launch(rt, next).catch((e) => configFailed(rt, next, e));
    return;
  }
  rt.initDone = true;
  for (const c of rt.ctrs) if (!c.proc && !c.timer) await launch(rt, c).catch((e) => configFailed(rt, c, e));
  scheduleStatus(rt);
}

async function stopPod(rt: PodRt, graceSeconds: number): Promise<void> {
  if (rt.stopping) return;
  rt.stopping = true;
  clearTimeout(rt.retryTimer);
  const all = [...rt.inits, ...rt.ctrs];
  for (const c of all) {
    clearTimeout(c.timer);
    clearTimeout(c.probeTimer);
  }
  const running = all.filter((c) => c.proc && c.pid);
  for (const c of running) killGroup(c.pid!, 'SIGTERM');
  const deadline = Date.now() + Math.min(Math.max(graceSeconds, 0), 10) * 1000;
  while (running.some((c) => c.proc) && Date.now() < deadline) await sleep(50);
  for (const c of running) if (c.proc) killGroup(c.pid!, 'SIGKILL');
  const hard = Date.now() + 3000;
  while (running.some((c) => c.proc) && Date.now() < hard) await sleep(50);
  delAddress(rt.ip);
  podPool.release(rt.ip);
}

function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      /* gone */
    }
  }
}

async function finishPod(rt: PodRt, pod: any): Promise<void> {
  await stopPod(rt, pod.spec?.terminationGracePeriodSeconds ?? 30);
  rt.gone = true;
  pods.delete(rt.key);
  lastSent.delete(rt.uid);
  cleanPodDir(rt.dir);
  // The kubelet's last word: remove the object now that its containers are gone.
  const r = await kube.del(`/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`, {
    apiVersion: 'v1',
    kind: 'DeleteOptions',
    gracePeriodSeconds: 0,
    preconditions: { uid: pod.metadata.uid },
  });
  if (r.status !== 200 && r.status !== 202 && r.status !== 404 && r.status !== 409)
    log(`${rt.key}: delete HTTP ${r.status} ${r.text.slice(0, 200)}`);
  log(`${rt.key}: stopped and removed`);
}

/** Removes a pod's folder except its container logs (kept for debugging tests). */
function cleanPodDir(dir: string): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir)) if (!e.endsWith('.log')) rmSync(join(dir, e), { recursive: true, force: true });
}

function onPod(type: string, pod: any): void {
  if (pod.spec?.nodeName !== nodeName) return;
  const key = keyOf(pod);
  const rt = pods.get(key);
  if (rt && rt.uid !== pod.metadata.uid) {
    // Same name, new pod: the old one is gone.
    void finishPod(rt, rt.pod);
    return void setTimeout(() => onPod(type, pod), 200);
  }
  if (type === 'DELETED') {
    if (rt && !rt.stopping) {
      rt.gone = true;
      void stopPod(rt, 0).then(() => {
        pods.delete(key);
        cleanPodDir(rt.dir);
      });
    }
    return;
  }
  if (pod.metadata.deletionTimestamp) {
    if (rt) {
      rt.pod = pod;
      void finishPod(rt, pod);
    } else if (!finishing.has(pod.metadata.uid)) {
      finishing.add(pod.metadata.uid);
      void kube
        .del(`/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`, {
          apiVersion: 'v1',
          kind: 'DeleteOptions',
          gracePeriodSeconds: 0,
          preconditions: { uid: pod.metadata.uid },
        })
        .finally(() => finishing.delete(pod.metadata.uid));
    }
    return;
  }
  if (rt) {
    // Keep metadata (labels, annotations) fresh for the downward API; status is ours.
    rt.pod = { ...pod, status: rt.pod.status };
    return;
  }
  if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return;
  startPod(pod).catch((e) => log(`${key}: ${(e as Error).stack}`));
}
const finishing = new Set<string>();

function onPodList(items: any[]): void {
  const seen = new Set(items.map(keyOf));
  for (const [key, rt] of pods) {
    if (!seen.has(key) && !rt.stopping) {
      rt.gone = true;
      void stopPod(rt, 0).then(() => {
        pods.delete(key);
        cleanPodDir(rt.dir);
      });
    }
  }
  for (const p of items) onPod('ADDED', p);
}

// ---------------------------------------------------------------------------------------------
// Services: ClusterIP and LoadBalancer proxies, names for the resolver
const services = new Map<string, any>();
const slices = new Map<string, any>(); // ns/slice-name -> slice
interface Proxy {
  ip: string;
  port: number;
  svcPort: any;
  /** One listener in the pod network namespace; for load balancer (127.x) addresses one in the host's too. */
  servers: Server[];
  closed: boolean;
}
function closeProxy(p: Proxy): void {
  p.closed = true;
  for (const s of p.servers) s.close();
}
const proxies = new Map<string, Map<string, Proxy>>(); // svc key -> "ip:port" -> proxy
const lbIPs = new Map<string, string>(); // svc key -> lb ip
const rr = new Map<string, number>();

function readyEndpoints(svcKey: string, svcPort: any): { ip: string; port: number }[] {
  const [ns, name] = svcKey.split('/');
  const out: { ip: string; port: number }[] = [];
  for (const s of slices.values()) {
    if (s.metadata.namespace !== ns || s.metadata.labels?.['kubernetes.io/service-name'] !== name) continue;
    if (s.addressType !== 'IPv4') continue;
    const p = (s.ports ?? []).find(
      (x: any) => (x.name ?? '') === (svcPort.name ?? '') && (x.protocol ?? 'TCP') === (svcPort.protocol ?? 'TCP'),
    );
    if (!p?.port) continue;
    for (const e of s.endpoints ?? []) {
      if (e.conditions?.ready === false) continue;
      for (const a of e.addresses ?? []) out.push({ ip: a, port: p.port });
    }
  }
  return out;
}

function pipe(client: Socket, svcKey: string, svcPort: any): void {
  // The API server does not publish its own (loopback) endpoint: the kubernetes Service goes to it directly.
  const eps = svcKey === 'default/kubernetes' ? [{ ip: '127.0.0.1', port: apiPort }] : readyEndpoints(svcKey, svcPort);
  if (!eps.length) {
    client.destroy();
    return;
  }
  const k = `${svcKey}:${svcPort.port}`;
  const n = (rr.get(k) ?? 0) % eps.length;
  rr.set(k, n + 1);
  const ep = eps[n];
  const upstream = connect({ host: ep.ip, port: ep.port });
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  client.pipe(upstream).pipe(client);
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close);
  upstream.on('error', close);
  client.on('close', close);
  upstream.on('close', close);
}

function syncProxies(svcKey: string, wanted: { ip: string; port: any }[]): void {
  let m = proxies.get(svcKey);
  if (!m) proxies.set(svcKey, (m = new Map()));
  const keys = new Set(wanted.map((w) => `${w.ip}:${w.port.port}`));
  for (const [k, p] of m) {
    if (!keys.has(k)) {
      closeProxy(p);
      m.delete(k);
    }
  }
  for (const w of wanted) {
    const k = `${w.ip}:${w.port.port}`;
    const existing = m.get(k);
    if (existing) {
      existing.svcPort = w.port;
      continue;
    }
    const entry: Proxy = { ip: w.ip, port: w.port.port, svcPort: w.port, servers: [], closed: false };
    const serve = (server: Server) => {
      if (entry.closed) {
        server.close();
        return;
      }
      entry.servers.push(server);
      server.on('connection', (sock: Socket) => pipe(sock, svcKey, entry.svcPort));
      server.on('error', (e: Error) => log(`proxy ${svcKey} ${k}: ${e.message}`));
    };
    // 127.x (load balancers) is local in both namespaces; anything else exists only in the pod's.
    if (w.ip.startsWith('127.')) {
      const host = createServer();
      host.listen(w.port.port, w.ip);
      serve(host);
    } else {
      addAddress(w.ip);
    }
    listenInPodNetwork(w.ip, w.port.port).then(serve, (e: Error) => log(`proxy ${svcKey} ${k} (pod network): ${e.message}`));
    m.set(k, entry);
  }
}

async function syncService(svc: any): Promise<void> {
  const key = keyOf(svc);
  const ports = (svc.spec.ports ?? []).filter((p: any) => (p.protocol ?? 'TCP') === 'TCP');
  const wanted: { ip: string; port: any }[] = [];
  const cip = svc.spec.clusterIP;
  if (cip && cip !== 'None' && cip.startsWith(`10.${octet}.`)) for (const p of ports) wanted.push({ ip: cip, port: p });
  if (svc.spec.type === 'LoadBalancer') {
    let ip = lbIPs.get(key);
    if (!ip) {
      ip = lbPool.take(svc.status?.loadBalancer?.ingress?.[0]?.ip);
      lbIPs.set(key, ip);
    }
    for (const p of ports) wanted.push({ ip, port: p });
    const cur = svc.status?.loadBalancer?.ingress ?? [];
    if (cur.length !== 1 || cur[0].ip !== ip) {
      const r = await kube.mergePatch(`/api/v1/namespaces/${svc.metadata.namespace}/services/${svc.metadata.name}/status`, {
        status: { loadBalancer: { ingress: [{ ip, ipMode: 'VIP' }] } },
      });
      if (r.status !== 200) log(`service ${key}: status HTTP ${r.status} ${r.text.slice(0, 200)}`);
      else log(`service ${key}: load balancer ${ip}`);
    }
  } else if (lbIPs.has(key)) {
    const ip = lbIPs.get(key)!;
    lbIPs.delete(key);
    lbPool.release(ip);
  }
  syncProxies(key, wanted);
}

function dropService(key: string): void {
  const m = proxies.get(key);
  if (m) {
    for (const p of m.values()) {
      closeProxy(p);
      const ip = p.ip;
      if (!ip.startsWith('127.') && ![...proxies.entries()].some(([k, mm]) => k !== key && [...mm.values()].some((x) => x.ip === ip)))
        delAddress(ip);
    }
    proxies.delete(key);
  }
  const lb = lbIPs.get(key);
  if (lb) {
    lbIPs.delete(key);
    lbPool.release(lb);
  }
}

let resolveTimer: NodeJS.Timeout | undefined;
function writeResolve(): void {
  if (resolveTimer) return;
  resolveTimer = setTimeout(() => {
    resolveTimer = undefined;
    const names: Record<string, { clusterIP: string | null; endpoints: string[] }> = {};
    for (const [key, svc] of services) {
      const [ns, name] = key.split('/');
      const eps = new Set<string>();
      for (const p of svc.spec.ports ?? [{}]) for (const e of readyEndpoints(key, p)) eps.add(e.ip);
      if (key === 'default/kubernetes') eps.add('127.0.0.1');
      const cip = svc.spec.clusterIP && svc.spec.clusterIP !== 'None' ? svc.spec.clusterIP : null;
      names[`${name}.${ns}`] = { clusterIP: cip, endpoints: [...eps] };
    }
    writeFileSync(resolveFile + '.tmp', JSON.stringify(names));
    renameSync(resolveFile + '.tmp', resolveFile);
  }, 20);
}

function onService(type: string, svc: any): void {
  const key = keyOf(svc);
  if (type === 'DELETED') {
    services.delete(key);
    dropService(key);
  } else {
    services.set(key, svc);
    syncService(svc).catch((e) => log(`service ${key}: ${(e as Error).message}`));
  }
  writeResolve();
}

function onSlice(type: string, s: any): void {
  const key = `${s.metadata.namespace}/${s.metadata.name}`;
  if (type === 'DELETED') slices.delete(key);
  else slices.set(key, s);
  writeResolve();
}

// ---------------------------------------------------------------------------------------------
// Periodic work: heartbeats, volume refresh (ConfigMap/Secret updates, token rotation)
async function refreshVolumes(): Promise<void> {
  for (const rt of pods.values()) {
    if (rt.stopping || rt.gone || !rt.volumes.size) continue;
    try {
      await syncVolumes(rt);
    } catch {
      /* keep the last good contents */
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The kubelet's HTTPS endpoint on <node IP>:10250, for `pods/log` through the API server.
function serveLogs(): void {
  addAddress(nodeIP);
  const server = createHttpsServer(
    { cert: readFileSync(join(stateDir, 'pki', 'apiserver.crt')), key: readFileSync(join(stateDir, 'pki', 'apiserver.key')) },
    (req, res) => {
      const url = new URL(req.url ?? '/', 'https://kubelet');
      const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
      if (!m) {
        res.writeHead(404).end('not supported by the test kubelet\n');
        return;
      }
      const [, ns, pod, ctr] = m.map(decodeURIComponent);
      const file = join(podsDir, `${ns}_${pod}`, `${ctr}.log`);
      if (!existsSync(file)) {
        res.writeHead(404).end(`no logs for container ${ctr} of pod ${ns}/${pod}\n`);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      let text = readFileSync(file, 'utf8');
      const tail = url.searchParams.get('tailLines');
      if (tail)
        text = text
          .split('\n')
          .slice(-Number(tail) - 1)
          .join('\n');
      const limit = url.searchParams.get('limitBytes');
      if (limit) text = text.slice(0, Number(limit));
      res.write(text);
      if (url.searchParams.get('follow') !== 'true') {
        res.end();
        return;
      }
      let pos = Buffer.byteLength(readFileSync(file, 'utf8'));
      const timer = setInterval(() => {
        try {
          const buf = readFileSync(file);
          if (buf.length > pos) {
            res.write(buf.subarray(pos));
            pos = buf.length;
          }
        } catch {
          clearInterval(timer);
          res.end();
        }
      }, 250);
      req.on('close', () => clearInterval(timer));
    },
  );
  server.on('error', (e) => log(`log server: ${e.message}`));
  // The API server reaches the node IP through the veth; the socket lives in the pod namespace.
  listenInPodNetwork(nodeIP, 10250).then(
    (listener) => listener.on('connection', (sock: Socket) => server.emit('connection', sock)),
    (e: Error) => log(`log server: ${e.message}`),
  );
}

/** Processes a previous instance of this stand-in left running (it was killed): they go. */
function killLeftovers(): void {
  if (!existsSync(podsDir)) return;
  for (const p of readdirSync(podsDir)) {
    let entries: string[];
    try {
      entries = readdirSync(join(podsDir, p));
    } catch {
      continue;
    }
    for (const f of entries.filter((x) => x.endsWith('.pid'))) {
      const pid = Number(readFileSync(join(podsDir, p, f), 'utf8'));
      try {
        if (pid && readFileSync(`/proc/${pid}/environ`, 'utf8').includes(stateDir)) {
          log(`killing process ${pid} left by a previous kubelet (${p}/${f})`);
          killGroup(pid, 'SIGKILL');
        }
      } catch {
        /* gone */
      }
    }
  }
}

async function main(): Promise<void> {
  mkdirSync(podsDir, { recursive: true });
  killLeftovers();
  writeFileSync(resolveFile, '{}');
  void caPem;
  startBinder();
  serveLogs();
  await registerNode();
  log(`node ${nodeName} registered (cluster ${clusterName}, pods 10.${octet}.1.0/17)`);
  setInterval(() => void heartbeat().catch((e) => log(`heartbeat: ${(e as Error).message}`)), 10_000);
  setInterval(() => void refreshVolumes(), 5_000);
  const stops = [
    kube.informer(`/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${nodeName}`)}`, onPodList, onPod),
    kube.informer(
      '/api/v1/services',
      (items) => {
        const seen = new Set(items.map(keyOf));
        for (const k of [...services.keys()]) if (!seen.has(k)) onService('DELETED', services.get(k));
        for (const s of items) onService('ADDED', s);
      },
      onService,
    ),
    kube.informer(
      '/apis/discovery.k8s.io/v1/endpointslices',
      (items) => {
        slices.clear();
        for (const s of items) onSlice('ADDED', s);
      },
      onSlice,
    ),
  ];
  const shutdown = async () => {
    if (exiting) return;
    exiting = true;
    log('stopping: killing pods');
    for (const s of stops) s();
    await Promise.all([...pods.values()].map((rt) => stopPod(rt, 2)));
    for (const ip of [...addresses]) delAddress(ip);
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());
}

// A bug in a handler must not take every pod of the cluster down with the stand-in.
process.on('uncaughtException', (e) => log(`uncaught: ${e.stack}`));
process.on('unhandledRejection', (e) => log(`unhandled rejection: ${(e as Error)?.stack ?? e}`));

main().catch((e) => {
  log(`fatal: ${(e as Error).stack}`);
  for (const ip of [...addresses]) delAddress(ip);
  process.exit(1);
});
