import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { createCA, issueCertificate } from '../../../src/core/pki';
import {
  certTokenSecret,
  claimTokenSecret,
  describeToken,
  formatDescription,
  parseDuration,
  parseToken,
  tokenYaml,
} from '../../../src/core/token/token';

const ca = createCA('site-a-ca');
const site = { id: '11111111-aaaa', name: 'a' };

function claimYaml(overrides: { expires?: Date; url?: string } = {}): string {
  return tokenYaml(
    claimTokenSecret({
      name: 'c1',
      password: 'secret-password',
      url: overrides.url ?? 'https://127.0.0.5:8081/c1',
      caPem: ca.certPem,
      site,
      expires: overrides.expires ?? new Date(Date.now() + 15 * 60_000),
      uses: 2,
    }),
  );
}

const client = issueCertificate(ca, { commonName: 'l', usage: 'client' });
function certYaml(): string {
  return tokenYaml(
    certTokenSecret({
      name: 't1',
      certPem: client.certPem,
      keyPem: client.keyPem,
      caPem: ca.certPem,
      interRouter: { host: '127.0.0.5', port: 55671 },
      edge: { host: '127.0.0.5', port: 45671 },
      site,
    }),
  );
}

describe('token files', () => {
  test('a claim token round-trips with Skupper 1.x names', () => {
    const text = claimYaml();
    assert.match(text, /skupper\.io\/type: token-claim/);
    assert.match(text, /skupper\.io\/url: https:\/\/127\.0\.0\.5:8081\/c1/);
    assert.match(text, /skupper\.io\/generated-by: 11111111-aaaa/);
    const t = parseToken(text);
    assert.equal(t.type, 'claim');
    if (t.type !== 'claim') return;
    assert.equal(t.name, 'c1');
    assert.equal(t.password, 'secret-password');
    assert.equal(t.caPem, ca.certPem);
    assert.deepEqual(t.issuer, site);
    assert.equal(t.uses, 2);
  });

  test('a cert token round-trips', () => {
    const text = certYaml();
    assert.match(text, /skupper\.io\/type: connection-token/);
    assert.match(text, /inter-router-host: 127\.0\.0\.5/);
    const t = parseToken(text);
    assert.equal(t.type, 'cert');
    if (t.type !== 'cert') return;
    assert.deepEqual(t.interRouter, { host: '127.0.0.5', port: 55671 });
    assert.deepEqual(t.edge, { host: '127.0.0.5', port: 45671 });
    assert.equal(t.keyPem, client.keyPem);
  });

  const bad: [string, string, RegExp][] = [
    ['empty', '', /is empty/],
    ['malformed YAML', 'kind: Secret\n  metadata: [oops\n', /not valid YAML/],
    ['two documents', 'kind: Secret\n---\nkind: Secret\n', /2 YAML documents/],
    ['a list', '- a\n- b\n', /not a Kubernetes object/],
    ['not a Secret', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n', /is a ConfigMap, not a Secret/],
    ['no label', 'apiVersion: v1\nkind: Secret\nmetadata: {name: x}\n', /without the label skupper\.io\/type/],
    ['other type', 'apiVersion: v1\nkind: Secret\nmetadata: {name: x, labels: {skupper.io/type: foo}}\n', /of type "foo", not a token/],
    ['claim record', 'apiVersion: v1\nkind: Secret\nmetadata: {name: x, labels: {skupper.io/type: token-claim-record}}\n', /claim record/],
    [
      'no issuer',
      'apiVersion: v1\nkind: Secret\nmetadata: {name: x, labels: {skupper.io/type: token-claim}}\n',
      /no skupper\.io\/generated-by/,
    ],
  ];
  for (const [what, text, re] of bad) {
    test(`refuses ${what} with a precise reason`, () => {
      assert.throws(
        () => parseToken(text),
        (e: Error) => {
          assert.match(e.message, re);
          assert.equal(e.message.includes('\n'), false, 'one line');
          return true;
        },
      );
    });
  }

  test('refuses a claim without password, url or CA, naming what is missing', () => {
    const base = parseYamlObj(claimYaml());
    const noPassword = structuredClone(base);
    delete noPassword.data.password;
    assert.throws(() => parseToken(stringify(noPassword)), /claim token without a password/);
    const noUrl = structuredClone(base);
    delete noUrl.metadata.annotations['skupper.io/url'];
    assert.throws(() => parseToken(stringify(noUrl)), /without the skupper\.io\/url annotation/);
    const httpUrl = structuredClone(base);
    httpUrl.metadata.annotations['skupper.io/url'] = 'http://x:8081/c1';
    assert.throws(() => parseToken(stringify(httpUrl)), /must be an https URL/);
    const noCa = structuredClone(base);
    delete noCa.data['ca.crt'];
    assert.throws(() => parseToken(stringify(noCa)), /no ca\.crt \(the CA of the issuing site\)/);
    const badCa = structuredClone(base);
    badCa.data['ca.crt'] = Buffer.from('hello').toString('base64');
    assert.throws(() => parseToken(stringify(badCa)), /ca\.crt is not a PEM certificate/);
  });

  test('refuses a cert token without key, host or with a bad port', () => {
    const base = parseYamlObj(certYaml());
    const noKey = structuredClone(base);
    delete noKey.data['tls.key'];
    assert.throws(() => parseToken(stringify(noKey)), /no tls\.key \(the client key\)/);
    const noHost = structuredClone(base);
    delete noHost.metadata.annotations['inter-router-host'];
    assert.throws(() => parseToken(stringify(noHost)), /no inter-router-host annotation/);
    const badPort = structuredClone(base);
    badPort.metadata.annotations['inter-router-port'] = 'abc';
    assert.throws(() => parseToken(stringify(badPort)), /inter-router-port must be a port number \(got "abc"\)/);
  });

  test('inspect says expires in / expired ago, and whether it is valid offline', () => {
    const live = describeToken(parseToken(claimYaml({ expires: new Date(Date.now() + 12 * 60_000 + 1000) })));
    assert.equal(live.valid, true);
    assert.equal(live.expiry, 'expires in 12 minutes');
    assert.equal(live.endpoint, 'https://127.0.0.5:8081/c1');
    assert.match(formatDescription(live), /Valid: +yes/);
    const dead = describeToken(parseToken(claimYaml({ expires: new Date(Date.now() - 2 * 3600_000) })));
    assert.equal(dead.valid, false);
    assert.equal(dead.expiry, 'expired 2 hours ago');
    assert.match(formatDescription(dead), /Valid: +no: the claim expired 2 hours ago/);
    const cert = describeToken(parseToken(certYaml()));
    assert.equal(cert.type, 'cert');
    assert.equal(cert.valid, true);
    assert.match(cert.endpoint, /127\.0\.0\.5:55671/);
  });

  test('durations', () => {
    assert.equal(parseDuration('15m'), 15 * 60_000);
    assert.equal(parseDuration('1h30m'), 90 * 60_000);
    assert.equal(parseDuration('90s'), 90_000);
    assert.equal(parseDuration('2d'), 2 * 86_400_000);
    assert.equal(parseDuration('10'), 10 * 60_000);
    assert.throws(() => parseDuration('soon'), /--expiry must be a duration/);
    assert.throws(() => parseDuration('0m'), /longer than zero/);
  });
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function parseYamlObj(text: string): any {
  return parse(text);
}
