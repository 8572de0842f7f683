import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseArgs, parseWorkload } from '../../../src/cli/args';
import { UsageError } from '../../../src/core/errors';

const specs = {
  port: { type: 'number' as const, multiple: true, description: '' },
  name: { type: 'string' as const, description: '' },
  namespace: { type: 'string' as const, alias: 'n', description: '' },
  wait: { type: 'boolean' as const, description: '' },
  protocol: { type: 'string' as const, choices: ['tcp', 'http'], description: '' },
};

describe('parseArgs', () => {
  test('flags before and after positionals, = and space forms, aliases and repeats', () => {
    const parsed = parseArgs(['--port', '9090', 'deployment/echo', '-n', 'west', '--port=8080', '--wait', '--name=x'], specs);
    assert.deepEqual(parsed.positionals, ['deployment/echo']);
    assert.deepEqual(parsed.flags, { port: [9090, 8080], namespace: 'west', wait: true, name: 'x' });
  });

  test('unknown flags, missing values, bad numbers and bad choices are usage errors', () => {
    assert.throws(
      () => parseArgs(['--bogus'], specs),
      (e) => e instanceof UsageError && /unknown flag --bogus/.test(e.message),
    );
    assert.throws(() => parseArgs(['--name'], specs), /--name needs a value/);
    assert.throws(() => parseArgs(['--port', 'abc'], specs), /--port must be a number/);
    assert.throws(() => parseArgs(['--protocol', 'udp'], specs), /must be one of tcp, http/);
  });

  test('a lone dash is a positional (stdout) and -- ends flags', () => {
    assert.deepEqual(parseArgs(['-', '--', '--name'], specs).positionals, ['-', '--name']);
  });
});

describe('parseWorkload', () => {
  test('accepts kind/name and kind name, with short kinds', () => {
    assert.deepEqual(parseWorkload(['deployment/tcp-go-echo']), { kind: 'deployment', name: 'tcp-go-echo', rest: [] });
    assert.deepEqual(parseWorkload(['deployment', 'backend']), { kind: 'deployment', name: 'backend', rest: [] });
    assert.deepEqual(parseWorkload(['sts/db']), { kind: 'statefulset', name: 'db', rest: [] });
    assert.deepEqual(parseWorkload(['svc', 'web']), { kind: 'service', name: 'web', rest: [] });
  });

  test('refuses other kinds and a missing name with the forms it accepts', () => {
    assert.throws(() => parseWorkload(['pod/x']), /cannot expose "pod": expected deployment, statefulset or service/);
    assert.throws(() => parseWorkload(['deployment']), /deployment\/NAME or deployment NAME/);
    assert.throws(() => parseWorkload([]), /name a workload/);
  });
});
