// The router pod's rights on the real control plane: the Role the site makes and the pod spec as the
// API server holds them; the running containers (uid, what each can see); what the router
// container can do with the only credential it has (the controller gate's channel token) and what
// it gets with none (anonymous); what the controller's ServiceAccount can do, asked of the API
// server as that account (TokenRequest token, SelfSubjectRulesReview). And a namespace admin
// installs the same site, Ready, and a claim is redeemed through the controller. Prints the router
// pod's effective rights (FIGURE lines) for the note.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, realpathSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import * as esbuild from 'esbuild';
import { KubeClient } from '../../src/core/kube/client';
import { KubeLinkSite } from '../../src/core/link/kubeSite';
import { deleteSite, initSite, readSite } from '../../src/core/site/kube';
import { createToken } from '../../src/core/token/issue';
import { redeemClaimToken } from '../../src/core/token/claimsClient';
import { tokenFromSecret } from '../../src/core/token/token';
import { clusterSetup, createNamespace, deleteNamespace, eventually, uniqueName } from './helpers';
import { Kube } from './kube';
import { projectRoot } from './paths';

const clusters = (process.env.VAN_TEST_CLUSTERS ?? 'public,private,east').split(',').map((c) => c.trim());
const cluster = clusters[0];
// site-lifecycle.test.ts installs in `team` of the last cluster: this file uses the first one's.
const nsAdminContext = `${cluster}-ns-admin`;
const ns = uniqueName('rights');
const work = mkdtempSync(join(tmpdir(), 'van-rights-test-'));
let kubeconfigPath = '';
let admin: Kube;
let gz: Buffer;

const UID = 10000;
const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const CHANNEL = '/var/run/skupper';

before(
  async () => {
    const setup = await clusterSetup();
    kubeconfigPath = setup.kubeconfigPath;
    admin = setup.kube(cluster);
    const outfile = join(work, 'router.js');
    await esbuild.build({
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      minify: true,
      absWorkingDir: projectRoot,
      entryPoints: ['src/core/agent/main.ts'],
      outfile,
      logLevel: 'warning',
    });
    gz = gzipSync(readFileSync(outfile));
    await createNamespace(admin, ns);
    const client = KubeClient.forContext({ kubeconfig: kubeconfigPath, context: cluster, namespace: ns, timeoutMs: 20_000 });
    await initSite(client, { namespace: ns, siteName: 'rights', bundleGzip: gz, readyTimeoutMs: 120_000 });
  },
  { timeout: 300_000 },
);

after(async () => {
  if (admin) await deleteNamespace(admin, ns).catch(() => undefined);
});

async function routerPod(k: Kube, namespace: string): Promise<any> {
  const pods = (await k.get(`/api/v1/namespaces/${namespace}/pods?labelSelector=application%3Dskupper-router`)).body.items.filter(
    (p: any) => !p.metadata.deletionTimestamp,
  );
  assert.equal(pods.length, 1, 'one router pod');
  return pods[0];
}

/** The local process of a container (the kubelet stand-in runs containers as processes). */
function containerPid(podName: string, controller: boolean): number {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      if (!env.includes(`POD_NAME=${podName}`) || readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'node') continue;
      if (env.includes('SKUPPER_COMPONENT=controller') === controller) return Number(pid);
    } catch {
      // gone, or not ours
    }
  }
  throw new Error(`no ${controller ? 'controller' : 'router'} process for pod ${podName}`);
}

/** A path as the process sees it (its own mount namespace); the host's symlinks (/var/run -> /run) resolved first. */
function inProcess(pid: number, path: string): string {
  const parts = path.split('/').filter(Boolean);
  let host = '/';
  for (const part of parts) host = existsSync(join(host, part)) ? realpathSync(join(host, part)) : join(host, part);
  return join(`/proc/${pid}/root`, host);
}

interface Answer {
  status: number;
  body: any;
  text: string;
}

/** One request to the controller's gate, as the router container makes them. */
function viaGate(
  host: string,
  method: string,
  path: string,
  token: string | undefined,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const data = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const r = httpRequest(
      {
        host,
        port: 9193,
        method,
        path,
        timeout: 15_000,
        headers: {
          accept: 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(data !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(data)) } : {}),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: any;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, text });
        });
      },
    );
    r.on('timeout', () => r.destroy(new Error(`${method} ${path}: timeout`)));
    r.on('error', reject);
    r.end(data);
  });
}

/** A Kube client that authenticates with a bearer token (a ServiceAccount's, from the TokenRequest API). */
function kubeWithToken(token: string): Kube {
  const base = new KubeConfig();
  base.loadFromFile(kubeconfigPath);
  base.setCurrentContext(cluster);
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [base.getCurrentCluster()!],
    users: [{ name: 'sa', token }],
    contexts: [{ name: 'sa', cluster: base.getCurrentCluster()!.name, user: 'sa' }],
    currentContext: 'sa',
  });
  const file = join(work, `kubeconfig-${Math.random().toString(36).slice(2)}`);
  writeFileSync(file, kc.exportConfig(), { mode: 0o600 });
  return new Kube(file);
}

async function serviceAccountToken(namespace: string, name: string): Promise<string> {
  const r = await admin.post(`/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: { expirationSeconds: 600 },
  });
  assert.equal(r.status, 201, r.text);
  return r.body.status.token;
}

/** What `user` may do, asked of the API server (SubjectAccessReview). */
async function allowed(namespace: string, user: string, verb: string, group: string, resource: string, name?: string): Promise<boolean> {
  const r = await admin.post('/apis/authorization.k8s.io/v1/subjectaccessreviews', {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: {
      user,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
      resourceAttributes: { namespace, verb, group, resource, ...(name ? { name } : {}) },
    },
  });
  assert.equal(r.status, 201, r.text);
  return r.body.status.allowed === true;
}

const VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];
const CELLS: [string, string, string][] = [
  ['', 'configmaps', 'skupper-router-bundle'],
  ['', 'configmaps', 'skupper-site'],
  ['', 'configmaps', 'skupper-network-status'],
  ['', 'configmaps', 'skupper-services'],
  ['', 'configmaps', 'any-other'],
  ['', 'secrets', 'skupper-site-ca'],
  ['', 'secrets', 'skupper-site-server'],
  ['', 'secrets', 'any-other'],
  ['', 'services', 'skupper-router'],
  ['', 'services', 'any-other'],
  ['', 'pods', 'any'],
  ['', 'events', 'any'],
  ['apps', 'deployments', 'skupper-router'],
  ['apps', 'deployments', 'any-other'],
  ['apps', 'statefulsets', 'any'],
  ['rbac.authorization.k8s.io', 'roles', 'skupper-controller'],
];

/** The router container's rights: what the gate forwards for each cell (the body checks named). */
function gateCell(
  decide: (method: string, url: string, namespace: string) => { allow: boolean; check?: string },
  namespace: string,
  group: string,
  resource: string,
  name: string,
  verb: string,
): string {
  const base = `/${group ? `apis/${group}/v1` : 'api/v1'}/namespaces/${namespace}/${resource}`;
  const listQuery =
    resource === 'configmaps'
      ? `?fieldSelector=metadata.name%3D${name}`
      : resource === 'secrets'
        ? '?labelSelector=skupper.io%2Ftype%3Dconnection-token'
        : '';
  const [method, url] = (
    {
      get: ['GET', `${base}/${name}`],
      list: ['GET', `${base}${listQuery}`],
      watch: ['GET', `${base}${listQuery}${listQuery ? '&' : '?'}watch=true`],
      create: ['POST', base],
      update: ['PUT', `${base}/${name}`],
      patch: ['PATCH', `${base}/${name}`],
      delete: ['DELETE', `${base}/${name}`],
    } as Record<string, [string, string]>
  )[verb];
  const d = decide(method, url, namespace);
  if (!d.allow) return '—';
  if (resource === 'secrets' && (verb === 'list' || verb === 'watch')) return 'link Secrets only';
  if (d.check?.startsWith('service-')) return 'address Services only';
  if (d.check === 'status-patch') return 'status keys only';
  if (d.check === 'annotations-patch') return 'annotation keys only';
  if (d.check === 'event-create') return 'about the site only';
  return 'yes';
}

describe("the router pod's rights", { timeout: 600_000 }, () => {
  test('the Role and the pod spec: writes scoped, no token and no CA in the router container, hardened containers', async () => {
    const roles = (await admin.get(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`)).body.items;
    const bindings = (await admin.get(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`)).body.items;
    assert.deepEqual(
      roles.map((r: any) => r.metadata.name),
      ['skupper-controller'],
      "one Role, the controller's",
    );
    assert.deepEqual(
      bindings.map((b: any) => [b.metadata.name, b.roleRef.name, b.subjects]),
      [['skupper-controller', 'skupper-controller', [{ kind: 'ServiceAccount', name: 'skupper-controller', namespace: ns }]]],
    );
    const write = ['create', 'update', 'patch', 'delete', 'deletecollection', '*'];
    for (const rule of roles[0].rules) {
      const what = JSON.stringify(rule);
      assert.ok(!rule.verbs.includes('*') && !rule.resources.includes('*') && !rule.apiGroups.includes('*'), `no wildcard: ${what}`);
      assert.ok(!(rule.resourceNames ?? []).includes('skupper-router-bundle'), `nothing on the router's code: ${what}`);
      const writes = rule.verbs.filter((v: string) => write.includes(v));
      if (rule.resources.includes('configmaps') && writes.length) {
        assert.deepEqual(rule.resourceNames, ['skupper-network-status', 'skupper-services'], `ConfigMap writes by name only: ${what}`);
        assert.deepEqual(writes, ['patch'], `ConfigMaps: patch only: ${what}`);
        assert.ok(!writes.includes('create') && !writes.includes('delete'), what);
      }
      if (rule.resources.includes('secrets')) assert.deepEqual(writes, ['update'], `Secrets: update (claim records) only: ${what}`);
      // Read (skupper.io/proxy annotations), never written.
      if (rule.resources.includes('deployments') || rule.resources.includes('statefulsets'))
        assert.deepEqual([rule.verbs, rule.resourceNames], [['get', 'list', 'watch'], undefined], what);
      for (const r of ['pods', 'roles', 'rolebindings', 'serviceaccounts'])
        if (rule.resources.includes(r)) assert.deepEqual(writes, [], `${r}: read only: ${what}`);
    }

    for (const pod of [
      (await admin.get(`/apis/apps/v1/namespaces/${ns}/deployments/skupper-router`)).body.spec.template,
      await routerPod(admin, ns),
    ]) {
      const spec = pod.spec;
      assert.equal(spec.automountServiceAccountToken, false);
      assert.equal(spec.serviceAccountName, 'skupper-controller');
      assert.ok(
        spec.volumes.every(
          (v: any) =>
            v.secret?.secretName !== 'skupper-site-ca' &&
            !(v.projected?.sources ?? []).some((s: any) => s.secret?.name === 'skupper-site-ca'),
        ),
        'the CA Secret is mounted nowhere',
      );
      const tokenVolumes = new Set(
        spec.volumes.filter((v: any) => (v.projected?.sources ?? []).some((s: any) => s.serviceAccountToken)).map((v: any) => v.name),
      );
      const router = spec.containers.find((c: any) => c.name === 'router');
      const controller = spec.containers.find((c: any) => c.name === 'controller');
      assert.ok(router && controller, 'a router and a controller container');
      assert.ok(
        router.volumeMounts.every((m: any) => !tokenVolumes.has(m.name) && !m.mountPath.startsWith('/var/run/secrets')),
        `no token in the router container: ${JSON.stringify(router.volumeMounts)}`,
      );
      assert.ok(
        controller.volumeMounts.some((m: any) => tokenVolumes.has(m.name) && m.mountPath === SA_DIR),
        'the controller container has the token',
      );
      for (const c of spec.containers) {
        const sc = c.securityContext ?? {};
        assert.equal(sc.runAsNonRoot, true, c.name);
        assert.equal(sc.runAsUser, UID, c.name);
        assert.equal(sc.readOnlyRootFilesystem, true, c.name);
        assert.equal(sc.allowPrivilegeEscalation, false, c.name);
        assert.deepEqual(sc.capabilities, { drop: ['ALL'] }, c.name);
        assert.deepEqual(sc.seccompProfile, { type: 'RuntimeDefault' }, c.name);
        assert.ok(
          c.volumeMounts.filter((m: any) => m.name === 'router-bundle').every((m: any) => m.readOnly === true),
          `${c.name}: the code is mounted read-only`,
        );
      }
    }

    // The containers as they run: as uid 10000; the token only where the controller is.
    const pod = await routerPod(admin, ns);
    const routerPid = containerPid(pod.metadata.name, false);
    const controllerPid = containerPid(pod.metadata.name, true);
    for (const pid of [routerPid, controllerPid])
      assert.match(readFileSync(`/proc/${pid}/status`, 'utf8'), new RegExp(`^Uid:\\s+${UID}\\s+${UID}\\s`, 'm'));
    assert.equal(existsSync(inProcess(routerPid, `${SA_DIR}/token`)), false, 'the router container sees no token');
    assert.equal(existsSync(inProcess(controllerPid, `${SA_DIR}/token`)), true, 'the controller container sees its token');
    assert.equal(existsSync(inProcess(routerPid, '/etc/skupper-site-ca')), false, 'the router container sees no CA');
  });

  test('as the router container: no API credential; through the gate, neither the CA nor its own code, no Secret or arbitrary Service', async () => {
    const pod = await routerPod(admin, ns);
    const host = pod.status.podIP;
    const routerPid = containerPid(pod.metadata.name, false);
    const token = readFileSync(inProcess(routerPid, `${CHANNEL}/gate-token`), 'utf8').trim();
    const api = `/api/v1/namespaces/${ns}`;
    const caBefore = (await admin.get(`${api}/secrets/skupper-site-ca`)).body;
    const bundleBefore = (await admin.get(`${api}/configmaps/skupper-router-bundle`)).body;

    // Anonymous (what a process without a token gets from the API server): nothing.
    const server = new URL(admin.server.toString());
    const anonymous = await new Promise<number>((resolve, reject) => {
      const r = httpsRequest(
        { host: server.hostname, port: server.port, path: `${api}/secrets/skupper-site-ca`, rejectUnauthorized: false },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      r.on('error', reject);
      r.end();
    });
    assert.ok(anonymous === 401 || anonymous === 403, `anonymous: ${anonymous}`);

    // The gate answers the channel token only.
    assert.equal((await viaGate(host, 'GET', `${api}/configmaps/skupper-site`, undefined)).status, 401);
    assert.equal((await viaGate(host, 'GET', `${api}/configmaps/skupper-site`, 'f'.repeat(64))).status, 401);

    const refused: [string, string, unknown?, Record<string, string>?][] = [
      ['GET', `${api}/secrets/skupper-site-ca`],
      ['GET', `${api}/secrets/skupper-site-ca`, undefined, { 'impersonate-user': 'system:admin', 'impersonate-group': 'system:masters' }],
      ['PUT', `${api}/secrets/skupper-site-ca`, { ...caBefore, data: {} }],
      ['DELETE', `${api}/secrets/skupper-site-ca`],
      ['GET', `${api}/secrets`],
      ['GET', `${api}/secrets?labelSelector=skupper.io%2Ftype%3Dtoken-claim-record`],
      ['GET', `${api}/secrets?labelSelector=skupper.io%2Ftype%3Dconnection-token&labelSelector=`],
      ['GET', `${api}/secrets?labelSelector=skupper.io%2Ftype%3Dconnection-token&fieldSelector=metadata.name%3Dskupper-site-ca`],
      ['POST', `${api}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'planted' }, stringData: { a: 'b' } }],
      ['GET', `${api}/configmaps/skupper-router-bundle`],
      ['GET', `${api}/configmaps`],
      [
        'PUT',
        `${api}/configmaps/skupper-router-bundle`,
        { ...bundleBefore, binaryData: { 'router.js.gz': gzipSync('process.exit(0)').toString('base64') } },
      ],
      [
        'PATCH',
        `${api}/configmaps/skupper-router-bundle`,
        { binaryData: { 'router.js.gz': '' } },
        { 'content-type': 'application/merge-patch+json' },
      ],
      [
        'PATCH',
        `${api}/configmaps/skupper-network-status`,
        { metadata: { ownerReferences: null } },
        { 'content-type': 'application/merge-patch+json' },
      ],
      ['DELETE', `${api}/configmaps/skupper-router-bundle`],
      ['POST', `${api}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'planted' } }],
      [
        'POST',
        `${api}/services`,
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'planted' },
          spec: { type: 'LoadBalancer', selector: { app: 'x' }, ports: [{ port: 80 }] },
        },
      ],
      [
        'POST',
        `${api}/services`,
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: {
            name: 'planted',
            labels: { 'internal.skupper.io/address': 'planted' },
            annotations: { 'internal.skupper.io/controlled': 'true' },
          },
          spec: {
            selector: { application: 'skupper-router', 'skupper.io/component': 'router' },
            externalIPs: ['10.9.9.9'],
            ports: [{ port: 80 }],
          },
        },
      ],
      ['DELETE', `${api}/services/skupper-router`],
      ['GET', `${api}/pods/${pod.metadata.name}/log`],
      [
        'POST',
        `${api}/pods`,
        { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'planted' }, spec: { containers: [{ name: 'x', image: 'node:20-alpine' }] } },
      ],
      ['GET', `/api/v1/namespaces/default/configmaps/skupper-site`],
      ['GET', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`],
      [
        'PATCH',
        `/apis/apps/v1/namespaces/${ns}/deployments/skupper-router`,
        { spec: { replicas: 3 } },
        { 'content-type': 'application/merge-patch+json' },
      ],
      [
        'PUT',
        `${api}/configmaps/skupper-services`,
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'skupper-services' }, data: {} },
      ],
      // A definition not made from an annotation, or without the resourceVersion it was made against.
      [
        'PATCH',
        `${api}/configmaps/skupper-services`,
        {
          metadata: { resourceVersion: '1' },
          data: { planted: JSON.stringify({ address: 'planted', protocol: 'tcp', ports: [1], targets: [] }) },
        },
        { 'content-type': 'application/merge-patch+json' },
      ],
      [
        'PATCH',
        `${api}/configmaps/skupper-services`,
        { data: { planted: JSON.stringify({ address: 'planted', protocol: 'tcp', ports: [1], targets: [], origin: 'annotation' }) } },
        { 'content-type': 'application/merge-patch+json' },
      ],
    ];
    for (const [method, path, body, headers] of refused) {
      const r = await viaGate(host, method, path, token, body, headers);
      assert.equal(r.status, 403, `${method} ${path} is refused (got ${r.status}: ${r.text.slice(0, 200)})`);
      assert.match(r.body?.message ?? '', /the site controller does not forward this/);
    }
    assert.deepEqual((await admin.get(`${api}/secrets/skupper-site-ca`)).body.data, caBefore.data, 'the CA is unchanged');
    assert.equal(
      (await admin.get(`${api}/configmaps/skupper-router-bundle`)).body.metadata.resourceVersion,
      bundleBefore.metadata.resourceVersion,
      'the code is unchanged',
    );
    assert.equal((await admin.get(`${api}/secrets/planted`)).status, 404);
    assert.equal((await admin.get(`${api}/services/planted`)).status, 404);

    // What the router needs still passes: its site, its link Secrets, an exposed address's Service,
    // the workloads' annotations.
    assert.equal((await viaGate(host, 'GET', `${api}/configmaps/skupper-site`, token)).status, 200);
    assert.equal((await viaGate(host, 'GET', `/apis/apps/v1/namespaces/${ns}/deployments`, token)).status, 200);
    assert.equal((await viaGate(host, 'GET', `/apis/apps/v1/namespaces/${ns}/statefulsets`, token)).status, 200);
    const links = await viaGate(host, 'GET', `${api}/secrets?labelSelector=skupper.io%2Ftype%3Dconnection-token`, token);
    assert.equal(links.status, 200, links.text);
    const address = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'rights-probe',
        labels: { 'internal.skupper.io/address': 'rights-probe' },
        annotations: { 'internal.skupper.io/controlled': 'true' },
      },
      spec: {
        selector: { application: 'skupper-router', 'skupper.io/component': 'router' },
        ports: [{ name: 'port9', port: 9, targetPort: 1029, protocol: 'TCP' }],
      },
    };
    const made = await viaGate(host, 'POST', `${api}/services`, token, address);
    assert.equal(made.status, 201, made.text);
    assert.equal((await viaGate(host, 'DELETE', `${api}/services/rights-probe`, token)).status, 200);
  });

  test("as the controller's ServiceAccount: exactly what the pod needs, nothing on its code", async () => {
    const sa = kubeWithToken(await serviceAccountToken(ns, 'skupper-controller'));
    const review = await sa.post('/apis/authorization.k8s.io/v1/selfsubjectrulesreviews', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectRulesReview',
      spec: { namespace: ns },
    });
    assert.equal(review.status, 201, review.text);
    const granted = new Set<string>();
    for (const rule of review.body.status.resourceRules) {
      // What every authenticated account gets (system:basic-user, public cluster trust bundles): not the Role's.
      if ((rule.apiGroups ?? []).some((g: string) => g.endsWith('authorization.k8s.io') || g === 'authentication.k8s.io')) continue;
      if (rule.apiGroups?.[0] === 'certificates.k8s.io' && rule.resources?.[0] === 'clustertrustbundles') continue;
      for (const g of rule.apiGroups)
        for (const r of rule.resources)
          for (const v of rule.verbs) for (const n of rule.resourceNames ?? ['*']) granted.add(`${g || 'core'} ${r} ${n} ${v}`);
    }
    const expected = new Set<string>();
    const add = (g: string, r: string, names: string[], verbs: string[]) => {
      for (const n of names) for (const v of verbs) expected.add(`${g} ${r} ${n} ${v}`);
    };
    add('core', 'configmaps', ['skupper-site', 'skupper-services', 'skupper-network-status'], ['get', 'list', 'watch']);
    add('core', 'configmaps', ['skupper-network-status', 'skupper-services'], ['patch']);
    add('core', 'secrets', ['*'], ['get', 'list', 'watch', 'update']);
    add('core', 'services', ['*'], ['get', 'list', 'watch', 'create', 'update', 'delete']);
    add('core', 'pods', ['*'], ['get', 'list', 'watch']);
    add('core', 'events', ['*'], ['create', 'patch']);
    add('apps', 'deployments', ['*'], ['get', 'list', 'watch']);
    add('apps', 'statefulsets', ['*'], ['get', 'list', 'watch']);
    assert.deepEqual([...granted].sort(), [...expected].sort());

    const api = `/api/v1/namespaces/${ns}`;
    assert.equal((await sa.get(`${api}/secrets/skupper-site-ca`)).status, 200, 'it signs redeemed claims with the CA');
    assert.equal(
      (await sa.get(`${api}/configmaps?fieldSelector=metadata.name%3Dskupper-site`)).status,
      200,
      'the site is listed (watched) by name',
    );
    assert.equal((await sa.get(`${api}/configmaps`)).status, 403, 'other ConfigMaps are not listed');
    const bundle = (await admin.get(`${api}/configmaps/skupper-router-bundle`)).body;
    assert.equal((await sa.put(`${api}/configmaps/skupper-router-bundle`, bundle)).status, 403, 'not its code');
    assert.equal((await sa.mergePatch(`${api}/configmaps/skupper-router-bundle`, { metadata: { labels: { x: 'y' } } })).status, 403);
    assert.equal((await sa.del(`${api}/configmaps/skupper-router-bundle`)).status, 403);
    assert.equal((await sa.post(`${api}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'planted' } })).status, 403);
    assert.equal((await sa.post(`${api}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'planted' } })).status, 403);
    assert.equal((await sa.del(`${api}/secrets/skupper-site-ca`)).status, 403);
    assert.equal((await sa.mergePatch(`/apis/apps/v1/namespaces/${ns}/deployments/skupper-router`, { spec: { replicas: 2 } })).status, 403);

    // The figure for the note: verb x resource, the router container (through the gate) and the controller's account.
    const user = `system:serviceaccount:${ns}:skupper-controller`;
    const { decide } = await import('../../src/core/controller/gate');
    const lines = [`| resource | ${VERBS.join(' | ')} |`, `|---|${VERBS.map(() => '---').join('|')}|`];
    for (const [group, resource, name] of CELLS) {
      const cells: string[] = [];
      for (const verb of VERBS) {
        // A name for list and watch too: a list or watch with fieldSelector metadata.name=NAME is authorized by name.
        const sar = await allowed(ns, user, verb, group, resource, verb === 'create' ? undefined : name);
        const gate = resource === 'roles' ? '—' : gateCell(decide, ns, group === 'apps' ? 'apps' : '', resource, name, verb);
        cells.push(`${gate} / ${sar ? 'yes' : '—'}`);
      }
      lines.push(`| ${resource}/${name} | ${cells.join(' | ')} |`);
    }
    console.log(`FIGURE router pod rights after (router container through the gate / controller ServiceAccount):\n${lines.join('\n')}`);
  });

  test('a namespace admin installs the same site: Ready, and a claim is redeemed through the controller', async () => {
    const client = KubeClient.forContext({ kubeconfig: kubeconfigPath, context: nsAdminContext, timeoutMs: 20_000 });
    assert.equal(client.namespace, 'team');
    if (await readSite(client)) await deleteSite(client, { waitMs: 60_000 }); // a leftover of an earlier run
    try {
      const result = await initSite(client, { namespace: 'team', bundleGzip: gz, readyTimeoutMs: 120_000 });
      assert.equal(result.ready, true);
      const k = kubeWithNsAdmin();
      const pod = await routerPod(k, 'team');
      assert.deepEqual(
        pod.spec.containers.map((c: any) => c.name),
        ['router', 'controller'],
      );
      assert.deepEqual((await k.get('/apis/rbac.authorization.k8s.io/v1/namespaces/team/roles/skupper-controller')).status, 200);
      const site = new KubeLinkSite(client);
      const created = await createToken(site, { type: 'claim', expiryMs: 10 * 60_000, uses: 1 });
      const token = tokenFromSecret(created.secret);
      assert.equal(token.type, 'claim');
      const cert = await redeemClaimToken(token as Parameters<typeof redeemClaimToken>[0], {
        siteId: 'rights-test',
        siteName: 'rights-test',
      });
      assert.equal(cert.type, 'cert');
      const record = await eventually('the claim record counts the use', 10_000, async () => {
        const r = await site.claims().get(created.secret.metadata.name);
        return r && r.record.usesMade === 1 ? r : undefined;
      });
      assert.equal(record.record.redeemedBy[0]?.siteName, 'rights-test');
    } finally {
      await deleteSite(client, { waitMs: 60_000 }).catch(() => undefined);
    }
  });
});

function kubeWithNsAdmin(): Kube {
  return new Kube(kubeconfigPath, nsAdminContext);
}
