// The site lifecycle on the real control plane: init → ready → status → delete, as cluster admin and
// as a namespace-only user, twice each, interrupted, and the one-line errors. Also measures
// init-to-ready time, the objects a site creates and the router pod's memory at rest (printed as
// `FIGURE ...` lines for the note).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as esbuild from 'esbuild';
import { clusterSetup, createNamespace, deleteNamespace, eventually, uniqueName } from './helpers';
import type { Kube } from './kube';

const root = join(__dirname, '..', '..');
const cluster = (process.env.VAN_TEST_CLUSTERS?.split(',')[0] || 'public').trim();
// The namespace-only user of another cluster than the admin tests, to spread the load.
const nsAdminCluster = (process.env.VAN_TEST_CLUSTERS?.split(',').slice(-1)[0] || 'east').trim();
const work = mkdtempSync(join(tmpdir(), 'van-site-test-'));
const bundle = join(work, 'router.js');
let kube: (ctx: string) => Kube;
let kubeconfigPath = '';
const namespaces: string[] = [];

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function van(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], {
      cwd: root,
      env: { ...process.env, KUBECONFIG: kubeconfigPath, VAN_ROUTER_BUNDLE: bundle, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr, ms: Date.now() - started }));
  });
}

const KINDS: [string, string][] = [
  ['/api/v1', 'configmaps'],
  ['/api/v1', 'secrets'],
  ['/api/v1', 'services'],
  ['/api/v1', 'serviceaccounts'],
  ['/apis/rbac.authorization.k8s.io/v1', 'roles'],
  ['/apis/rbac.authorization.k8s.io/v1', 'rolebindings'],
  ['/apis/apps/v1', 'deployments'],
  ['/apis/apps/v1', 'replicasets'],
  ['/api/v1', 'pods'],
];

/** Every object of the site in the namespace: labelled part-of=skupper, owned by the site, or router pods/replicasets. */
async function siteObjects(k: Kube, ns: string): Promise<any[]> {
  const found: any[] = [];
  for (const [prefix, resource] of KINDS) {
    const r = await k.get(`${prefix}/namespaces/${ns}/${resource}`);
    assert.equal(r.status, 200, r.text);
    for (const item of r.body.items) {
      const labels = item.metadata.labels ?? {};
      if (
        labels['app.kubernetes.io/part-of'] === 'skupper' ||
        labels.application === 'skupper-router' ||
        item.metadata.name === 'skupper-site'
      ) {
        found.push({ ...item, kind: resource });
      }
    }
  }
  return found;
}

/** The router's process on this host (the kubelet stand-in runs pods as processes): its RSS in kB. */
function routerRssKb(podName: string): number | undefined {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      if (!environ.includes(`POD_NAME=${podName}`)) continue;
      if (environ.includes('SKUPPER_COMPONENT=controller')) continue; // the pod's other container
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes('router.js.gz') && !cmd.startsWith('node')) continue;
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) return Number(m[1]);
    } catch {
      // gone or not ours
    }
  }
  return undefined;
}

before(
  async () => {
    await esbuild.build({
      entryPoints: [join(root, 'src/core/agent/main.ts')],
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      minify: true,
      outfile: bundle,
      logLevel: 'warning',
    });
    ({ kube, kubeconfigPath } = await clusterSetup());
  },
  { timeout: 300_000 },
);

after(async () => {
  if (!kube) return;
  for (const ns of namespaces) await deleteNamespace(kube(cluster), ns).catch(() => undefined);
});

async function freshNamespace(prefix: string): Promise<string> {
  const ns = uniqueName(prefix);
  namespaces.push(ns);
  await createNamespace(kube(cluster), ns);
  return ns;
}

describe('site lifecycle', { timeout: 600_000 }, () => {
  test('admin: init → ready → status → init again → delete → delete again', async () => {
    const ns = await freshNamespace('site');
    const init = await van(['init', '--context', cluster, '-n', ns, '--site-name', 'west', '--timeout', '120']);
    assert.equal(init.status, 0, init.stderr);
    assert.match(init.stdout, new RegExp(`Skupper is now installed in namespace '${ns}'`));
    assert.match(init.stderr, /waiting for the ingress address \(LoadBalancer\)/);
    console.log(`FIGURE init-to-ready ms=${init.ms} (van process start to router Ready, ingress loadbalancer)`);

    const k = kube(cluster);
    const cm = (await k.get(`/api/v1/namespaces/${ns}/configmaps/skupper-site`)).body;
    const status = await van(['status', '--context', cluster, '-n', ns, '-o', 'json']);
    assert.equal(status.status, 0, status.stderr);
    const s = JSON.parse(status.stdout);
    assert.equal(s.enabled, true);
    assert.equal(s.ready, true, JSON.stringify(s.problems));
    assert.deepEqual(s.site, { name: 'west', id: cm.metadata.uid, mode: 'interior' });
    assert.equal(s.links, 0);
    assert.equal(s.services, 0);
    assert.ok(s.ingressAddress, 'the LoadBalancer address');
    const human = await van(['status', '--context', cluster, '-n', ns]);
    assert.match(human.stdout, /Skupper is enabled for namespace .* with site name "west" in interior mode/);

    // Figures: objects, their size, the router pod's memory at rest.
    const objects = (await siteObjects(k, ns)).filter((o) => o.kind !== 'pods' && o.kind !== 'replicasets');
    const bytes = objects.reduce((n, o) => n + JSON.stringify(o).length, 0);
    console.log(`FIGURE objects count=${objects.length} bytes=${bytes} (${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(' ')})`);
    for (const o of objects.filter((x) => x.metadata.name !== 'skupper-site')) {
      assert.equal(o.metadata.ownerReferences?.[0]?.uid, cm.metadata.uid, `${o.kind}/${o.metadata.name} is owned by the site`);
    }
    const server = (await k.get(`/api/v1/namespaces/${ns}/secrets/skupper-site-server`)).body;
    const { describeCertificate } = await import('../../src/core/pki');
    const names = describeCertificate(Buffer.from(server.data['tls.crt'], 'base64').toString());
    assert.ok([...names.dnsNames, ...names.ipAddresses].includes(s.ingressAddress), `server cert names the ingress ${s.ingressAddress}`);
    assert.ok(names.dnsNames.includes(`skupper-router.${ns}.svc.cluster.local`));
    const pods = (await k.get(`/api/v1/namespaces/${ns}/pods?labelSelector=application%3Dskupper-router`)).body.items;
    assert.equal(pods.length, 1);
    await new Promise((r) => setTimeout(r, 3000));
    const rss = routerRssKb(pods[0].metadata.name);
    console.log(`FIGURE router-rss-kb=${rss ?? 'unknown'} (pod ${pods[0].metadata.name}, at rest 3 s after Ready)`);
    const health: any = await fetch(`http://${pods[0].status.podIP}:9192/status`).then((r) => r.json());
    assert.equal(health.site.id, cm.metadata.uid);
    assert.deepEqual(health.router.listeners.map((l: any) => l.name).sort(), ['amqp', 'edge', 'inter-router']);

    // The agent in the pod watches link Secrets: one appears, the router gets a connector for it.
    const { createCA, issueCertificate } = await import('../../src/core/pki');
    const linkCa = createCA('remote');
    const linkCert = issueCertificate(linkCa, { commonName: 'west-link', usage: 'client' });
    const b64 = (t: string) => Buffer.from(t).toString('base64');
    const created = await k.post(`/api/v1/namespaces/${ns}/secrets`, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'link-to-nowhere',
        labels: { 'skupper.io/type': 'connection-token' },
        annotations: { 'inter-router-host': '127.0.0.1', 'inter-router-port': '1', 'skupper.io/cost': '2' },
      },
      data: { 'ca.crt': b64(linkCa.certPem), 'tls.crt': b64(linkCert.certPem), 'tls.key': b64(linkCert.keyPem) },
    });
    assert.equal(created.status, 201, created.text);
    const linked: any = await eventually('the router has a connector for the link secret', 30_000, async () => {
      const st: any = await fetch(`http://${pods[0].status.podIP}:9192/status`).then((r) => r.json());
      return st.links.includes('link-to-nowhere') ? st : undefined;
    });
    assert.ok(linked.events.some((e: any) => e.reason === 'LinkConfigured'));
    const withLink = JSON.parse((await van(['status', '--context', cluster, '-n', ns, '-o', 'json'])).stdout);
    assert.equal(withLink.links, 1);

    const again = await van(['init', '--context', cluster, '-n', ns]);
    assert.equal(again.status, 1);
    assert.equal(
      again.stderr.trim(),
      `van init: site west already exists in namespace ${ns} (id ${cm.metadata.uid}); use \`van delete\` first or \`--update\``,
    );
    assert.equal(
      (await k.get(`/api/v1/namespaces/${ns}/configmaps/skupper-site`)).body.metadata.resourceVersion,
      cm.metadata.resourceVersion,
      'init twice changes nothing',
    );

    const del = await van(['delete', '--context', cluster, '-n', ns]);
    assert.equal(del.status, 0, del.stderr);
    assert.match(del.stdout, /Skupper is now removed/);
    assert.match(del.stdout, /deleted Deployment\/skupper-router/);
    await eventually('nothing of the site left', 60_000, async () => (await siteObjects(k, ns)).length === 0);
    const del2 = await van(['delete', '--context', cluster, '-n', ns]);
    assert.equal(del2.status, 0, del2.stderr);
    assert.equal(del2.stdout.trim(), `no site in namespace ${ns}: nothing to delete`);
    const gone = await van(['status', '--context', cluster, '-n', ns]);
    assert.equal(gone.stdout.trim(), `Skupper is not enabled in namespace ${ns}`);
  });

  test('namespace-only user (ns-admin of team): init, status, delete; no cluster-scoped object needed', async () => {
    const ctx = `${nsAdminCluster}-ns-admin`;
    const pre = await van(['status', '--context', ctx, '-o', 'json']);
    assert.equal(pre.status, 0, pre.stderr);
    if (JSON.parse(pre.stdout).enabled) await van(['delete', '--context', ctx]); // a leftover of an earlier run
    const init = await van(['init', '--context', ctx, '--ingress', 'none', '--timeout', '120']);
    assert.equal(init.status, 0, init.stderr);
    assert.doesNotMatch(init.stderr, /LoadBalancer/);
    const s = JSON.parse((await van(['status', '--context', ctx, '-o', 'yaml', '-o', 'json'])).stdout);
    assert.equal(s.namespace, 'team');
    assert.equal(s.ready, true, JSON.stringify(s.problems));
    assert.equal(s.site.name, 'team');
    const svc = (await kube(nsAdminCluster).get('/api/v1/namespaces/team/services/skupper-router')).body;
    assert.equal(svc.spec.type, 'ClusterIP');
    assert.deepEqual(
      svc.spec.ports.map((p: any) => p.name),
      ['claims'],
      'ingress none: no inter-router or edge port',
    );
    const yaml = await van(['status', '--context', ctx, '-o', 'yaml']);
    assert.match(yaml.stdout, /^enabled: true$/m);
    const del = await van(['delete', '--context', ctx]);
    assert.equal(del.status, 0, del.stderr);
    await eventually(
      'nothing of the site left in team',
      60_000,
      async () => (await siteObjects(kube(nsAdminCluster), 'team')).length === 0,
    );
  });

  test('init killed part-way: status says broken, delete leaves nothing', async () => {
    const ns = await freshNamespace('site-kill');
    const k = kube(cluster);
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'init', '--context', cluster, '-n', ns], {
      cwd: root,
      env: { ...process.env, KUBECONFIG: kubeconfigPath, VAN_ROUTER_BUNDLE: bundle },
      stdio: 'ignore',
    });
    await eventually(
      'init wrote the bundle ConfigMap',
      60_000,
      async () => (await k.get(`/api/v1/namespaces/${ns}/configmaps/skupper-router-bundle`)).status === 200,
    );
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const s = JSON.parse((await van(['status', '--context', cluster, '-n', ns, '-o', 'json'])).stdout);
    assert.equal(s.enabled, true);
    assert.equal(s.ready, false);
    assert.ok(
      s.problems.some((p: string) => /deployment skupper-router is missing/.test(p)),
      JSON.stringify(s.problems),
    );
    const again = await van(['init', '--context', cluster, '-n', ns]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /already exists/);
    const del = await van(['delete', '--context', cluster, '-n', ns]);
    assert.equal(del.status, 0, del.stderr);
    await eventually('nothing of the site left', 60_000, async () => (await siteObjects(k, ns)).length === 0);
  });

  test('init that fails part-way (router never ready) rolls back and says why', async () => {
    const ns = await freshNamespace('site-fail');
    const r = await van(['init', '--context', cluster, '-n', ns, '--router-image', 'busybox:1.36', '--timeout', '15']);
    assert.equal(r.status, 1);
    const last = r.stderr.trim().split('\n').pop()!;
    assert.match(last, /^van init: the router cannot start \(pod skupper-router-\S+: ErrImagePull: image "busybox:1\.36" is not supported/);
    assert.ok(r.ms < 15_000, `fails before the timeout (${r.ms} ms)`);
    assert.match(r.stderr, /removing what was created/);
    await eventually('nothing of the site left', 60_000, async () => (await siteObjects(kube(cluster), ns)).length === 0);
    console.log(`FIGURE failed-init message: ${last}`);
  });

  test('one-line errors, exit 1: bad kubeconfig, unknown context, unreachable server, forbidden namespace', async () => {
    const bad = join(work, 'bad-kubeconfig');
    writeFileSync(bad, 'clusters: [ {name: x} ]\n');
    const oneLine = (r: Run) => {
      assert.equal(r.status, 1, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      return r.stderr.trim();
    };
    assert.match(oneLine(await van(['status', '--kubeconfig', bad])), new RegExp(`^van status: cannot read kubeconfig file ${bad}: `));
    assert.match(
      oneLine(await van(['status', '--context', 'nowhere'])),
      /^van status: unknown context "nowhere"; known contexts: .*public-ns-admin/,
    );
    const dead = join(work, 'dead-kubeconfig');
    writeFileSync(
      dead,
      `apiVersion: v1
kind: Config
current-context: dead
clusters: [{ name: dead, cluster: { server: 'https://127.0.0.1:1', insecure-skip-tls-verify: true } }]
users: [{ name: dead, user: { token: t } }]
contexts: [{ name: dead, context: { cluster: dead, user: dead } }]
`,
    );
    const unreachable = await van(['init', '--kubeconfig', dead]);
    assert.equal(oneLine(unreachable), 'van init: cannot reach cluster dead at https://127.0.0.1:1: connection refused');
    assert.ok(unreachable.ms < 15_000);
    const forbidden = await van(['init', '--context', `${cluster}-ns-admin`, '-n', 'default']);
    assert.equal(oneLine(forbidden), 'van init: you may not get configmaps in namespace default: ask for the view role there');
    const forbiddenDelete = await van(['delete', '--context', `${cluster}-ns-admin`, '-n', 'kube-system']);
    assert.match(oneLine(forbiddenDelete), /^van delete: you may not get configmaps in namespace kube-system/);
    assert.equal(existsSync(bad), true);
  });
});
