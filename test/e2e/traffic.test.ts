// Traffic you can see, on the real control plane: the tcp-echo story (public runs the echo and exposes
// it, private links to public), then N echo lines from private, each on its own connection. Both sites'
// routers count exactly N flows and the bytes the test sent and got back (their /flows and /metrics on
// the status listener), the published network status carries the same figures to `van network status`,
// `van service status` and `van flows`.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { Timings, eventually, publicAndPrivate, tcpExchange, tokenDir } from './helpers';
import { parsePrometheus } from '../prometheus';

const timings = new Timings('traffic');
const cast = publicAndPrivate('traffic', timings);
const ADDRESS = 'tcp-go-echo';

async function routerIp(site: typeof cast.pub): Promise<string> {
  const [pod] = await site.readyPods('application=skupper-router');
  assert.ok(pod, 'a ready router pod');
  return pod.ip;
}

async function echoAggregate(ip: string, side: string): Promise<any | undefined> {
  const r = await fetch(`http://${ip}:9192/flows`);
  const snap: any = await r.json();
  return snap?.aggregates?.find((a: any) => a.address === ADDRESS && a.side === side);
}

test('traffic: N echo lines are counted at both sites, exactly, and published', { timeout: 300_000 }, async (t) => {
  try {
    await cast.pub.deploy(ADDRESS, 'quay.io/skupper/tcp-go-echo', { port: 9090 });
    await cast.pub.must('init', '--site-name', 'public');
    await cast.priv.must('init', '--site-name', 'private', '--ingress', 'none');
    await Promise.all([cast.pub.waitReady(), cast.priv.waitReady()]);
    await cast.pub.must('expose', '--port', '9090', 'deployment', ADDRESS);
    const token = join(tokenDir(), 'traffic-public-token.yaml');
    await cast.pub.must('token', 'create', token);
    await cast.priv.must('link', 'create', token);
    await cast.priv.waitLinks(1);
    const [pubIp, privIp] = [await routerIp(cast.pub), await routerIp(cast.priv)];
    const [ep] = await eventually('the echo Service in private with an endpoint', 90_000, async () => {
      const e = await cast.priv.endpoints(ADDRESS);
      return e.length ? e : undefined;
    });
    // Ready without sending anything: private's router routes the address to public, and public's
    // router has the echo pod as a target. Every flow below is one the test made.
    await eventually('private routes the echo address to public', 60_000, async () => {
      const st: any = await (await fetch(`http://${privIp}:9192/status`)).json();
      return st.router?.addresses?.some((a: any) => a.address === ADDRESS && a.remoteSites.includes('public'));
    });
    await eventually('public has a connector to the echo pod', 60_000, async () => {
      const st: any = await (await fetch(`http://${pubIp}:9192/status`)).json();
      return st.router?.tcpConnectors?.some((c: any) => c.address === ADDRESS);
    });

    const N = 12;
    let sent = 0;
    let received = 0;
    const t0 = Date.now();
    for (let i = 0; i < N; i++) {
      const line = `line ${i}: ${'abc'.repeat(i)}end`;
      const answer = await tcpExchange(ep.ip, ep.port, line);
      assert.match(answer, new RegExp(` : LINE ${i}: (ABC){${i}}END$`));
      sent += Buffer.byteLength(line + '\n');
      received += Buffer.byteLength(answer + '\n');
    }
    timings.mark(`${N} echo lines, one connection each`, t0);

    const expect = { flowsOpened: N, flowsClosed: N, flowsActive: 0, bytesOut: sent, bytesIn: received };
    const figures = (a: any) =>
      a && { flowsOpened: a.flowsOpened, flowsClosed: a.flowsClosed, flowsActive: a.flowsActive, bytesOut: a.bytesOut, bytesIn: a.bytesIn };
    const t1 = Date.now();
    const client = await eventually('private counted every flow closed', 30_000, async () => {
      const a = await echoAggregate(privIp, 'listener');
      return a?.flowsClosed === N ? a : undefined;
    });
    const server = await eventually('public counted every flow closed', 30_000, async () => {
      const a = await echoAggregate(pubIp, 'connector');
      return a?.flowsClosed === N ? a : undefined;
    });
    timings.mark('last echo to both routers counted', t1);
    assert.deepEqual(figures(client), expect, 'private (the client side)');
    assert.deepEqual(figures(server), expect, 'public (the connector side)');
    assert.deepEqual([client.sourceSite, client.destSite, server.sourceSite, server.destSite], ['private', 'public', 'private', 'public']);
    assert.deepEqual([client.errors, server.errors], [[], []]);
    assert.equal(
      server.ttfb.counts.reduce((s: number, n: number) => s + n, 0),
      N,
      'a time to first byte per flow at the connector side',
    );

    // /metrics on each site's status listener.
    for (const [ip, side] of [
      [privIp, 'listener'],
      [pubIp, 'connector'],
    ]) {
      const text = await (await fetch(`http://${ip}:9192/metrics`)).text();
      const { samples } = parsePrometheus(text);
      const value = (name: string) =>
        samples.find(
          (s) => s.name === name && s.labels.routing_key === ADDRESS && s.labels.side === side && s.labels.source_site === 'private',
        )?.value;
      assert.equal(value('skupper_connections_opened_total'), N, `opened at ${side}`);
      assert.equal(value('skupper_connections_closed_total'), N, `closed at ${side}`);
      assert.equal(value('skupper_sent_bytes_total'), sent, `sent at ${side}`);
      assert.equal(value('skupper_received_bytes_total'), received, `received at ${side}`);
      assert.equal(value('skupper_latency_seconds_count'), N, `a time to first byte per flow at ${side}`);
      assert.ok(samples.some((s) => s.name === 'skupper_site_info' && s.labels.site_name === (side === 'listener' ? 'private' : 'public')));
    }

    // Published with the network status, read by the CLI in private (it names both sites' counters).
    const t2 = Date.now();
    const network = await eventually('network status with the traffic', 60_000, async () => {
      const r = await cast.priv.van('network', 'status', '-o', 'json');
      if (r.code !== 0) return undefined;
      const n = JSON.parse(r.out);
      const svc = n.services?.find((s: any) => s.address === ADDRESS);
      return svc?.traffic?.flowsTotal === N && svc.traffic.bytesOut === sent ? n : undefined;
    });
    timings.mark('counted to published (van network status in private)', t2);
    const svc = network.services.find((s: any) => s.address === ADDRESS);
    assert.deepEqual(svc.traffic.bytesIn, received);
    assert.equal(svc.traffic.flowsActive, 0);
    assert.equal(svc.traffic.errors, 0);
    assert.ok(svc.traffic.ttfbMsP50 > 0, `ttfb p50 ${svc.traffic.ttfbMsP50}`);
    const pair = network.sitePairs.find((p: any) => p.sourceSite === 'private' && p.destSite === 'public');
    assert.deepEqual([pair.traffic.flowsTotal, pair.traffic.bytesOut, pair.traffic.bytesIn], [N, sent, received]);

    const services = await cast.priv.json('service', 'status');
    const echo = services.find((s: any) => s.address === ADDRESS);
    assert.deepEqual([echo.traffic.flowsTotal, echo.traffic.bytesOut, echo.traffic.bytesIn], [N, sent, received]);
    const human = await cast.priv.must('service', 'status');
    assert.match(human, /FLOWS \(ACTIVE\/TOTAL\)/);
    assert.match(human, new RegExp(`${ADDRESS}\\s+tcp\\s+9090\\s+remote\\s+0/${N}\\s`));

    const flows = await cast.priv.json('flows', '--address', ADDRESS);
    const mine = flows.filter((f: any) => f.sourceSite === 'private' && f.destSite === 'public' && f.end === 'closed');
    assert.ok(mine.length >= 8, `${mine.length} recent flows`);
    // The newest flow is the last line sent: 'line 11: abc...' + newline.
    const last = `line ${N - 1}: ${'abc'.repeat(N - 1)}end\n`;
    assert.ok(
      mine.some((f: any) => f.bytesOut === Buffer.byteLength(last)),
      'the last flow, with its bytes',
    );
  } catch (error) {
    t.diagnostic(await cast.pub.routerLogs().catch(() => ''));
    t.diagnostic(await cast.priv.routerLogs().catch(() => ''));
    throw error;
  }
});
