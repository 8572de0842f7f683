import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EventLog, kubeEvent, mergeEvents, parseEvents } from '../../../src/core/agent/events';

describe('site events', () => {
  test('bounded, oldest first, repeats folded', () => {
    const log = new EventLog(3);
    const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
    log.add('Normal', 'LinkUp', 'link1 to public is up', t(1));
    log.add('Warning', 'LinkDown', 'link1 to public is down', t(2));
    log.add('Warning', 'LinkDown', 'link1 to public is down', t(3));
    log.add('Normal', 'ServiceAdded', 'tcp-go-echo from public', t(4));
    log.add('Normal', 'ServiceRemoved', 'tcp-go-echo from public', t(5));
    const list = log.list();
    assert.deepEqual(
      list.map((e) => e.reason),
      ['LinkDown', 'ServiceAdded', 'ServiceRemoved'],
    );
    assert.equal(list[0].count, 2);
    assert.equal(list[0].firstTime, t(2).toISOString());
    assert.deepEqual(parseEvents(JSON.stringify(list)), list);
    assert.deepEqual(parseEvents('garbage'), []);
  });

  test('a recorded message loses its control characters and is cut to 1 KB (it quotes what peers sent)', () => {
    const log = new EventLog();
    const e = log.add('Warning', 'ClaimRefused', `refused from site \u001b[2J\u001b]0;x\u0007${'y'.repeat(15_000)}\u009b1m`);
    assert.doesNotMatch(e.message, /[\u0000-\u001f\u007f-\u009f]/);
    assert.ok(e.message.length <= 1024, `${e.message.length} characters`);
    assert.ok(JSON.stringify(log.list()).length < 1200);
  });

  test('as a Kubernetes Event on the site ConfigMap', () => {
    const e = new EventLog().add('Warning', 'ClaimRefused', 'claim x: expired', new Date(0));
    const k = kubeEvent(e, { namespace: 'default', name: 'skupper-site', uid: 'u1', component: 'skupper-router/pod-1' }, 7) as any;
    assert.equal(k.involvedObject.name, 'skupper-site');
    assert.equal(k.involvedObject.uid, 'u1');
    assert.equal(k.type, 'Warning');
    assert.match(k.metadata.name, /^skupper-site\.0\.claimrefused\.7$/);
  });

  test('merging the log with Kubernetes Events drops duplicates, newest last', () => {
    const a = { time: '2026-01-01T00:00:02.000Z', type: 'Normal' as const, reason: 'LinkUp', message: 'm', count: 1 };
    const b = { time: '2026-01-01T00:00:01.000Z', type: 'Normal' as const, reason: 'ServiceAdded', message: 'n', count: 1 };
    assert.deepEqual(
      mergeEvents([a], [b, { ...a, time: '2026-01-01T00:00:02.500Z' }]).map((e) => e.reason),
      ['ServiceAdded', 'LinkUp'],
    );
  });
});
