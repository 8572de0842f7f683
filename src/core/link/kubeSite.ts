// A site in a Kubernetes namespace, as links and tokens see it: the site ConfigMap (id = its uid),
// the router Service (ingress address and ports), the CA and server Secrets, claim records and link
// Secrets (owned by the site ConfigMap), and the published status (skupper-network-status/site.json).
import { UserError } from '../errors';
import type { KubeClient, KubeObject } from '../kube/client';
import { statusCode } from '../kube/errors';
import { createCA, describeCertificate, issueCertificate, type KeyPair } from '../pki';
import { NETWORK_STATUS_CONFIGMAP as STATUS_CONFIGMAP, ROUTER, SITE_CA_SECRET, SITE_CONFIGMAP, SITE_SERVER_SECRET } from '../site/names';
import { type ClaimRecord, type ClaimStore, recordFromSecret, recordSecret, type VersionedRecord } from '../token/claims';
import {
  DEFAULT_CLAIMS_PORT,
  DEFAULT_EDGE_PORT,
  DEFAULT_INTER_ROUTER_PORT,
  type OwnerReference,
  type SecretManifest,
  type SiteIdentity,
  TYPE_CERT,
  TYPE_CLAIM_RECORD,
  TYPE_LABEL,
} from '../token/types';
import { type IngressAnswer, type LinkSite, parseStatusDoc, secretText, type SiteStatusDoc } from './site';

export { NETWORK_STATUS_CONFIGMAP as STATUS_CONFIGMAP } from '../site/names';
export const SITE_STATUS_KEY = 'site.json';

interface ServiceLike {
  spec?: { type?: string; ports?: { name?: string; port: number; nodePort?: number }[] };
  status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
}

export class KubeLinkSite implements LinkSite {
  private site?: KubeObject;

  constructor(readonly client: KubeClient) {}

  get label(): string {
    return `namespace ${this.client.namespace} (context ${this.client.contextName})`;
  }

  private async siteConfigMap(): Promise<KubeObject> {
    if (this.site) return this.site;
    const cm = await this.client.get<KubeObject>('ConfigMap', SITE_CONFIGMAP);
    if (!cm) {
      throw new UserError(`no site in namespace ${this.client.namespace} (context ${this.client.contextName}): run "van init" there first`);
    }
    this.site = cm;
    return cm;
  }

  private data(): Record<string, string> {
    return (this.site?.data ?? {}) as Record<string, string>;
  }

  async identity(): Promise<SiteIdentity> {
    const cm = await this.siteConfigMap();
    const data = (cm.data ?? {}) as Record<string, string>;
    return { id: cm.metadata.uid ?? '', name: data.name || this.client.namespace };
  }

  async owner(): Promise<OwnerReference> {
    const cm = await this.siteConfigMap();
    return { apiVersion: 'v1', kind: 'ConfigMap', name: SITE_CONFIGMAP, uid: cm.metadata.uid!, controller: true };
  }

  async ingress(): Promise<IngressAnswer> {
    await this.siteConfigMap();
    const data = this.data();
    const ingress = data.ingress || 'loadbalancer';
    if (data['router-mode'] === 'edge') {
      return {
        ok: false,
        reason: 'this site is an edge site and accepts no incoming links: create the token on an interior site and link from here',
      };
    }
    if (ingress === 'none') {
      return {
        ok: false,
        reason: 'this site accepts no incoming links (ingress none); create the token on the other site and link from here',
      };
    }
    const svc = await this.client.get<ServiceLike>('Service', ROUTER);
    if (!svc)
      return {
        ok: false,
        reason: `service ${ROUTER} is missing in namespace ${this.client.namespace}: run "van init --update" to repair the site`,
      };
    const ports = svc.spec?.ports ?? [];
    const find = (name: string, def: number) => ports.find((p) => p.name === name) ?? ports.find((p) => p.port === def);
    if (ingress === 'nodeport') {
      const host = data['ingress-host'];
      if (!host)
        return {
          ok: false,
          reason:
            'this site uses ingress nodeport without an ingress host: re-run "van init --update --ingress-host HOST" so tokens can say where to connect',
        };
      const ir = find('inter-router', DEFAULT_INTER_ROUTER_PORT)?.nodePort;
      const edge = find('edge', DEFAULT_EDGE_PORT)?.nodePort;
      const claims = find('claims', DEFAULT_CLAIMS_PORT)?.nodePort;
      if (!ir || !edge || !claims) return { ok: false, reason: `service ${ROUTER} has no node ports yet: wait a moment and retry` };
      return { ok: true, ingress: { host, interRouterPort: ir, edgePort: edge, claimsPort: claims } };
    }
    const lb = svc.status?.loadBalancer?.ingress?.[0];
    const host = data['ingress-host'] || lb?.ip || lb?.hostname;
    if (!host) {
      return {
        ok: false,
        reason: `the site's LoadBalancer service ${ROUTER} has no address yet: wait until "kubectl get service ${ROUTER}" shows an EXTERNAL-IP, or use --ingress nodeport`,
      };
    }
    return {
      ok: true,
      ingress: {
        host,
        interRouterPort: find('inter-router', DEFAULT_INTER_ROUTER_PORT)?.port ?? DEFAULT_INTER_ROUTER_PORT,
        edgePort: find('edge', DEFAULT_EDGE_PORT)?.port ?? DEFAULT_EDGE_PORT,
        claimsPort: find('claims', DEFAULT_CLAIMS_PORT)?.port ?? DEFAULT_CLAIMS_PORT,
      },
    };
  }

  async ca(): Promise<KeyPair> {
    const secret = await this.client.get<SecretManifest>('Secret', SITE_CA_SECRET);
    const certPem = secret && secretText(secret, 'tls.crt');
    const keyPem = secret && secretText(secret, 'tls.key');
    if (!certPem || !keyPem)
      throw new UserError(
        `the site CA secret ${SITE_CA_SECRET} is missing or incomplete in namespace ${this.client.namespace}: run "van init --update" to repair the site`,
      );
    return { certPem, keyPem };
  }

  claims(): ClaimStore {
    return new KubeClaimStore(this.client, () => this.owner());
  }

  async secretExists(name: string): Promise<boolean> {
    return (await this.client.get('Secret', name)) !== undefined;
  }

  async listLinks(): Promise<SecretManifest[]> {
    return this.client.list<SecretManifest>('Secret', `${TYPE_LABEL}=${TYPE_CERT}`);
  }

  async saveLink(secret: SecretManifest): Promise<void> {
    const owner = await this.owner();
    const body = { ...secret, metadata: { ...secret.metadata, namespace: this.client.namespace, ownerReferences: [owner] } };
    try {
      await this.client.core.createNamespacedSecret({ namespace: this.client.namespace, body: body as never });
    } catch (e) {
      if (statusCode(e) === 409)
        throw new UserError(
          `a Secret named ${secret.metadata.name} already exists in namespace ${this.client.namespace}: choose another --name`,
        );
      throw await this.client.call('create', 'Secret', () => Promise.reject(e), secret.metadata.name).catch((x) => x);
    }
  }

  async deleteLink(name: string): Promise<boolean> {
    const secret = await this.client.get<SecretManifest>('Secret', name);
    if (!secret || secret.metadata.labels?.[TYPE_LABEL] !== TYPE_CERT) return false;
    return this.client.delete('Secret', name);
  }

  async readStatus(): Promise<SiteStatusDoc | undefined> {
    const cm = await this.client.get<KubeObject>('ConfigMap', STATUS_CONFIGMAP);
    return parseStatusDoc((cm?.data as Record<string, string> | undefined)?.[SITE_STATUS_KEY]);
  }

  async rotateCA(): Promise<{ records: number }> {
    const { name } = await this.identity();
    const server = await this.client.get<KubeObject>('Secret', SITE_SERVER_SECRET);
    const serverPem = server && secretText(server as SecretManifest, 'tls.crt');
    if (!server || !serverPem)
      throw new UserError(
        `the server certificate secret ${SITE_SERVER_SECRET} is missing in namespace ${this.client.namespace}: run "van init --update" to repair the site`,
      );
    const old = describeCertificate(serverPem);
    const ca = createCA(`${name} site CA`);
    const fresh = issueCertificate(ca, { commonName: ROUTER, dnsNames: old.dnsNames, ipAddresses: old.ipAddresses, usage: 'both' });
    const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
    const caSecret = await this.client.get<KubeObject>('Secret', SITE_CA_SECRET);
    if (!caSecret) throw new UserError(`the site CA secret ${SITE_CA_SECRET} is missing in namespace ${this.client.namespace}`);
    // The CA first: a claim redeemed in between gets a certificate of the new CA, which the new server accepts.
    await this.client.core.replaceNamespacedSecret({
      name: SITE_CA_SECRET,
      namespace: this.client.namespace,
      body: { ...caSecret, data: { 'tls.crt': b64(ca.certPem), 'tls.key': b64(ca.keyPem) } } as never,
    });
    await this.client.core.replaceNamespacedSecret({
      name: SITE_SERVER_SECRET,
      namespace: this.client.namespace,
      body: { ...server, data: { 'tls.crt': b64(fresh.certPem), 'tls.key': b64(fresh.keyPem), 'ca.crt': b64(ca.certPem) } } as never,
    });
    const records = await this.claims().deleteAll();
    return { records };
  }
}

/** Claim records as Secrets labelled skupper.io/type=token-claim-record, updated with resourceVersion. */
export class KubeClaimStore implements ClaimStore {
  constructor(
    private readonly client: KubeClient,
    private readonly owner: () => Promise<OwnerReference>,
  ) {}

  async get(name: string): Promise<VersionedRecord | undefined> {
    const secret = await this.client.get<SecretManifest>('Secret', name);
    if (!secret || secret.metadata.labels?.[TYPE_LABEL] !== TYPE_CLAIM_RECORD) return undefined;
    return { record: recordFromSecret(secret), version: secret.metadata.resourceVersion ?? '' };
  }

  async create(record: ClaimRecord): Promise<void> {
    const body = recordSecret(record, await this.owner());
    body.metadata.namespace = this.client.namespace;
    await this.client.create(body as unknown as KubeObject);
  }

  async update(record: ClaimRecord, version: string): Promise<'ok' | 'conflict' | 'gone'> {
    const body = recordSecret(record, await this.owner());
    body.metadata.namespace = this.client.namespace;
    body.metadata.resourceVersion = version;
    try {
      await this.client.core.replaceNamespacedSecret({ name: record.name, namespace: this.client.namespace, body: body as never });
      return 'ok';
    } catch (e) {
      const code = statusCode(e);
      if (code === 409) return 'conflict';
      if (code === 404) return 'gone';
      throw await this.client.call('update', 'Secret', () => Promise.reject(e), record.name).catch((x) => x);
    }
  }

  async list(): Promise<ClaimRecord[]> {
    return (await this.client.list<SecretManifest>('Secret', `${TYPE_LABEL}=${TYPE_CLAIM_RECORD}`)).map(recordFromSecret);
  }

  async delete(name: string): Promise<boolean> {
    return (await this.get(name)) ? this.client.delete('Secret', name) : false;
  }

  async deleteAll(): Promise<number> {
    const all = await this.client.list<SecretManifest>('Secret', `${TYPE_LABEL}=${TYPE_CLAIM_RECORD}`);
    for (const s of all) await this.client.delete('Secret', s.metadata.name);
    return all.length;
  }
}
