import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { findCommand, helpText } from '../../../src/cli/main';

const root = join(__dirname, '../../..');
const verbs = [
  'init',
  'delete',
  'status',
  'token create',
  'link create',
  'link delete',
  'link status',
  'expose',
  'unexpose',
  'service status',
  'network status',
  'revoke-access',
  'debug events',
  'router',
];

function van(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], { encoding: 'utf8', cwd: root });
}

describe('van', () => {
  test('help lists every verb of the contract', () => {
    const text = helpText();
    for (const verb of verbs) assert.match(text, new RegExp(`^  ${verb} `, 'm'), `missing ${verb}`);
  });

  test('finds the longest matching verb wherever the flags are', () => {
    const found = findCommand(['-n', 'west', 'link', 'create', 'token.yaml', '--cost', '2']);
    assert.deepEqual(found?.command.path, ['link', 'create']);
    assert.deepEqual(found?.rest, ['-n', 'west', 'token.yaml', '--cost', '2']);
  });

  test('an unknown verb exits 2 with a pointer to help', () => {
    const result = van('frobnicate');
    assert.equal(result.status, 2);
    assert.match(result.stderr, /unknown command "frobnicate"; run "van --help"/);
  });

  test('--help exits 0 and prints usage', () => {
    const result = van('--help');
    assert.equal(result.status, 0);
    assert.match(result.stdout, /Usage: van COMMAND/);
  });
});
