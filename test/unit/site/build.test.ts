import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { createCA, describeCertificate, issueCertificate } from '../../../src/core/pki';
import {
  LOADER,
  SITE_KINDS,
  bundleConfigMap,
  controllerRole,
  controllerRoleBinding,
  resolveOptions,
  routerDeployment,
  routerService,
  serverCertificateNames,
  siteConfigMap,
  siteObjects,
  siteOwner,
  siteRecordFrom,
} from '../../../src/core/site/build';
import { CONTROLLED_ANNOTATION, acceptsLinks } from '../../../src/core/site/names';

const ca = createCA('test CA');
const server = issueCertificate(ca, { commonName: 'skupper-router', dnsNames: ['skupper-router'], usage: 'both' });
const material = { ca, server, bundleGzip: gzipSync(Buffer.from('console.log("router")')) };
const UID = '0c6a1d9e-0000-4000-8000-000000000001';

describe('site builders', () => {
  test('defaults: site name is the namespace, loadbalancer, interior, 1 router, node:20-alpine', () => {
    const o = resolveOptions({ namespace: 'west' });
    assert.equal(o.siteName, 'west');
    assert.equal(o.ingress, 'loadbalancer');
    assert.equal(o.routerMode, 'interior');
    assert.equal(o.routers, 1);
    assert.equal(o.routerImage, 'node:20-alpine');
    assert.throws(() => resolveOptions({ namespace: 'w', routers: 0 }), /routers must be/);
  });

  test('the site ConfigMap is skupper-site with Skupper 1.x keys, owns nothing and reads back', () => {
    const o = resolveOptions({ namespace: 'west', siteName: 'w1', routers: 2, ingress: 'nodeport', ingressHost: 'h.example' });
    const cm = siteConfigMap(o);
    assert.equal(cm.metadata.name, 'skupper-site');
    assert.equal(cm.metadata.namespace, 'west');
    assert.equal(cm.metadata.ownerReferences, undefined);
    assert.deepEqual(cm.data, { name: 'w1', ingress: 'nodeport', 'router-mode': 'interior', routers: '2', 'ingress-host': 'h.example' });
    const rec = siteRecordFrom({ ...cm, metadata: { ...cm.metadata, uid: UID } });
    assert.deepEqual(rec, {
      name: 'w1',
      id: UID,
      namespace: 'west',
      ingress: 'nodeport',
      routerMode: 'interior',
      routers: 2,
      ingressHost: 'h.example',
    });
  });

  test('every other object is owned by the site ConfigMap (controller), labelled and annotated, in the namespace', () => {
    const o = resolveOptions({ namespace: 'west', labels: { team: 'a' }, annotations: { note: 'x' } });
    const objects = siteObjects(o, UID, material);
    assert.deepEqual(
      objects.map((x) => `${x.kind}/${x.metadata.name}`),
      [
        'ServiceAccount/skupper-controller',
        'Role/skupper-controller',
        'RoleBinding/skupper-controller',
        'Secret/skupper-site-ca',
        'ConfigMap/skupper-services',
        'ConfigMap/skupper-network-status',
        'ConfigMap/skupper-router-bundle',
        'Service/skupper-router',
        'Secret/skupper-site-server',
        'Deployment/skupper-router',
      ],
    );
    for (const x of objects) {
      assert.deepEqual(
        x.metadata.ownerReferences,
        [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'skupper-site', uid: UID, controller: true }],
        x.kind,
      );
      assert.equal(x.metadata.namespace, 'west');
      assert.equal(x.metadata.labels?.['app.kubernetes.io/part-of'], 'skupper');
      assert.equal(x.metadata.labels?.team, 'a');
      assert.equal(x.metadata.annotations?.[CONTROLLED_ANNOTATION], 'true');
      assert.equal(x.metadata.annotations?.note, 'x');
      assert.ok((SITE_KINDS as readonly string[]).includes(x.kind), `${x.kind} is swept by delete`);
    }
    // Nothing cluster-scoped: a namespace admin can create all of it.
    assert.ok(objects.every((x) => !['ClusterRole', 'ClusterRoleBinding', 'Namespace', 'CustomResourceDefinition'].includes(x.kind)));
  });

  test('the controller Role grants only what the pod needs, by name where names are known', () => {
    const role = controllerRole(resolveOptions({ namespace: 'west' }), siteOwner(UID));
    const rules = role.rules as { apiGroups: string[]; resources: string[]; resourceNames?: string[]; verbs: string[] }[];
    const find = (group: string, resource: string) =>
      rules
        .filter((r) => r.apiGroups.includes(group) && r.resources.includes(resource))
        .map((r) => ({ verbs: r.verbs, names: r.resourceNames }));
    assert.deepEqual(find('', 'configmaps'), [
      { verbs: ['get', 'list', 'watch'], names: ['skupper-site', 'skupper-services', 'skupper-network-status'] },
      { verbs: ['patch'], names: ['skupper-network-status', 'skupper-services'] },
    ]);
    assert.deepEqual(find('', 'secrets'), [{ verbs: ['get', 'list', 'watch', 'update'], names: undefined }]);
    assert.deepEqual(find('', 'services'), [{ verbs: ['get', 'list', 'watch', 'create', 'update', 'delete'], names: undefined }]);
    assert.deepEqual(find('', 'pods'), [{ verbs: ['get', 'list', 'watch'], names: undefined }]);
    assert.deepEqual(find('', 'events'), [{ verbs: ['create', 'patch'], names: undefined }]);
    // Read for their skupper.io/proxy annotations: names are not known ahead.
    assert.deepEqual(find('apps', 'deployments'), [{ verbs: ['get', 'list', 'watch'], names: undefined }]);
    assert.deepEqual(find('apps', 'statefulsets'), [{ verbs: ['get', 'list', 'watch'], names: undefined }]);
    assert.ok(rules.every((r) => !r.verbs.includes('*') && !r.resources.includes('*')));
    const binding = controllerRoleBinding(resolveOptions({ namespace: 'west' }), siteOwner(UID));
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'skupper-controller', namespace: 'west' }]);
    assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'skupper-controller' });
  });

  test('the router image is checked: tags and digests pass, anything else is refused', () => {
    const digest = `node:20-alpine@sha256:${'a1'.repeat(32)}`;
    assert.equal(resolveOptions({ namespace: 'w', routerImage: digest }).routerImage, digest);
    assert.equal(
      resolveOptions({ namespace: 'w', routerImage: 'registry.local:5000/team/node@sha256:' + 'b'.repeat(64) }).routerImage.endsWith(
        'b'.repeat(64),
      ),
      true,
    );
    assert.throws(
      () => resolveOptions({ namespace: 'w', routerImage: 'node:20-alpine@sha256:1234' }),
      /a digest is sha256: followed by 64/,
    );
    assert.throws(() => resolveOptions({ namespace: 'w', routerImage: 'Node:20' }), /not an image reference/);
    assert.throws(() => resolveOptions({ namespace: 'w', routerImage: 'node:20 --privileged' }), /not an image reference/);
  });

  test('the router Service follows the ingress; none and edge open no inter-router/edge port', () => {
    const ports = (x: ReturnType<typeof routerService>) =>
      (x.spec as { ports: { name: string; port: number }[] }).ports.map((p) => `${p.name}:${p.port}`);
    const lb = routerService(resolveOptions({ namespace: 'w' }), siteOwner(UID));
    assert.equal((lb.spec as { type: string }).type, 'LoadBalancer');
    assert.deepEqual(ports(lb), ['inter-router:55671', 'edge:45671', 'claims:8081']);
    assert.deepEqual((lb.spec as { selector: object }).selector, { application: 'skupper-router', 'skupper.io/component': 'router' });
    const np = routerService(resolveOptions({ namespace: 'w', ingress: 'nodeport' }), siteOwner(UID));
    assert.equal((np.spec as { type: string }).type, 'NodePort');
    const none = routerService(resolveOptions({ namespace: 'w', ingress: 'none' }), siteOwner(UID));
    assert.equal((none.spec as { type: string }).type, 'ClusterIP');
    assert.deepEqual(ports(none), ['claims:8081']);
    const edge = routerService(resolveOptions({ namespace: 'w', routerMode: 'edge' }), siteOwner(UID));
    assert.deepEqual(ports(edge), ['claims:8081']);
    assert.equal(acceptsLinks('interior', 'loadbalancer'), true);
    assert.equal(acceptsLinks('interior', 'none'), false);
    assert.equal(acceptsLinks('edge', 'loadbalancer'), false);
  });

  test('the router Deployment: a router and a controller container, the token and the CA in the controller only, hardened', () => {
    const o = resolveOptions({
      namespace: 'west',
      siteName: 'w1',
      routers: 3,
      routerImage: 'node:22-alpine',
      resources: { limits: { memory: '256Mi' } },
    });
    const d = routerDeployment(o, siteOwner(UID), UID) as any;
    assert.equal(d.metadata.name, 'skupper-router');
    assert.equal(d.metadata.labels.application, 'skupper-router');
    assert.equal(d.metadata.labels['skupper.io/component'], 'router');
    assert.equal(d.spec.replicas, 3);
    assert.deepEqual(d.spec.selector.matchLabels, { application: 'skupper-router', 'skupper.io/component': 'router' });
    const pod = d.spec.template.spec;
    assert.equal(pod.serviceAccountName, 'skupper-controller');
    assert.equal(pod.automountServiceAccountToken, false);
    assert.deepEqual(
      pod.containers.map((x: any) => x.name),
      ['router', 'controller'],
    );
    const [c, ctl] = pod.containers;
    assert.equal(c.image, 'node:22-alpine');
    assert.equal(ctl.image, 'node:22-alpine');
    assert.deepEqual(c.command, ['node', '-e', LOADER]);
    const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value ?? e.valueFrom.fieldRef.fieldPath]));
    assert.equal(env.POD_IP, 'status.podIP');
    assert.equal(env.POD_NAME, 'metadata.name');
    assert.equal(env.POD_NAMESPACE, 'metadata.namespace');
    assert.equal(env.SKUPPER_SITE_ID, UID);
    assert.equal(env.SKUPPER_SITE_NAME, 'w1');
    assert.equal(env.SKUPPER_GATE_PORT, '9193');
    assert.equal(ctl.env.find((e: any) => e.name === 'SKUPPER_COMPONENT').value, 'controller');
    assert.deepEqual(c.readinessProbe.httpGet, { path: '/readyz', port: 9191 });
    assert.deepEqual(c.resources, { limits: { memory: '256Mi' } });
    assert.ok(
      pod.volumes.every((v: any) => v.secret?.secretName !== 'skupper-site-ca'),
      'the CA is mounted nowhere',
    );
    assert.deepEqual(
      c.volumeMounts.map((m: any) => m.mountPath),
      ['/etc/skupper-router-bundle', '/etc/skupper-router-certs', '/var/run/skupper', '/tmp'],
    );
    assert.deepEqual(
      ctl.volumeMounts.map((m: any) => m.mountPath),
      ['/etc/skupper-router-bundle', '/var/run/skupper', '/var/run/secrets/kubernetes.io/serviceaccount'],
    );
    const token = pod.volumes.find((v: any) => v.name === ctl.volumeMounts[2].name);
    assert.ok(
      token.projected.sources.some((s: any) => s.serviceAccountToken),
      'the controller gets the token',
    );
    for (const x of pod.containers) {
      assert.deepEqual(
        x.securityContext,
        {
          runAsNonRoot: true,
          runAsUser: 10000,
          runAsGroup: 10000,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          privileged: false,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        },
        x.name,
      );
      assert.ok(
        x.volumeMounts.filter((m: any) => m.name === 'router-bundle').every((m: any) => m.readOnly),
        'the bundle is read-only',
      );
    }
  });

  test('the loader runs the gzipped bundle from the mounted ConfigMap', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { spawnSync } = await import('node:child_process');
    const dir = mkdtempSync(join(tmpdir(), 'van-loader-'));
    const cm = bundleConfigMap(
      resolveOptions({ namespace: 'w' }),
      siteOwner(UID),
      gzipSync(Buffer.from('console.log("hello from " + require("path").basename(__filename))')),
    );
    const data = (cm.binaryData as Record<string, string>)['router.js.gz'];
    assert.equal(gunzipSync(Buffer.from(data, 'base64')).toString(), 'console.log("hello from " + require("path").basename(__filename))');
    writeFileSync(join(dir, 'router.js.gz'), Buffer.from(data, 'base64'));
    const r = spawnSync(process.execPath, ['-e', LOADER], { env: { ...process.env, SKUPPER_BUNDLE_DIR: dir }, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'hello from router.js.gz');
  });

  test('the server certificate names the service DNS names and every ingress host or IP', () => {
    const o = resolveOptions({ namespace: 'west', ingressHost: 'west.example.com' });
    const names = serverCertificateNames(o, ['127.0.0.9']);
    for (const n of ['skupper-router', 'skupper-router.west', 'skupper-router.west.svc.cluster.local', 'west.example.com', '127.0.0.9'])
      assert.ok(names.includes(n), n);
    const cert = issueCertificate(ca, {
      commonName: 'skupper-router',
      dnsNames: names.filter((n) => !/^\d/.test(n)),
      ipAddresses: ['127.0.0.9'],
      usage: 'both',
    });
    assert.deepEqual(describeCertificate(cert.certPem).ipAddresses, ['127.0.0.9']);
  });
});
