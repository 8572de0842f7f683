import assert from 'node:assert/strict';
import { test } from 'node:test';
import { failed, nextStatus, pending, ready, sameStatus } from '../../../src/core/v2/types';

const t0 = new Date('2026-01-01T00:00:00Z');
const t1 = new Date('2026-01-01T00:01:00Z');

test('conditions as Skupper 2.x writes them: Ready/OK when true, Pending or Error with the why', () => {
  const s = nextStatus(undefined, 3, { Configured: ready(), Running: pending('Not Running') }, ['Configured', 'Running'], {}, t0);
  assert.equal(s.status, 'Pending');
  assert.equal(s.message, 'Not Running');
  const byType = Object.fromEntries(s.conditions!.map((c) => [c.type, c]));
  assert.deepEqual(
    { ...byType.Configured },
    { type: 'Configured', status: 'True', reason: 'Ready', message: 'OK', lastTransitionTime: t0.toISOString(), observedGeneration: 3 },
  );
  assert.equal(byType.Running.reason, 'Pending');
  assert.equal(byType.Ready.status, 'False');
  assert.equal(byType.Ready.message, 'Not Running');

  const e = nextStatus(s, 3, { Configured: failed('spec.port 0 is not a port number') }, ['Configured']);
  assert.equal(e.status, 'Error');
  assert.equal(e.conditions!.find((c) => c.type === 'Configured')!.reason, 'Error');
});

test('Ready is true only when every required condition is; transition times move only on a change', () => {
  const a = nextStatus(undefined, 1, { Configured: ready(), Running: pending('Not Running') }, ['Configured', 'Running'], {}, t0);
  const b = nextStatus(a, 1, { Configured: ready(), Running: ready() }, ['Configured', 'Running'], { sitesInNetwork: 2 }, t1);
  assert.equal(b.status, 'Ready');
  assert.equal(b.sitesInNetwork, 2);
  const when = Object.fromEntries(b.conditions!.map((c) => [c.type, c.lastTransitionTime]));
  assert.equal(when.Configured, t0.toISOString(), 'unchanged condition keeps its time');
  assert.equal(when.Running, t1.toISOString());
  assert.equal(when.Ready, t1.toISOString());
  const missing = nextStatus(undefined, 1, { Configured: ready() }, ['Configured', 'Operational']);
  assert.equal(missing.message, 'Not Operational');
});

test('sameStatus ignores transition times only', () => {
  const a = nextStatus(undefined, 1, { Configured: ready() }, ['Configured'], { hasMatchingConnector: true }, t0);
  const b = nextStatus(undefined, 1, { Configured: ready() }, ['Configured'], { hasMatchingConnector: true }, t1);
  assert.ok(sameStatus(a, b));
  const c = nextStatus(undefined, 1, { Configured: ready() }, ['Configured'], { hasMatchingConnector: false }, t1);
  assert.ok(!sameStatus(a, c));
  const d = nextStatus(undefined, 2, { Configured: ready() }, ['Configured'], { hasMatchingConnector: true }, t1);
  assert.ok(!sameStatus(a, d), 'a new generation is written');
});
