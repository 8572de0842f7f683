// expose / unexpose / service status against a real API server (no router needed: the services
// ConfigMap stands in for a site).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { clusterSetup, createNamespace, deleteNamespace, uniqueName } from './helpers';
import type { Kube } from './kube';
import { projectRoot } from './paths';

let kube: Kube;
let kubeconfigPath = '';
const ns = uniqueName('svc');
const bare = uniqueName('nosite');
const cluster = (process.env.VAN_TEST_CLUSTERS?.split(',')[0] || 'public').trim();

function van(...args: string[]) {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(projectRoot, 'src/cli/main.ts'), '--kubeconfig', kubeconfigPath, '--context', cluster, '-n', ns, ...args],
    { encoding: 'utf8', cwd: projectRoot, timeout: 60_000 },
  );
  return { code: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
}

function deployment(name: string, image: string, labels: Record<string, string>, ports: number[]) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas: 0,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name, image, ports: ports.map((containerPort) => ({ containerPort })) }] } },
    },
  };
}

before(
  async () => {
    const setup = await clusterSetup();
    kubeconfigPath = setup.kubeconfigPath;
    kube = setup.kube(cluster);
    await createNamespace(kube, ns);
    await createNamespace(kube, bare);
    const r1 = await kube.post(`/api/v1/namespaces/${ns}/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'skupper-services' },
      data: {},
    });
    assert.equal(r1.status, 201, r1.text);
    for (const d of [
      deployment('tcp-go-echo', 'quay.io/skupper/tcp-go-echo', { application: 'tcp-go-echo' }, [9090]),
      deployment('backend', 'quay.io/skupper/hello-world-backend', { app: 'backend' }, [8080]),
    ]) {
      const r = await kube.post(`/apis/apps/v1/namespaces/${ns}/deployments`, d);
      assert.equal(r.status, 201, r.text);
    }
    const sts = {
      ...deployment('db', 'quay.io/skupper/tcp-go-echo', { app: 'db' }, [5432, 9187]),
      kind: 'StatefulSet',
      spec: {
        ...deployment('db', 'x', { app: 'db' }, []).spec,
        serviceName: 'db',
        template: deployment('db', 'quay.io/skupper/tcp-go-echo', { app: 'db' }, [5432, 9187]).spec.template,
      },
    };
    const rs = await kube.post(`/apis/apps/v1/namespaces/${ns}/statefulsets`, sts);
    assert.equal(rs.status, 201, rs.text);
    const svc = await kube.post(`/api/v1/namespaces/${ns}/services`, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'backend' },
      spec: { selector: { app: 'backend' }, ports: [{ port: 80, targetPort: 8080 }] },
    });
    assert.equal(svc.status, 201, svc.text);
  },
  { timeout: 300_000 },
);

after(async () => {
  if (kube) {
    await deleteNamespace(kube, ns);
    await deleteNamespace(kube, bare);
  }
});

describe('van expose / unexpose / service status', () => {
  test('the tutorial form records the Skupper 1.x definition', async () => {
    const r = van('expose', '--port', '9090', 'deployment', 'tcp-go-echo');
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, 'deployment tcp-go-echo exposed as tcp-go-echo');
    const cm = await kube.get(`/api/v1/namespaces/${ns}/configmaps/skupper-services`);
    assert.deepEqual(JSON.parse(cm.body.data['tcp-go-echo']), {
      address: 'tcp-go-echo',
      protocol: 'tcp',
      ports: [9090],
      // namespace: the target's, written as Skupper 1.x writes it.
      targets: [{ name: 'tcp-go-echo', selector: 'application=tcp-go-echo', targetPorts: { '9090': 9090 }, namespace: ns }],
    });
  });

  test('deployment/NAME, http protocol, address; a service target', () => {
    const r = van('expose', 'deployment/backend', '--port', '8080', '--protocol', 'http', '--address', 'hello', '-o', 'json');
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(r.out).protocol, 'http');
    const s = van('expose', 'service/backend', '--port', '80', '--address', 'backend-van', '-o', 'json');
    assert.equal(s.code, 0, s.err);
    assert.deepEqual(JSON.parse(s.out).targets, [
      { name: 'backend', selector: 'app=backend', targetPorts: { '80': 8080 }, service: 'backend', namespace: ns },
    ]);
  });

  test('a statefulset with two ports', async () => {
    const r = van('expose', 'statefulset/db', '--port', '5432', '--port', '9187', '-o', 'json');
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(JSON.parse(r.out), {
      address: 'db',
      protocol: 'tcp',
      ports: [5432, 9187],
      targets: [{ name: 'db', selector: 'app=db', targetPorts: { '5432': 5432, '9187': 9187 }, namespace: ns }],
    });
    assert.equal(van('unexpose', 'statefulset/db').code, 0);
  });

  test('refusals: one line, exit 1', () => {
    const cases: [string[], RegExp][] = [
      [
        ['expose', 'deployment/nope', '--port', '9090'],
        new RegExp(`^van expose: no deployment nope in namespace ${ns}; deployments there: backend, tcp-go-echo$`),
      ],
      [
        ['expose', 'deployment/tcp-go-echo', '--port', '8080'],
        /^van expose: deployment tcp-go-echo does not declare port 8080 \(it declares 9090\)/,
      ],
      [
        ['expose', 'deployment/tcp-go-echo', '--port', '9090', '--protocol', 'udp'],
        /^van expose: unknown protocol "udp"; use one of tcp, http, http2$/,
      ],
      [
        ['expose', 'deployment/backend', '--port', '8080', '--address', 'tcp-go-echo'],
        /^van expose: the address "tcp-go-echo" is already used by another service definition \(tcp-go-echo\); choose another with --address$/,
      ],
      [['unexpose', 'deployment/nope'], /^van unexpose: nothing exposes nope; exposed addresses: /],
    ];
    for (const [args, pattern] of cases) {
      const r = van(...args);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, pattern);
      assert.equal(r.err.split('\n').length, 1, r.err);
    }
    const usage = van('expose', 'pod/x', '--port', '1');
    assert.equal(usage.code, 2);
  });

  test('no site in the namespace', () => {
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        join(projectRoot, 'src/cli/main.ts'),
        '--kubeconfig',
        kubeconfigPath,
        '--context',
        cluster,
        '-n',
        bare,
        'expose',
        'deployment/x',
        '--port',
        '1',
      ],
      { encoding: 'utf8', cwd: projectRoot },
    );
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`no site in namespace ${bare}: run "van init" first`));
  });

  test('service status lists local services; unexpose removes them', () => {
    const st = van('service', 'status', '-o', 'json');
    assert.equal(st.code, 0, st.err);
    const entries = JSON.parse(st.out);
    assert.deepEqual(
      entries.map((e: any) => [e.address, e.protocol, e.ports, e.local]),
      [
        ['backend-van', 'tcp', [80], true],
        ['hello', 'http', [8080], true],
        ['tcp-go-echo', 'tcp', [9090], true],
      ],
    );
    const human = van('service', 'status');
    assert.match(human.out, /^ADDRESS\s+PROTOCOL\s+PORTS/m);
    assert.equal(van('unexpose', 'deployment', 'backend', '--address', 'hello').code, 0);
    assert.equal(van('unexpose', 'service/backend').code, 0);
    const after = JSON.parse(van('service', 'status', '-o', 'json').out);
    assert.deepEqual(
      after.map((e: any) => e.address),
      ['tcp-go-echo'],
    );
  });
});
