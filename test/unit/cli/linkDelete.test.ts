// `van link delete NAME`: NAME is a link's name, never a path.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { linkDeleteCommand } from '../../../src/cli/commands/linkDelete';
import { tokenCreateCommand } from '../../../src/cli/commands/tokenCreate';
import { laptopSite, runVerb } from './local';

let site: { dir: string; home: string };
before(async () => {
  site = await laptopSite('linker');
});
after(() => rmSync(site.home, { recursive: true, force: true }));

describe('van link delete', () => {
  test('a name with a path in it is refused and nothing outside links/ is removed', async () => {
    await runVerb(tokenCreateCommand, [join(site.home, 't.yaml'), '--platform', 'local', '--site-name', 'linker']);
    const [record] = readdirSync(join(site.dir, 'claims'));
    const name = record.replace(/\.yaml$/, '');
    for (const bad of [`../claims/${name}`, '../site', '/etc/passwd', 'a/b', 'UPPER', 'x-', '.', '']) {
      await assert.rejects(
        runVerb(linkDeleteCommand, [bad, '--platform', 'local', '--site-name', 'linker']),
        (e: Error) => {
          assert.match(e.message, bad ? /is not a link name|name the link/ : /name the link/);
          assert.equal(e.name, 'UsageError');
          return true;
        },
        bad,
      );
    }
    assert.equal(existsSync(join(site.dir, 'claims', record)), true, 'the claim record is still there');
    assert.equal(existsSync(join(site.dir, 'site.json')), true);
  });

  test('a valid name that is no link says which links there are', async () => {
    await assert.rejects(
      runVerb(linkDeleteCommand, ['link9', '--platform', 'local', '--site-name', 'linker']),
      /no link link9; this site has no links/,
    );
  });
});
