// Two local sites on loopback, each a real agent + router in this process: a (ingress loadbalancer)
// issues a claim token, b (ingress none) links with it; claims endpoint, link status publishing,
// link delete and revoke-access, all without a cluster.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { SiteAgent } from '../../../src/core/agent/agent';
import { claimsModule, linkStatusModule } from '../../../src/core/agent/modules/links';
import { buildLinkStatus, createLink, deleteLink, waitForLink } from '../../../src/core/link/link';
import { Router } from '../../../src/core/router/router';
import { createToken } from '../../../src/core/token/issue';
import { tokenYaml } from '../../../src/core/token/token';
import { type InProcessSite, startInProcessSite } from '../fixtures/localAgent';

const home = mkdtempSync(join(tmpdir(), 'van-local-links-'));
const env = { ...process.env, VAN_LOCAL_HOME: home };
const agents: SiteAgent<Router>[] = [];

async function startSite(name: string, ingress: 'loadbalancer' | 'none', host: string): Promise<InProcessSite> {
  const made = await startInProcessSite({
    name,
    ingress,
    host,
    env,
    modules: [claimsModule({ pollMs: 200 }), linkStatusModule({ minIntervalMs: 100 })],
  });
  agents.push(made.agent);
  return made;
}

let a: Awaited<ReturnType<typeof startSite>>;
let b: Awaited<ReturnType<typeof startSite>>;

before(async () => {
  process.env.VAN_LOCAL_HOME = home;
  a = await startSite('site-a', 'loadbalancer', '127.0.0.1');
  b = await startSite('site-b', 'none', '127.0.0.1');
});

after(async () => {
  for (const agent of agents.reverse()) await agent.stop();
  rmSync(home, { recursive: true, force: true });
});

describe('local sites link with the same tokens', { timeout: 60_000 }, () => {
  test('a site with ingress none refuses to issue', async () => {
    await assert.rejects(createToken(b.link, { type: 'claim', expiryMs: 60_000, uses: 1 }), /accepts no incoming links \(ingress none\)/);
  });

  test('b links to a with a claim token; both report it; the claim is then used up', async () => {
    const token = tokenYaml((await createToken(a.link, { type: 'claim', expiryMs: 60_000, uses: 1 })).secret);
    const started = performance.now();
    const result = await createLink(b.link, token);
    assert.equal(result.name, 'link1');
    assert.equal(result.remoteSite.name, 'site-a');
    const up = await waitForLink(b.link, 'link1', 20_000, 50);
    assert.equal(up.connected, true, up.error ?? '');
    console.log(
      `# local: claim redeemed in ${result.redeemMs?.toFixed(0)} ms; link create -> connected ${(performance.now() - started).toFixed(0)} ms`,
    );
    const deadline = Date.now() + 10_000;
    let incoming = false;
    while (!incoming && Date.now() < deadline) {
      const rep = buildLinkStatus(await a.link.identity(), await a.link.listLinks(), await a.link.readStatus());
      incoming = rep.links.some((l) => l.direction === 'incoming' && l.remoteSite === 'site-b' && l.connected);
      if (!incoming) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(incoming, true, 'a sees the incoming link from b');
    await deleteLink(b.link, 'link1');
    await assert.rejects(createLink(b.link, token), /claim used up/);
    assert.deepEqual(await b.link.listLinks(), []);
  });

  test("revoke-access at a drops b's link for good", async () => {
    const token = tokenYaml((await createToken(a.link, { type: 'claim', expiryMs: 60_000, uses: 1 })).secret);
    await createLink(b.link, token, { name: 'to-a' });
    assert.equal((await waitForLink(b.link, 'to-a', 20_000, 50)).connected, true);
    await a.link.rotateCA();
    const deadline = Date.now() + 15_000;
    let row;
    for (;;) {
      row = buildLinkStatus(await b.link.identity(), await b.link.listLinks(), await b.link.readStatus()).links.find(
        (l) => l.name === 'to-a',
      );
      if ((row && !row.connected && /CA|revoked|rejected/.test(row.error ?? '')) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(row?.connected, false, 'the link dropped');
    assert.match(row?.error ?? '', /CA|revoked|rejected/);
    // a new token works
    await deleteLink(b.link, 'to-a');
    const fresh = tokenYaml((await createToken(a.link, { type: 'claim', expiryMs: 60_000, uses: 1 })).secret);
    await createLink(b.link, fresh, { name: 'to-a-2' });
    assert.equal((await waitForLink(b.link, 'to-a-2', 20_000, 50)).connected, true);
  });
});
