// The kubelet stand-in runs pods as local processes: Deployments, the echo, load balancers,
// unsupported images, volumes and env, name resolution between workloads.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import { clusterSetup, createNamespace, deleteNamespace, eventually, tcpExchange, uniqueName } from './helpers';
import type { Kube } from './kube';

let k: Kube;
const ns = uniqueName('wl');
const cluster = (process.env.VAN_TEST_CLUSTERS?.split(',')[0] || 'public').trim();

before(
  async () => {
    const s = await clusterSetup();
    k = s.kube(cluster);
    await createNamespace(k, ns);
  },
  { timeout: 300_000 },
);

after(async () => {
  if (k) await deleteNamespace(k, ns);
});

function deployment(name: string, image: string, replicas: number, extra: any = {}): any {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name, image, ...extra }] } },
    },
  };
}

async function runningPods(app: string, n: number): Promise<any[]> {
  return eventually(`${n} running, ready pods of ${app}`, 60_000, async () => {
    const r = await k.get(`/api/v1/namespaces/${ns}/pods?labelSelector=app%3D${app}`);
    const pods = (r.body.items as any[]).filter((p) => !p.metadata.deletionTimestamp);
    const ok = pods.filter(
      (p) => p.status?.phase === 'Running' && p.status.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'),
    );
    return ok.length === n && pods.length === n ? ok : undefined;
  });
}

function httpGet(host: string, port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

test("a Deployment's pods become Running with their own IPs, and the echo answers", async () => {
  const r = await k.post(
    `/apis/apps/v1/namespaces/${ns}/deployments`,
    deployment('echo', 'quay.io/skupper/tcp-go-echo', 2, {
      ports: [{ containerPort: 9090 }],
      resources: { requests: { cpu: '10m', memory: '16Mi' } },
    }),
  );
  assert.equal(r.status, 201, r.text);
  const pods = await runningPods('echo', 2);
  const ips = pods.map((p) => p.status.podIP);
  assert.equal(new Set(ips).size, 2);
  for (const p of pods) {
    assert.match(p.status.podIP, /^10\.\d+\.\d+\.\d+$/);
    assert.deepEqual(p.status.podIPs, [{ ip: p.status.podIP }]);
    assert.equal(p.status.containerStatuses[0].ready, true);
    assert.ok(p.status.containerStatuses[0].state.running);
    const answer = await tcpExchange(p.status.podIP, 9090, 'hello');
    assert.equal(answer, `${p.metadata.name} : HELLO`);
  }
  // pods/log through the API server (which asks the stand-in on <node IP>:10250).
  const logs = await k.req('GET', `/api/v1/namespaces/${ns}/pods/${pods[0].metadata.name}/log`, undefined, 'application/json');
  assert.equal(logs.status, 200, logs.text);
  assert.match(logs.text, /tcp-go-echo: listening on/);
});

test('a LoadBalancer Service gets an ingress IP that reaches the pod', async () => {
  await runningPods('echo', 2);
  const r = await k.post(`/api/v1/namespaces/${ns}/services`, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'echo-lb' },
    spec: { type: 'LoadBalancer', selector: { app: 'echo' }, ports: [{ port: 19090, targetPort: 9090 }] },
  });
  assert.equal(r.status, 201, r.text);
  const ip = await eventually(
    'a load balancer ingress',
    30_000,
    async () => (await k.get(`/api/v1/namespaces/${ns}/services/echo-lb`)).body.status?.loadBalancer?.ingress?.[0]?.ip as string,
  );
  assert.match(ip, /^127\.\d+\.200\.\d+$/);
  const answer = await eventually('an answer through the load balancer', 30_000, () => tcpExchange(ip, 19090, 'through the lb'));
  assert.match(answer, /^echo-[a-z0-9-]+ : THROUGH THE LB$/);
  // The ClusterIP answers as well (the stand-in plays kube-proxy).
  const svc = (await k.get(`/api/v1/namespaces/${ns}/services/echo-lb`)).body;
  assert.match(await tcpExchange(svc.spec.clusterIP, 19090, 'cip'), / : CIP$/);
});

test('a pod with an unsupported image fails with a clear reason', async () => {
  const r = await k.post(`/api/v1/namespaces/${ns}/pods`, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'nginx' },
    spec: { containers: [{ name: 'nginx', image: 'nginx:1.27' }] },
  });
  assert.equal(r.status, 201, r.text);
  const st = await eventually(
    'the image error',
    30_000,
    async () => (await k.get(`/api/v1/namespaces/${ns}/pods/nginx`)).body.status?.containerStatuses?.[0]?.state?.waiting,
  );
  assert.equal(st.reason, 'ErrImagePull');
  assert.match(st.message, /not supported by the test kubelet/);
});

test('a node:* pod sees its ConfigMap and Secret volumes at their mountPath, its env and a service-account token', async () => {
  await k.post(`/api/v1/namespaces/${ns}/configmaps`, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'app-config' },
    data: { 'greeting.txt': 'hello from a configmap', key: 'env-value' },
    binaryData: { 'blob.bin': Buffer.from([0, 1, 2, 255]).toString('base64') },
  });
  await k.post(`/api/v1/namespaces/${ns}/secrets`, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'app-secret' },
    stringData: { password: 's3cret' },
  });
  const script = `
    const fs = require('fs');
    const out = {
      greeting: fs.readFileSync('/etc/app-config/greeting.txt', 'utf8'),
      blob: [...fs.readFileSync('/etc/app-config/blob.bin')],
      password: fs.readFileSync('/etc/secret/password', 'utf8'),
      token: fs.readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/token', 'utf8').length > 100,
      ca: fs.readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/ca.crt', 'utf8').includes('BEGIN CERTIFICATE'),
      saNamespace: fs.readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8'),
      env: { POD_IP: process.env.POD_IP, POD_NAME: process.env.POD_NAME, POD_NAMESPACE: process.env.POD_NAMESPACE, NODE_NAME: process.env.NODE_NAME, FROM_CM: process.env.FROM_CM, FROM_SECRET: process.env.FROM_SECRET, K8S: process.env.KUBERNETES_SERVICE_HOST + ':' + process.env.KUBERNETES_SERVICE_PORT },
    };
    require('http').createServer((q, s) => s.end(JSON.stringify(out))).listen(8080, process.env.POD_IP);
  `;
  const r = await k.post(`/api/v1/namespaces/${ns}/pods`, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'node-pod', labels: { app: 'node-pod' } },
    spec: {
      volumes: [
        { name: 'cfg', configMap: { name: 'app-config' } },
        { name: 'sec', secret: { secretName: 'app-secret' } },
      ],
      containers: [
        {
          name: 'main',
          image: 'node:20-alpine',
          command: ['node', '-e', script],
          readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 },
          volumeMounts: [
            { name: 'cfg', mountPath: '/etc/app-config' },
            { name: 'sec', mountPath: '/etc/secret', readOnly: true },
          ],
          env: [
            { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
            { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
            { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
            { name: 'FROM_CM', valueFrom: { configMapKeyRef: { name: 'app-config', key: 'key' } } },
            { name: 'FROM_SECRET', valueFrom: { secretKeyRef: { name: 'app-secret', key: 'password' } } },
          ],
        },
      ],
    },
  });
  assert.equal(r.status, 201, r.text);
  const [pod] = await runningPods('node-pod', 1);
  const res = await httpGet(pod.status.podIP, 8080, '/');
  const out = JSON.parse(res.body);
  assert.equal(out.greeting, 'hello from a configmap');
  assert.deepEqual(out.blob, [0, 1, 2, 255]);
  assert.equal(out.password, 's3cret');
  assert.equal(out.token, true);
  assert.equal(out.ca, true);
  assert.equal(out.saNamespace, ns);
  assert.equal(out.env.POD_IP, pod.status.podIP);
  assert.equal(out.env.POD_NAME, 'node-pod');
  assert.equal(out.env.POD_NAMESPACE, ns);
  assert.equal(out.env.NODE_NAME, pod.spec.nodeName);
  assert.equal(out.env.FROM_CM, 'env-value');
  assert.equal(out.env.FROM_SECRET, 's3cret');
  assert.match(out.env.K8S, /^10\.\d+\.240\.1:443$/);
});

test('a pod reaches the API server with its service-account token, and listens on its own IP only', async () => {
  const script = `
    const fs = require('fs'), https = require('https'), net = require('net');
    const sa = '/var/run/secrets/kubernetes.io/serviceaccount/';
    const ask = () => new Promise((resolve) => {
      const req = https.get({
        host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT,
        path: '/api/v1/namespaces/' + fs.readFileSync(sa + 'namespace', 'utf8') + '/pods',
        ca: fs.readFileSync(sa + 'ca.crt'), headers: { authorization: 'Bearer ' + fs.readFileSync(sa + 'token', 'utf8') },
      }, (res) => { let b = ''; res.on('data', (d) => (b += d)); res.on('end', () => resolve({ status: res.statusCode, body: b })); });
      req.on('error', (e) => resolve({ status: 0, body: e.message }));
    });
    const srv = net.createServer((c) => c.end('pod-local\\n')).listen(7000, () => {
      net.connect(7000, 'localhost').on('data', async (d) => {
        const api = await ask();
        require('http').createServer((q, s) => s.end(JSON.stringify({ api, local: String(d), bound: srv.address().address }))).listen(8080);
      });
    });
  `;
  const r = await k.post(`/api/v1/namespaces/${ns}/pods`, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'api-client', labels: { app: 'api-client' } },
    spec: {
      containers: [
        {
          name: 'main',
          image: 'node:20',
          command: ['node', '-e', script],
          readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
        },
      ],
    },
  });
  assert.equal(r.status, 201, r.text);
  const [pod] = await runningPods('api-client', 1);
  const out = JSON.parse((await httpGet(pod.status.podIP, 8080, '/')).body);
  // Authenticated as the pod's service account (which has no rights to list pods).
  assert.equal(out.api.status, 403, out.api.body);
  assert.match(out.api.body, new RegExp(`system:serviceaccount:${ns}:default`));
  assert.equal(out.local, 'pod-local\n');
  assert.equal(out.bound, pod.status.podIP);
});

test('the frontend reaches the backend by its service name', async () => {
  await k.post(
    `/apis/apps/v1/namespaces/${ns}/deployments`,
    deployment('backend', 'quay.io/skupper/hello-world-backend', 1, { readinessProbe: { httpGet: { path: '/api/health', port: 8080 } } }),
  );
  await k.post(`/api/v1/namespaces/${ns}/services`, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'backend' },
    spec: { selector: { app: 'backend' }, ports: [{ port: 8080 }] },
  });
  await k.post(`/apis/apps/v1/namespaces/${ns}/deployments`, deployment('frontend', 'quay.io/skupper/hello-world-frontend', 1));
  const [backend] = await runningPods('backend', 1);
  const [frontend] = await runningPods('frontend', 1);
  const answer = await eventually('an answer from the backend through the frontend', 30_000, async () => {
    const r = await httpGet(frontend.status.podIP, 8080, '/api/hello?name=Tester');
    return r.status === 200 ? r.body : undefined;
  });
  assert.equal(answer, `Hello, Tester. I am ${backend.metadata.name}.`);
});

test('deleting a pod stops its process; a crashed container is restarted', async () => {
  const r = await k.post(`/api/v1/namespaces/${ns}/pods`, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'crasher', labels: { app: 'crasher' } },
    spec: { containers: [{ name: 'c', image: 'node:20', command: ['node', '-e', 'setTimeout(() => process.exit(3), 300)'] }] },
  });
  assert.equal(r.status, 201, r.text);
  const st = await eventually('a restart', 30_000, async () => {
    const cs = (await k.get(`/api/v1/namespaces/${ns}/pods/crasher`)).body.status?.containerStatuses?.[0];
    return cs && cs.restartCount >= 1 && cs.lastState?.terminated ? cs : undefined;
  });
  assert.equal(st.lastState.terminated.exitCode, 3);
  const [echo] = await runningPods('echo', 2);
  assert.equal((await k.del(`/api/v1/namespaces/${ns}/pods/${echo.metadata.name}`)).status, 200);
  await eventually(
    'the pod object to be gone',
    30_000,
    async () => (await k.get(`/api/v1/namespaces/${ns}/pods/${echo.metadata.name}`)).status === 404,
  );
  await assert.rejects(tcpExchange(echo.status.podIP, 9090, 'anyone?', 1000));
  await runningPods('echo', 2); // the ReplicaSet replaces it
});

test('volumes at paths missing on the host (/app, subPath files) stay inside the pod', async () => {
  await k.post(`/api/v1/namespaces/${ns}/configmaps`, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'app-code' },
    data: {
      'main.js': `require('http').createServer((q, s) => s.end(JSON.stringify({ cwd: process.cwd(), conf: require('fs').readFileSync('/opt/van-test-conf/settings.json', 'utf8') }))).listen(8080, process.env.VAN_TEST_POD_IP)`,
      'settings.json': '{"a":1}',
    },
  });
  const r = await k.post(`/api/v1/namespaces/${ns}/pods`, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'app-pod', labels: { app: 'app-pod' } },
    spec: {
      volumes: [{ name: 'code', configMap: { name: 'app-code' } }],
      containers: [
        {
          name: 'main',
          image: 'node:22',
          workingDir: '/app',
          command: ['node', 'main.js'],
          readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
          volumeMounts: [
            { name: 'code', mountPath: '/app' },
            { name: 'code', mountPath: '/opt/van-test-conf/settings.json', subPath: 'settings.json' },
          ],
        },
      ],
    },
  });
  assert.equal(r.status, 201, r.text);
  const [pod] = await runningPods('app-pod', 1);
  const out = JSON.parse((await httpGet(pod.status.podIP, 8080, '/')).body);
  assert.equal(out.cwd, '/app');
  assert.equal(out.conf, '{"a":1}');
  const { existsSync } = await import('node:fs');
  assert.equal(existsSync('/app'), false);
  assert.equal(existsSync('/opt/van-test-conf'), false);
});
