import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildLinkStatus, checkLinkable, formatLinkStatus, linkSecret, nextLinkName } from '../../../src/core/link/link';
import { statusDoc } from '../../../src/core/agent/modules/links';
import { createCA, issueCertificate } from '../../../src/core/pki';
import type { CertToken } from '../../../src/core/token/types';

const ca = createCA('pub-ca');
const client = issueCertificate(ca, { commonName: 'c', usage: 'client' });
const token: CertToken = {
  type: 'cert',
  name: 't',
  certPem: client.certPem,
  keyPem: client.keyPem,
  caPem: ca.certPem,
  interRouter: { host: '10.0.0.5', port: 55671 },
  edge: { host: '10.0.0.5', port: 45671 },
  issuer: { id: 'pub-id', name: 'public' },
};
const self = { id: 'priv-id', name: 'private' };

describe('links', () => {
  test('the link Secret carries what the agent and the read model need', () => {
    const s = linkSecret(token, 'link1', 3);
    assert.equal(s.metadata.labels?.['skupper.io/type'], 'connection-token');
    const a = s.metadata.annotations!;
    assert.equal(a['inter-router-host'], '10.0.0.5');
    assert.equal(a['inter-router-port'], '55671');
    assert.equal(a['edge-port'], '45671');
    assert.equal(a['skupper.io/cost'], '3');
    assert.equal(a['skupper.io/generated-by'], 'pub-id');
    assert.equal(a['skupper.io/remote-site-name'], 'public');
    assert.deepEqual(Object.keys(s.data!).sort(), ['ca.crt', 'tls.crt', 'tls.key']);
  });

  test('names: link1, link2, the first free one', () => {
    assert.equal(nextLinkName([]), 'link1');
    assert.equal(nextLinkName(['link1', 'link3']), 'link2');
  });

  test('refuses self links, duplicates (naming the link) and taken names', () => {
    assert.throws(
      () => checkLinkable({ ...token, issuer: { id: 'priv-id', name: 'private' } }, self, [], undefined),
      /issued by this very site \(private\)/,
    );
    const existing = [linkSecret(token, 'link1', 1)];
    assert.throws(
      () => checkLinkable(token, self, existing, undefined),
      /already linked to site public by link link1: delete it first \("van link delete link1"\)/,
    );
    const other = { ...token, issuer: { id: 'east-id', name: 'east' } };
    assert.throws(() => checkLinkable(other, self, existing, 'link1'), /a link named link1 already exists/);
    checkLinkable(other, self, existing, 'link2');
  });

  test('status joins Secrets and the published router state, incoming links by remote site', () => {
    const now = new Date('2026-01-01T00:10:00Z');
    const doc = statusDoc(
      self,
      [
        {
          name: 'link1',
          role: 'inter-router',
          direction: 'outgoing',
          host: '10.0.0.5',
          port: 55671,
          state: 'down',
          since: '2026-01-01T00:05:00Z',
          cost: 1,
          lastError: 'connection refused by 10.0.0.5:55671',
        },
        {
          role: 'inter-router',
          direction: 'incoming',
          host: '10.0.0.9',
          port: 40000,
          state: 'up',
          since: '2026-01-01T00:00:00Z',
          remoteSiteId: 'east-id',
          remoteSiteName: 'east',
          cost: 1,
        },
        {
          name: 'amqp',
          role: 'normal',
          direction: 'incoming',
          host: '127.0.0.1',
          port: 5672,
          state: 'up',
          since: '2026-01-01T00:00:00Z',
          cost: 1,
        },
      ],
      new Date('2026-01-01T00:09:55Z'),
    );
    const r = buildLinkStatus(self, [linkSecret(token, 'link1', 1)], doc, now);
    assert.equal(r.warning, undefined);
    assert.equal(r.links.length, 2);
    assert.deepEqual(
      { ...r.links[0], endpoint: undefined },
      {
        name: 'link1',
        direction: 'outgoing',
        connected: false,
        state: 'down',
        remoteSite: 'public',
        remoteSiteId: 'pub-id',
        cost: 1,
        error: 'connection refused by 10.0.0.5:55671',
        since: '2026-01-01T00:05:00Z',
        endpoint: undefined,
      },
    );
    assert.equal(r.links[1].remoteSite, 'east');
    assert.equal(r.links[1].connected, true);
    const text = formatLinkStatus(r, now);
    assert.match(text, /Link link1 to public is not active \(since 5 minutes ago\): connection refused/);
    assert.match(text, /Incoming links:\n {2}from east: active \(since 10 minutes ago\)/);
  });

  test('a missing or old status is said, not hidden', () => {
    const none = buildLinkStatus(self, [linkSecret(token, 'link1', 1)], undefined);
    assert.match(none.warning!, /not published its link status yet/);
    assert.equal(none.links[0].state, 'unknown');
    const old = buildLinkStatus(self, [], {
      siteId: 'x',
      siteName: 'y',
      updated: new Date(Date.now() - 5 * 60_000).toISOString(),
      connections: [],
    });
    assert.match(old.warning!, /last published 5 minutes ago/);
  });
});
