// Tokens and links on the test control plane: public (loadbalancer) issues, private (ingress none)
// links; both report the link; every bad token refused with its reason and nothing written; a
// duplicate refused; revoke-access drops the link; new tokens work; a 3-site chain. Prints the
// figures: claim redemption latency and link create → connected.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as esbuild from 'esbuild';
import { parse, stringify } from 'yaml';
import { KubeClient } from '../../src/core/kube/client';
import { KubeLinkSite } from '../../src/core/link/kubeSite';
import { buildLinkStatus, createLink, waitForLink } from '../../src/core/link/link';
import { initSite } from '../../src/core/site/kube';
import { createToken } from '../../src/core/token/issue';
import { tokenYaml } from '../../src/core/token/token';
import { clusterSetup, createNamespace, deleteNamespace, eventually, sleep, uniqueName } from './helpers';
import type { Kube } from './kube';
import { projectRoot } from './paths';

const ns = uniqueName('lnk');
const work = mkdtempSync(join(tmpdir(), 'van-link-test-'));
let kubeconfigPath = '';
const kubes: Record<string, Kube> = {};
const sites: Record<string, KubeLinkSite> = {};
const figures: string[] = [];

function client(context: string): KubeClient {
  return KubeClient.forContext({ kubeconfig: kubeconfigPath, context, namespace: ns, timeoutMs: 20_000 });
}

function van(context: string, ...args: string[]) {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(projectRoot, 'src/cli/main.ts'), '--kubeconfig', kubeconfigPath, '--context', context, '-n', ns, ...args],
    { encoding: 'utf8', cwd: projectRoot, timeout: 90_000 },
  );
  return { code: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
}

async function bundle(): Promise<Buffer> {
  const outfile = join(work, 'router.js');
  await esbuild.build({
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    absWorkingDir: projectRoot,
    entryPoints: ['src/core/agent/main.ts'],
    outfile,
    logLevel: 'warning',
  });
  const { gzipSync } = await import('node:zlib');
  return gzipSync(readFileSync(outfile));
}

async function linkNames(site: KubeLinkSite): Promise<string[]> {
  return (await site.listLinks()).map((l) => l.metadata.name).sort();
}

async function claimToken(site: KubeLinkSite, options: { expiryMs?: number; uses?: number } = {}): Promise<string> {
  const created = await createToken(site, { type: 'claim', expiryMs: options.expiryMs ?? 15 * 60_000, uses: options.uses ?? 1 });
  return tokenYaml(created.secret);
}

async function connected(site: KubeLinkSite, name: string, timeoutMs = 60_000): Promise<number> {
  const r = await waitForLink(site, name, timeoutMs);
  assert.equal(r.connected, true, `link ${name} did not come up: ${r.error}`);
  return r.elapsedMs;
}

async function incomingFrom(site: KubeLinkSite, remote: string): Promise<boolean> {
  const report = buildLinkStatus(await site.identity(), await site.listLinks(), await site.readStatus());
  return report.links.some((l) => l.direction === 'incoming' && l.remoteSite === remote && l.connected);
}

before(
  async () => {
    const setup = await clusterSetup();
    kubeconfigPath = setup.kubeconfigPath;
    const gz = await bundle();
    for (const context of ['public', 'private', 'east'] as const) {
      kubes[context] = setup.kube(context);
      await createNamespace(kubes[context], ns);
    }
    await Promise.all(
      (['public', 'private', 'east'] as const).map(async (context) => {
        const c = client(context);
        await initSite(c, {
          namespace: ns,
          siteName: context,
          ingress: context === 'private' ? 'none' : 'loadbalancer',
          bundleGzip: gz,
          readyTimeoutMs: 120_000,
        });
        sites[context] = new KubeLinkSite(c);
      }),
    );
  },
  { timeout: 300_000 },
);

after(async () => {
  for (const k of Object.values(kubes)) await deleteNamespace(k, ns).catch(() => undefined);
  if (figures.length) console.log(`# figures:\n${figures.map((f) => `#   ${f}`).join('\n')}`);
});

describe('tokens and links between clusters', { timeout: 600_000 }, () => {
  test('a site with ingress none refuses to issue a token, in words', () => {
    const r = van('private', 'token', 'create', join(work, 'nope.yaml'));
    assert.equal(r.code, 1);
    assert.match(r.err, /this site accepts no incoming links \(ingress none\); create the token on the other site and link from here/);
  });

  test('token create writes a 0600 claim token that token inspect reads', () => {
    const file = join(work, 'pub.yaml');
    const r = van('public', 'token', 'create', file, '--expiry', '10m');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /Token written to .*claim .*1 use, expires in 10 minutes/);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const i = van('public', 'token', 'inspect', file, '-o', 'json');
    assert.equal(i.code, 0, i.err);
    const d = JSON.parse(i.out);
    assert.equal(d.type, 'claim');
    assert.equal(d.issuer.name, 'public');
    assert.equal(d.valid, true);
    assert.match(d.endpoint, /^https:\/\/127\.\d+\.\d+\.\d+:8081\//);
  });

  test('bad tokens are refused with their reason and nothing is written', async () => {
    const priv = sites.private;
    const before = await linkNames(priv);
    const good = await claimToken(sites.public);
    const cases: [string, string, RegExp][] = [];
    cases.push(['malformed', 'kind: Secret\n  metadata: [oops\n', /not valid YAML/]);
    cases.push(['wrong kind', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n', /is a ConfigMap, not a Secret/]);
    const wrongPw = parse(good);
    wrongPw.data.password = Buffer.from('guess').toString('base64');
    cases.push(['wrong password', stringify(wrongPw), /refused the claim \(wrong password\)/]);
    const expiredText = await claimToken(sites.public, { expiryMs: 1000 });
    await sleep(1500);
    const expiredDoc = parse(expiredText);
    // the file still says it is valid: the site must be the one refusing
    expiredDoc.metadata.annotations['skupper.io/claim-expiration'] = new Date(Date.now() + 600_000).toISOString();
    cases.push(['expired at the site', stringify(expiredDoc), /refused the claim \(claim expired\)/]);
    cases.push(['expired in the file', expiredText, /the claim expired .* ago/]);
    const once = await claimToken(sites.public);
    // used by east first
    await createLink(sites.east, once, { name: 'to-public' });
    cases.push(['used up', once, /refused the claim \(claim used up\): claim \S+ was already used 1 of 1 time, last by site east/]);
    for (const [what, text, re] of cases) {
      const file = join(work, `bad-${what.replace(/ /g, '-')}.yaml`);
      writeFileSync(file, text);
      const r = van('private', 'link', 'create', file);
      assert.equal(r.code, 1, `${what}: ${r.out} ${r.err}`);
      assert.match(r.err, re, what);
      assert.equal(r.err.trim().split('\n').length, 1, `${what}: one line`);
      assert.deepEqual(await linkNames(priv), before, `${what}: nothing written`);
    }
    // a token issued by this very site
    const selfFile = join(work, 'self.yaml');
    writeFileSync(selfFile, await claimToken(sites.public));
    const self = van('public', 'link', 'create', selfFile);
    assert.equal(self.code, 1);
    assert.match(self.err, /issued by this very site \(public\)/);
    assert.deepEqual(await linkNames(sites.public), []);
  });

  test('private links to public: both report the link active; a duplicate is refused', async () => {
    const file = join(work, 'good.yaml');
    writeFileSync(file, await claimToken(sites.public));
    const started = performance.now();
    const r = van('private', 'link', 'create', file, '--wait', '60s', '-o', 'json');
    const total = performance.now() - started;
    assert.equal(r.code, 0, r.err);
    const result = JSON.parse(r.out);
    assert.equal(result.name, 'link1');
    assert.equal(result.connected, true, result.error);
    figures.push(`claim redemption (van link create, cluster): ${Math.round(result.redeemMs)} ms`);
    figures.push(
      `link create -> connected, measured inside the CLI (redeem + Secret + router connect + status publish): ${result.elapsedMs} ms`,
    );
    figures.push(`link create -> connected, whole CLI process incl. tsx start-up: ${Math.round(total)} ms`);
    await eventually('public sees the incoming link from private', 20_000, () => incomingFrom(sites.public, 'private'));
    const status = van('private', 'link', 'status', '-o', 'json');
    assert.equal(status.code, 0, status.err);
    const rows = JSON.parse(status.out);
    const l = rows.find((x: { name: string }) => x.name === 'link1');
    assert.equal(l.connected, true);
    assert.equal(l.remoteSite, 'public');
    assert.equal(l.cost, 1);
    assert.equal(l.error, null);
    const human = van('public', 'link', 'status');
    assert.match(human.out, /Incoming links:\n(?: {2}from .*\n)* {2}from private: active/);
    assert.match(human.out, /Site public has no outgoing links/);
    // duplicate
    const again = join(work, 'again.yaml');
    writeFileSync(again, await claimToken(sites.public));
    const dup = van('private', 'link', 'create', again);
    assert.equal(dup.code, 1);
    assert.match(dup.err, /already linked to site public by link link1/);
    assert.deepEqual(await linkNames(sites.private), ['link1']);
  });

  test('a 3-site chain: private -> public -> east, each link active', async () => {
    // east holds link to-public (made in the bad-token test); public now links to east too
    await connected(sites.east, 'to-public');
    const ms = Date.now();
    await createLink(sites.public, await claimToken(sites.east), { name: 'to-east', cost: 2 });
    const elapsed = await connected(sites.public, 'to-east');
    figures.push(`link create -> connected (in-process, public -> east): ${Date.now() - ms} ms (wait part ${elapsed} ms)`);
    const rows = JSON.parse(van('public', 'link', 'status', 'to-east', '-o', 'json').out);
    assert.equal(rows[0].cost, 2);
    assert.equal(rows[0].remoteSite, 'east');
    await eventually('east sees incoming links from public', 20_000, () => incomingFrom(sites.east, 'public'));
  });

  test('link delete drops the link; an absent name lists the links', async () => {
    const miss = van('public', 'link', 'delete', 'nope');
    assert.equal(miss.code, 1);
    assert.match(miss.err, /no link nope; links here: to-east/);
    const r = van('public', 'link', 'delete', 'to-east');
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(await linkNames(sites.public), []);
  });

  test('revoke-access drops the links made with earlier tokens; new tokens work', async () => {
    const r = van('public', 'revoke-access');
    assert.equal(r.code, 0, r.err);
    const started = Date.now();
    const down = await eventually('private link1 goes down with a CA error', 60_000, async () => {
      const report = buildLinkStatus(await sites.private.identity(), await sites.private.listLinks(), await sites.private.readStatus());
      const l = report.links.find((x) => x.name === 'link1');
      return l && !l.connected && l.error && /CA|revoked|rejected/.test(l.error) ? l : undefined;
    });
    figures.push(`revoke-access -> remote link reported down: ${Date.now() - started} ms`);
    assert.match(down.error!, /not signed by the CA in the token|rejected our client certificate|revoked/);
    // and it stays down
    await sleep(3000);
    const still = buildLinkStatus(await sites.private.identity(), await sites.private.listLinks(), await sites.private.readStatus());
    assert.equal(still.links.find((x) => x.name === 'link1')?.connected, false);
    assert.equal(await incomingFrom(sites.public, 'private'), false);
    // a new token works
    van('private', 'link', 'delete', 'link1');
    const file = join(work, 'after-revoke.yaml');
    writeFileSync(file, await claimToken(sites.public));
    const again = van('private', 'link', 'create', file, '--wait', '60s', '-o', 'json');
    assert.equal(again.code, 0, again.err);
    assert.equal(JSON.parse(again.out).connected, true);
  });
});
