import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApiException } from '@kubernetes/client-node';
import { UserError } from '../../../src/core/errors';
import { kubeError } from '../../../src/core/kube/errors';

const call = (verb: string, resource: string, name?: string) => ({
  verb,
  resource,
  name,
  namespace: 'team',
  cluster: 'public',
  server: 'https://127.0.0.1:6443',
});
const api = (code: number, message: string, details?: object) =>
  new ApiException(code, message, JSON.stringify({ kind: 'Status', message, details }), {});

describe('kube errors', () => {
  test('401: credentials rejected', () => {
    const e = kubeError(api(401, 'Unauthorized'), call('get', 'configmaps', 'skupper-site'));
    assert.ok(e instanceof UserError);
    assert.equal(e.message, 'the cluster at https://127.0.0.1:6443 rejected the credentials of context public: log in again or renew them');
  });
  test('403: what you may not do, where, and which role to ask for', () => {
    assert.equal(
      kubeError(api(403, 'forbidden'), call('create', 'deployments', 'skupper-router')).message,
      'you may not create deployments in namespace team: ask for the edit role there',
    );
    assert.equal(
      kubeError(api(403, 'forbidden'), call('list', 'secrets')).message,
      'you may not list secrets in namespace team: ask for the view role there',
    );
  });
  test('404 on a missing namespace names it', () => {
    const e = kubeError(
      api(404, 'namespaces "team" not found', { name: 'team', kind: 'namespaces' }),
      call('create', 'configmaps', 'skupper-site'),
    );
    assert.equal(e.message, 'namespace team does not exist on cluster public');
    assert.equal(
      kubeError(api(404, 'configmaps "x" not found', { kind: 'configmaps' }), call('get', 'configmaps', 'x')).message,
      'configmaps x not found in namespace team',
    );
  });
  test('network errors: cannot reach, with the reason', () => {
    const refused = Object.assign(new Error('request to https://127.0.0.1:6443 failed'), { code: 'ECONNREFUSED' });
    assert.equal(
      kubeError(refused, call('get', 'configmaps')).message,
      'cannot reach cluster public at https://127.0.0.1:6443: connection refused',
    );
    const nested = new Error('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ENOTFOUND' }) });
    assert.equal(
      kubeError(nested, call('get', 'configmaps')).message,
      'cannot reach cluster public at https://127.0.0.1:6443: host not found',
    );
    const timeout = Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' });
    assert.equal(
      kubeError(timeout, { ...call('get', 'configmaps'), timeoutMs: 10_000 }).message,
      'cannot reach cluster public at https://127.0.0.1:6443: no answer within 10 s',
    );
  });
  test('other codes: one line with the server message; non-API errors pass through', () => {
    const e = kubeError(api(422, 'Service "x" is invalid: spec.ports: Required value\nmore'), call('create', 'services', 'x'));
    assert.equal(e.message, 'the cluster refused services x in namespace team: Service "x" is invalid: spec.ports: Required value');
    const plain = new TypeError('bug');
    assert.equal(kubeError(plain, call('get', 'configmaps')), plain);
  });
});
