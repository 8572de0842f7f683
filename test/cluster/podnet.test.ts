// The pod network namespace: test addresses beyond 127.0.0.0/8 exist only inside it, the host reaches
// them through the harness's veth alone, and the pods' processes run inside it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readlinkSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { readState } from './controlplane';
import { clusterSetup, createNamespace, deleteNamespace, eventually, tcpExchange, uniqueName } from './helpers';
import type { Kube } from './kube';
import { HostAddressRefused, addHostAddress, hostAddressAllowed, hostAddresses, podNetworkNames, type PodNetwork } from './podnet';
import { stateDir } from './paths';

let k: Kube;
let net: PodNetwork;
const ns = uniqueName('podnet');
const cluster = (process.env.VAN_TEST_CLUSTERS?.split(',')[0] || 'public').trim();

before(
  async () => {
    const s = await clusterSetup();
    k = s.kube(cluster);
    net = readState()!.net!;
    await createNamespace(k, ns);
  },
  { timeout: 300_000 },
);

after(async () => {
  if (k) await deleteNamespace(k, ns);
});

function connectOutcome(host: string, port: number): Promise<{ code: string; ms: number }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const s = connect({ host, port });
    const t = setTimeout(() => {
      s.destroy();
      resolve({ code: 'TIMEOUT', ms: Date.now() - t0 });
    }, 3000);
    s.on('connect', () => {
      clearTimeout(t);
      s.destroy();
      resolve({ code: 'CONNECTED', ms: Date.now() - t0 });
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(t);
      resolve({ code: e.code ?? e.message, ms: Date.now() - t0 });
    });
  });
}

/** One line through bash's /dev/tcp from inside the pod network namespace (as a pod would). */
function exchangeFromPodNetwork(host: string, port: number, line: string): string {
  const r = spawnSync(
    'nsenter',
    [
      `--net=/run/netns/${net.netns}`,
      'timeout',
      '5',
      'bash',
      '-c',
      `exec 3<>/dev/tcp/${host}/${port}; echo "$1" >&3; head -n1 <&3`,
      'x',
      line,
    ],
    { encoding: 'utf8' },
  );
  return r.stdout.trim();
}

async function echoPod(name: string): Promise<any> {
  const r = await k.post(`/api/v1/namespaces/${ns}/pods`, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: name } },
    spec: {
      containers: [{ name: 'echo', image: 'quay.io/skupper/tcp-go-echo', ports: [{ containerPort: 9090 }] }],
      terminationGracePeriodSeconds: 1,
    },
  });
  assert.equal(r.status, 201, r.text);
  return eventually(`pod ${name} ready`, 60_000, async () => {
    const p = (await k.get(`/api/v1/namespaces/${ns}/pods/${name}`)).body;
    return p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True') ? p : undefined;
  });
}

test('the host namespace admits loopback and the veth link only; anything else is refused before `ip` runs', () => {
  const names = podNetworkNames(stateDir);
  assert.equal(hostAddressAllowed('127.100.200.1', 'lo'), true);
  assert.equal(hostAddressAllowed('10.100.1.1', 'lo'), false);
  assert.equal(hostAddressAllowed('10.100.0.1', names.hostIf, names), false);
  assert.equal(hostAddressAllowed('169.254.120.1', names.hostIf, names), true);
  assert.equal(hostAddressAllowed('169.254.120.1', 'eth0', names), false);
  assert.equal(hostAddressAllowed('192.168.1.1', 'eth0', names), false);
  assert.throws(() => addHostAddress('10.123.0.1', 32, 'lo', names), HostAddressRefused);
  assert.equal(
    hostAddresses().some((a) => a.address === '10.123.0.1'),
    false,
  );
});

test('after cluster:up the host carries no 10.x address; the pod network namespace holds the cluster addresses', async () => {
  const onHost = hostAddresses().filter((a) => /^10\./.test(a.address));
  assert.deepEqual(onHost, [], `10.x addresses on the host: ${JSON.stringify(onHost)}`);
  const inside = spawnSync('ip', ['-n', net.netns, '-o', '-4', 'addr', 'show'], { encoding: 'utf8' }).stdout;
  const octet = readState()!.clusters.find((c) => c.name === cluster)!.octet;
  assert.match(inside, new RegExp(`inet 10\\.${octet}\\.0\\.1/32`), 'the node IP lives in the pod namespace');
  // The only host route to the cluster's range goes through the veth, with `unreachable` behind it.
  const routes = spawnSync('ip', ['-o', '-4', 'route', 'show', 'table', 'all', 'match', `10.${octet}.5.5`], { encoding: 'utf8' }).stdout;
  const lines = routes.split('\n').filter((l) => l.includes(`10.${octet}.0.0/16`));
  assert.ok(
    lines.some((l) => l.includes(`via ${net.nsAddr} dev ${net.hostIf}`)),
    routes,
  );
  assert.ok(
    lines.every((l) => l.includes(`dev ${net.hostIf}`) || l.startsWith('unreachable')),
    routes,
  );
});

test('a pod runs inside the namespace; the host reaches its IP through the veth, and once it is gone the IP fails at once', async () => {
  const pod = await echoPod('echo-ns');
  const ip = pod.status.podIP as string;
  const route = spawnSync('ip', ['-o', 'route', 'get', ip], { encoding: 'utf8' }).stdout;
  assert.match(route, new RegExp(`dev ${net.hostIf} `), route);
  // Its process is in the pod network namespace, not the host's.
  const pidFile = `${stateDir}/${cluster}/pods/${ns}_echo-ns/echo.pid`;
  const pid = Number(spawnSync('cat', [pidFile], { encoding: 'utf8' }).stdout);
  const netnsInode = statSync(`/run/netns/${net.netns}`).ino;
  assert.equal(readlinkSync(`/proc/${pid}/ns/net`), `net:[${netnsInode}]`);
  assert.notEqual(readlinkSync(`/proc/${pid}/ns/net`), readlinkSync('/proc/self/ns/net'));
  assert.equal(await tcpExchange(ip, 9090, 'via veth'), 'echo-ns : VIA VETH');

  assert.equal((await k.del(`/api/v1/namespaces/${ns}/pods/echo-ns`)).status, 200);
  await eventually('the pod object gone', 30_000, async () => (await k.get(`/api/v1/namespaces/${ns}/pods/echo-ns`)).status === 404);
  const after = await connectOutcome(ip, 9090);
  assert.ok(['EHOSTUNREACH', 'ECONNREFUSED'].includes(after.code), `connecting to a gone pod's IP: ${after.code} after ${after.ms} ms`);
  assert.ok(after.ms < 1000, `failed after ${after.ms} ms`);
});

test('a load balancer answers on the same 127.x address on the host (tests, laptops) and inside the namespace (other clusters)', async () => {
  await echoPod('echo-lb');
  const r = await k.post(`/api/v1/namespaces/${ns}/services`, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'echo-lb' },
    spec: { type: 'LoadBalancer', selector: { app: 'echo-lb' }, ports: [{ port: 19091, targetPort: 9090 }] },
  });
  assert.equal(r.status, 201, r.text);
  const svc = await eventually('a load balancer ingress', 30_000, async () => {
    const s = (await k.get(`/api/v1/namespaces/${ns}/services/echo-lb`)).body;
    return s.status?.loadBalancer?.ingress?.[0]?.ip ? s : undefined;
  });
  const lb = svc.status.loadBalancer.ingress[0].ip as string;
  assert.match(lb, /^127\./);
  assert.equal(await eventually('host → load balancer', 20_000, () => tcpExchange(lb, 19091, 'host')), 'echo-lb : HOST');
  assert.equal(
    await eventually('pod network → load balancer', 20_000, async () => exchangeFromPodNetwork(lb, 19091, 'inside')),
    'echo-lb : INSIDE',
  );
  assert.equal(
    await eventually('pod network → ClusterIP', 20_000, async () => exchangeFromPodNetwork(svc.spec.clusterIP, 19091, 'cip')),
    'echo-lb : CIP',
  );
});
