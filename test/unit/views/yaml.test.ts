import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { workloadAtCursor } from '../../../src/extension/yaml';

const multi = `apiVersion: v1
kind: Service
metadata:
  name: front
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: backend
  namespace: private
spec:
  template:
    spec:
      containers:
        - name: echo
          image: quay.io/skupper/tcp-go-echo
          ports:
            - containerPort: 9090
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  template:
    spec:
      containers:
        - name: db
          ports: [{ containerPort: 5432 }, { containerPort: 5433 }]
`;

describe('YAML editor: the workload under the cursor', () => {
  it('finds the Deployment under the cursor in a multi-document file', () => {
    const w = workloadAtCursor(multi, multi.indexOf('tcp-go-echo'));
    assert.deepEqual(w, { kind: 'deployment', name: 'backend', namespace: 'private', ports: [9090] });
  });
  it('finds the StatefulSet and its ports', () => {
    const w = workloadAtCursor(multi, multi.indexOf('5432'));
    assert.deepEqual(w, { kind: 'statefulset', name: 'db', namespace: undefined, ports: [5432, 5433] });
  });
  it('nothing on a Service document of a file with several workloads', () => {
    assert.equal(workloadAtCursor(multi, multi.indexOf('front')), undefined);
  });
  it('a single-workload file works from anywhere; broken YAML gives nothing', () => {
    const one = multi.split('---\n')[1]!;
    assert.equal(workloadAtCursor(one, 0)?.name, 'backend');
    assert.equal(workloadAtCursor('kind: [', 3), undefined);
  });
});
