// What `van debug events` and `van network status` print quotes what sites publish (names, errors,
// event messages), which a linked site or a caller of the claims endpoint chose: no control
// character reaches the terminal, whatever the output format.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { debugEventsCommand } from '../../../src/cli/commands/debugEvents';
import { networkStatusCommand } from '../../../src/cli/commands/networkStatus';
import { laptopSite, runVerb } from './local';

const ESC = '\u001b';
const evil = `${ESC}[2J${ESC}]0;owned\u0007\u009b31mred\r\nfake line\u202e`;
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

let site: { dir: string; home: string };
before(async () => {
  site = await laptopSite('printer');
  writeFileSync(
    join(site.dir, 'network.json'),
    JSON.stringify({
      updated: new Date().toISOString(),
      sites: [{ id: 's1', name: `peer${evil}`, platform: 'kubernetes' }],
      links: [{ name: `l${evil}`, fromSiteId: 's1', state: 'down', error: `refused${evil}` }],
      services: [{ address: `svc${evil}`, protocol: 'tcp', ports: [8080], exposedIn: ['s1'] }],
      events: [
        { time: new Date().toISOString(), type: 'Warning', reason: 'ClaimRefused', message: `claim refused from site ${evil}`, count: 1 },
      ],
    }),
  );
});
after(() => rmSync(site.home, { recursive: true, force: true }));

describe('printing what sites publish', () => {
  for (const [name, command] of [
    ['debug events', debugEventsCommand],
    ['network status', networkStatusCommand],
  ] as const) {
    for (const output of [[], ['-o', 'yaml'], ['-o', 'json']]) {
      test(`van ${name} ${output.join(' ') || '(table)'} prints no control characters`, async () => {
        const printed = await runVerb(command, ['--platform', 'local', '--site-name', 'printer', ...output]);
        assert.match(printed.out, /red/, 'the text is still there');
        assert.doesNotMatch(printed.out, CONTROL);
        if (!output.length) assert.doesNotMatch(printed.out, /^fake line/m, 'a newline in a value does not start a line of its own');
      });
    }
  }
});
