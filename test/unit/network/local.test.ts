// Laptop sites as the trees read them: services exposed from this machine (host targets) and the
// forwards (forwards.json), merged with the network's services from the site's network.json.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readLocalSites } from '../../../src/core/network/local';
import { exposeHost, forwardService } from '../../../src/core/service/local';
import { initLocalSite } from '../../../src/core/site/local';
import { freePort } from '../../net';

test("a laptop site reads with its exposed hosts, its forwards, and the network's services", async () => {
  const env = { ...process.env, VAN_LOCAL_HOME: mkdtempSync(join(tmpdir(), 'van-read-local-')) };
  const { dir } = await initLocalSite({ siteName: 'laptop', env });
  exposeHost(dir, { host: '127.0.0.1', address: 'db', ports: [5432] });
  await forwardService(dir, { address: 'backend', port: 0 }).catch((e: Error) => assert.match(e.message, /not a port number/));
  const [free, other] = [await freePort(), await freePort()];
  await forwardService(dir, { address: 'backend', port: free });
  await forwardService(dir, { address: 'later', port: other });
  writeFileSync(
    join(dir, 'network.json'),
    JSON.stringify({
      updated: new Date().toISOString(),
      sites: [],
      links: [],
      services: [
        { address: 'backend', protocol: 'tcp', ports: [9090], exposedIn: ['x'] },
        { address: 'web', protocol: 'http', ports: [8080], exposedIn: ['x'] },
      ],
    }),
  );
  const [site] = readLocalSites(env);
  assert.equal(site?.platform, 'local');
  assert.deepEqual(
    site!.services.map((s) => [s.address, s.ports, s.exposedHere, s.targets, s.forwardedTo]),
    [
      ['backend', [9090], false, [], `127.0.0.1:${free}`],
      ['db', [5432], true, ['host/127.0.0.1'], undefined],
      // forwarded before the network lists it: shown, so the person sees the port they chose
      ['later', [], false, [], `127.0.0.1:${other}`],
      ['web', [8080], false, [], undefined],
    ],
  );
});
