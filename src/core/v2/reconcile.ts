// One pass over a namespace's Skupper 2.x resources: what they ask for is made with the same core
// functions `van` uses (initSite, the services ConfigMap, claims, link Secrets), then each resource's
// status is written as Skupper 2.x writes it. Level-triggered: every pass reads everything again, so a
// missed event or a restart loses nothing.
import { errorMessage } from '../errors';
import { KubeClient, type KubeObject } from '../kube/client';
import { ADDRESS_LABEL } from '../agent/servicesReconcile';
import { KubeLinkSite } from '../link/kubeSite';
import { linkSecret } from '../link/link';
import { parseStatusDoc } from '../link/site';
import { type ServiceDefinition, definitionToJson, parseServicesData } from '../service/definition';
import { siteRecordFrom } from '../site/build';
import { initSite } from '../site/kube';
import {
  CONTROLLED_ANNOTATION,
  NETWORK_STATUS_CONFIGMAP,
  PART_OF,
  PART_OF_LABEL,
  ROUTER,
  ROUTER_SELECTOR,
  SERVICES_CONFIGMAP,
  SITE_CONFIGMAP,
  type Ingress,
} from '../site/names';
import { newClaimRecord } from '../token/claims';
import { ClaimRefused, redeemClaimToken } from '../token/claimsClient';
import { urlHost } from '../token/issue';
import { newClaimName, newPassword, parseDuration } from '../token/token';
import { TYPE_CERT, TYPE_LABEL, type SecretManifest } from '../token/types';
import { V2Api } from './api';
import { MODE_ANNOTATION, V2_MODE, siteModeOf } from './mode';
import {
  type AccessGrantSpec,
  type AccessTokenSpec,
  type LinkSpec,
  type ConditionState,
  type ConnectorSpec,
  type ListenerSpec,
  type SiteSpec,
  type V2Object,
  type V2Status,
  failed,
  nextStatus,
  pending,
  ready,
  sameStatus,
} from './types';
import { accessGrantProblems, accessTokenProblems, connectorProblems, listenerProblems, parseSelector, siteProblems } from './validate';

/** Labels the controller puts on what it makes for a resource (a Listener's Service, a token's link Secret). */
export const MADE_FOR_LABEL = 'skupper.io/made-for';

export interface ReconcileOptions {
  /** The router bundle to install with a site (gzip); read from the controller's own mount. */
  bundleGzip: () => Buffer;
  routerImage?: string;
  log?: (line: string) => void;
  now?: () => Date;
}

interface NetworkJson {
  sites?: { id: string; name: string; namespace?: string; platform?: string }[];
  services?: { address: string; ports: number[]; exposedIn?: string[] }[];
}

const ownerOf = (o: V2Object<unknown>) => ({
  apiVersion: o.apiVersion,
  kind: o.kind,
  name: o.metadata.name,
  uid: o.metadata.uid!,
  controller: true,
});
const older = (a: V2Object<unknown>, b: V2Object<unknown>) =>
  String((a.metadata as { creationTimestamp?: string }).creationTimestamp ?? '').localeCompare(
    String((b.metadata as { creationTimestamp?: string }).creationTimestamp ?? ''),
  ) || a.metadata.name.localeCompare(b.metadata.name);

/** The 1.x site options a Site asks for. */
export function siteOptionsOf(spec: SiteSpec | undefined): { ingress: Ingress; routerMode: 'interior' | 'edge'; routers: number } {
  const access = spec?.linkAccess;
  const ingress: Ingress =
    spec?.edge || access === undefined || access === 'none' ? 'none' : access === 'nodeport' ? 'nodeport' : 'loadbalancer';
  return { ingress, routerMode: spec?.edge ? 'edge' : 'interior', routers: spec?.ha ? 2 : 1 };
}

/** The service definitions the Connectors ask for (one per routing key), and each Connector's problem if any. */
export function connectorDefinitions(connectors: V2Object<ConnectorSpec>[]): {
  definitions: ServiceDefinition[];
  problems: Map<string, string>;
} {
  const byKey = new Map<string, ServiceDefinition>();
  const problems = new Map<string, string>();
  for (const c of [...connectors].sort(older)) {
    const spec = c.spec!;
    const listed = connectorProblems(spec);
    if (listed.length) {
      problems.set(c.metadata.name, listed.join('; '));
      continue;
    }
    const key = spec.routingKey!;
    const target = spec.selector
      ? {
          name: c.metadata.name,
          selector: Object.entries(parseSelector(spec.selector) as Record<string, string>)
            .map(([k, v]) => `${k}=${v}`)
            .join(','),
          targetPorts: { [String(spec.port)]: spec.port! },
        }
      : { name: c.metadata.name, host: spec.host!, targetPorts: { [String(spec.port)]: spec.port! } };
    const existing = byKey.get(key);
    if (!existing) {
      byKey.set(key, { address: key, protocol: 'tcp', ports: [spec.port!], targets: [target] });
    } else if (existing.ports[0] !== spec.port) {
      problems.set(
        c.metadata.name,
        `routing key ${key} already has a connector on port ${existing.ports[0]} here: use that port, or another routing key`,
      );
    } else existing.targets.push(target);
  }
  return { definitions: [...byKey.values()], problems };
}

export class NamespaceReconciler {
  readonly api: V2Api;
  private readonly log: (line: string) => void;
  private readonly now: () => Date;

  constructor(
    readonly client: KubeClient,
    private readonly options: ReconcileOptions,
  ) {
    this.api = new V2Api(client);
    this.log = options.log ?? (() => undefined);
    this.now = options.now ?? (() => new Date());
  }

  get namespace(): string {
    return this.client.namespace;
  }

  private async status(
    object: V2Object<unknown>,
    states: Record<string, ConditionState>,
    required: string[],
    extra: Record<string, unknown> = {},
  ) {
    const next = nextStatus(
      object.status,
      object.metadata.generation,
      states,
      required,
      { ...this.keep(object.status), ...extra },
      this.now(),
    );
    if (sameStatus(object.status, next)) return;
    await this.api.writeStatus(object, next);
  }

  /** Status fields that are not conditions and that a pass did not recompute (e.g. a grant's code). */
  private keep(status: V2Status | undefined): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(status ?? {})) if (!['status', 'message', 'conditions'].includes(k)) out[k] = v;
    return out;
  }

  async reconcile(): Promise<void> {
    const sites = (await this.api.list<SiteSpec>('Site')).filter((s) => !s.metadata.deletionTimestamp).sort(older);
    const [connectors, listeners, grants, tokens] = await Promise.all([
      this.api.list<ConnectorSpec>('Connector'),
      this.api.list<ListenerSpec>('Listener'),
      this.api.list<AccessGrantSpec>('AccessGrant'),
      this.api.list<AccessTokenSpec>('AccessToken'),
    ]);
    const active = sites[0];
    for (const extra of sites.slice(1)) {
      await this.status(
        extra,
        { Configured: failed(`Site ${active.metadata.name} is the active site of this namespace: delete this one`) },
        ['Configured'],
      );
    }
    const siteCm = active ? await this.reconcileSite(active) : undefined;
    const noSite = pending(`No active site in namespace ${this.namespace}: create a Site`);
    const dependents: V2Object<unknown>[] = [...connectors, ...listeners, ...grants, ...tokens];
    if (!siteCm) {
      for (const o of dependents) await this.status(o, { Configured: noSite }, ['Configured']);
      return;
    }
    const network = await this.networkJson();
    await this.reconcileConnectors(connectors, network);
    await this.reconcileListeners(listeners);
    for (const grant of grants) await this.guard(grant, () => this.reconcileGrant(grant));
    for (const token of tokens) await this.guard(token, () => this.reconcileToken(token, siteCm));
    await this.reconcileLinks();
  }

  /** A failure of one resource is its condition, never the end of the pass. */
  private async guard(object: V2Object<unknown>, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (error) {
      this.log(`${object.kind} ${this.namespace}/${object.metadata.name}: ${errorMessage(error)}`);
      await this.status(object, { Configured: failed(errorMessage(error)) }, ['Configured']).catch(() => undefined);
    }
  }

  /** Makes (or adopts) the site a Site asks for; undefined when there is none to build on. */
  private async reconcileSite(site: V2Object<SiteSpec>): Promise<KubeObject | undefined> {
    const problems = siteProblems(site.spec);
    if (problems.length) {
      await this.status(site, { Configured: failed(problems.join('; ')) }, ['Configured']);
      return undefined;
    }
    let cm = await this.client.get<KubeObject>('ConfigMap', SITE_CONFIGMAP);
    if (cm && siteModeOf(cm) !== 'v2') {
      const name = siteRecordFrom(cm).name;
      await this.status(
        site,
        {
          Configured: failed(
            `namespace ${this.namespace} already has site ${name}, made by "van init" (Skupper 1.x style): ` +
              'delete it ("van delete") to manage the site with this Site, or delete this Site',
          ),
        },
        ['Configured'],
      );
      return undefined;
    }
    const wanted = siteOptionsOf(site.spec);
    const record = cm ? siteRecordFrom(cm) : undefined;
    const differs =
      !record ||
      record.name !== site.metadata.name ||
      record.ingress !== wanted.ingress ||
      record.routerMode !== wanted.routerMode ||
      record.routers !== wanted.routers;
    if (differs) {
      try {
        this.log(`${cm ? 'updating' : 'creating'} site ${site.metadata.name} in ${this.namespace}`);
        await initSite(this.client, {
          namespace: this.namespace,
          siteName: site.metadata.name,
          ...wanted,
          annotations: { [MODE_ANNOTATION]: V2_MODE },
          update: cm !== undefined,
          bundleGzip: this.options.bundleGzip(),
          routerImage: this.options.routerImage,
          noWait: true,
          ingressTimeoutMs: 15_000,
        });
      } catch (error) {
        await this.status(site, { Configured: failed(errorMessage(error)) }, ['Configured']);
        return undefined;
      }
      cm = await this.client.get<KubeObject>('ConfigMap', SITE_CONFIGMAP);
      if (!cm) return undefined;
    }
    // The Site owns the site: deleting it removes the site ConfigMap and, through it, everything else.
    const owners = cm!.metadata.ownerReferences ?? [];
    if (!owners.some((o) => o.uid === site.metadata.uid)) {
      const siteRef = {
        apiVersion: site.apiVersion,
        kind: 'Site',
        name: site.metadata.name,
        uid: site.metadata.uid!,
        blockOwnerDeletion: false,
      };
      cm = await this.client.createOrUpdate<KubeObject>(cm!, (existing) => ({
        ...existing,
        metadata: {
          ...existing.metadata,
          ownerReferences: [...(existing.metadata.ownerReferences ?? []).filter((o) => o.kind !== 'Site'), siteRef],
        },
      }));
    }
    const deployment = await this.client.get<{ status?: { readyReplicas?: number } }>('Deployment', ROUTER);
    const running = (deployment?.status?.readyReplicas ?? 0) > 0 ? ready() : pending('Not Running');
    const states: Record<string, ConditionState> = { Configured: ready(), Running: running };
    const required = ['Configured', 'Running'];
    const endpoints: { name: string; host: string; port: string; group: string }[] = [];
    if (wanted.ingress !== 'none') {
      const svc = await this.client.get<{
        spec?: { ports?: { name?: string; port: number; nodePort?: number }[] };
        status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
      }>('Service', ROUTER);
      const lb = svc?.status?.loadBalancer?.ingress?.[0];
      const host = lb?.ip ?? lb?.hostname;
      if (host && wanted.ingress === 'loadbalancer') {
        for (const p of svc?.spec?.ports ?? [])
          endpoints.push({ name: p.name ?? String(p.port), host, port: String(p.port), group: `${ROUTER}-1` });
      }
      states.Resolved = endpoints.length || wanted.ingress === 'nodeport' ? ready() : pending('Link access not yet resolved');
      required.push('Resolved');
    }
    const network = await this.networkJson();
    const sitesInNetwork = Math.max(1, network?.sites?.length ?? 1);
    await this.status(site, states, required, {
      sitesInNetwork,
      defaultIssuer: 'skupper-site-ca',
      ...(endpoints.length ? { endpoints } : {}),
      network: (network?.sites ?? []).map((s) => ({
        id: s.id,
        name: s.name,
        namespace: s.namespace,
        platform: s.platform ?? 'kubernetes',
      })),
    });
    return cm;
  }

  private async networkJson(): Promise<NetworkJson | undefined> {
    const cm = await this.client.get<KubeObject>('ConfigMap', NETWORK_STATUS_CONFIGMAP);
    const text = (cm?.data as Record<string, string> | undefined)?.['network.json'];
    try {
      return text ? (JSON.parse(text) as NetworkJson) : undefined;
    } catch {
      return undefined;
    }
  }

  /** The services ConfigMap holds exactly what the Connectors ask for: the agent announces it to every linked site. */
  private async reconcileConnectors(connectors: V2Object<ConnectorSpec>[], network: NetworkJson | undefined): Promise<void> {
    const { definitions, problems } = connectorDefinitions(connectors.filter((c) => !c.metadata.deletionTimestamp));
    const cm = await this.client.get<KubeObject>('ConfigMap', SERVICES_CONFIGMAP);
    let writeError: string | undefined;
    if (cm) {
      const data: Record<string, string> = {};
      for (const def of definitions) data[def.address] = definitionToJson(def);
      const current = parseServicesData(((cm.data ?? {}) as Record<string, string>) ?? {}).definitions;
      const same = JSON.stringify(current.map(definitionToJson).sort()) === JSON.stringify(definitions.map(definitionToJson).sort());
      if (!same) {
        try {
          await this.client.createOrUpdate({ ...cm, data }, (existing) => ({ ...existing, data }));
          this.log(`services of ${this.namespace}: ${definitions.map((d) => d.address).join(', ') || 'none'}`);
        } catch (error) {
          writeError = errorMessage(error);
        }
      }
    } else writeError = `the site's ConfigMap ${SERVICES_CONFIGMAP} is missing: the site is still being made`;
    const otherSites = (network?.sites?.length ?? 1) > 1;
    for (const c of connectors) {
      const problem = problems.get(c.metadata.name);
      if (problem) {
        await this.status(c, { Configured: failed(problem) }, ['Configured'], { hasMatchingListener: false });
        continue;
      }
      const selectedPods = c.spec?.selector ? await this.selectedPods(c.spec.selector) : [];
      // Every linked site listens for every service (as Skupper 1.x does), so another site in the network is a listener.
      await this.status(c, { Configured: writeError ? failed(writeError) : ready() }, ['Configured'], {
        hasMatchingListener: otherSites,
        ...(c.spec?.selector ? { selectedPods } : {}),
      });
    }
  }

  private async selectedPods(selector: string): Promise<{ name: string; ip: string }[]> {
    try {
      const pods = await this.client.list<{ metadata?: { name?: string }; status?: { podIP?: string; phase?: string } }>('Pod', selector);
      return pods
        .filter((p) => p.status?.podIP && p.status.phase === 'Running')
        .map((p) => ({ name: p.metadata!.name!, ip: p.status!.podIP! }));
    } catch {
      return [];
    }
  }

  /** A Listener is the agent's Service of its routing key when the host is the key, else a Service of its own in front of the router. */
  private async reconcileListeners(listeners: V2Object<ListenerSpec>[]): Promise<void> {
    type Svc = KubeObject & { spec?: { ports?: { port: number; targetPort?: number | string }[] } };
    const services = await this.client.list<Svc>('Service', ADDRESS_LABEL);
    const agentService = (key: string) =>
      services.find((s) => s.metadata.labels?.[ADDRESS_LABEL] === key && s.metadata.annotations?.[CONTROLLED_ANNOTATION] === 'true');
    for (const l of listeners) {
      const problems = listenerProblems(l.spec);
      if (problems.length) {
        await this.status(l, { Configured: failed(problems.join('; ')) }, ['Configured', 'Operational'], { hasMatchingConnector: false });
        continue;
      }
      const { routingKey, host, port } = l.spec as Required<Pick<ListenerSpec, 'routingKey' | 'host' | 'port'>>;
      const routed = agentService(routingKey);
      const noConnector = pending(`No matching connector in the network for routing key ${routingKey}`);
      let configured: ConditionState;
      if (host === routingKey) {
        const ports = (routed?.spec?.ports ?? []).map((p) => p.port);
        configured = !routed
          ? noConnector
          : ports.includes(port)
            ? ready()
            : failed(`the connectors of ${routingKey} serve port ${ports.join(', ')}: use that port, or another host`);
      } else {
        configured = await this.guardMessage(() => this.listenerService(l, host, port, routed));
      }
      await this.status(l, { Configured: configured, Operational: routed ? ready() : noConnector }, ['Configured', 'Operational'], {
        hasMatchingConnector: routed !== undefined,
      });
    }
  }

  private async guardMessage(fn: () => Promise<ConditionState>): Promise<ConditionState> {
    try {
      return await fn();
    } catch (error) {
      return failed(errorMessage(error));
    }
  }

  private async listenerService(
    l: V2Object<ListenerSpec>,
    host: string,
    port: number,
    routed: (KubeObject & { spec?: { ports?: { port: number; targetPort?: number | string }[] } }) | undefined,
  ): Promise<ConditionState> {
    const existing = await this.client.get<KubeObject>('Service', host);
    if (existing && existing.metadata.labels?.[MADE_FOR_LABEL] !== `listener.${l.metadata.name}`) {
      return failed(`a Service named ${host} exists here and is not this listener's: choose another spec.host`);
    }
    // The router listens for the routing key on the port the agent's Service targets.
    const targetPort = routed?.spec?.ports?.[0]?.targetPort;
    if (targetPort === undefined) return pending(`No matching connector in the network for routing key ${l.spec!.routingKey}`);
    await this.client.createOrUpdate({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: host,
        namespace: this.namespace,
        labels: { [PART_OF_LABEL]: PART_OF, [MADE_FOR_LABEL]: `listener.${l.metadata.name}` },
        ownerReferences: [ownerOf(l)],
      },
      spec: { type: 'ClusterIP', selector: { ...ROUTER_SELECTOR }, ports: [{ name: `port${port}`, port, targetPort, protocol: 'TCP' }] },
    });
    return ready();
  }

  /** A grant is a claim of the site (the claims endpoint redeems it): its URL, code and CA go to status. */
  private async reconcileGrant(grant: V2Object<AccessGrantSpec>): Promise<void> {
    const problems = accessGrantProblems(grant.spec);
    if (problems.length) return this.status(grant, { Processed: failed(problems.join('; ')) }, ['Processed']);
    const site = new KubeLinkSite(this.client);
    const status = grant.status ?? {};
    const claimName = typeof status.url === 'string' ? new URL(status.url).pathname.slice(1) : undefined;
    const existing = claimName ? await site.claims().get(claimName) : undefined;
    if (existing) {
      const record = existing.record;
      const expired = record.expires.getTime() <= this.now().getTime();
      const usedUp = record.usesMade >= record.usesAllowed;
      return this.status(
        grant,
        {
          Processed: ready(),
          Resolved: ready(),
          ...(expired ? { Redeemable: failed('the grant expired: delete it and make a new one') } : {}),
          ...(usedUp && !expired ? { Redeemable: failed('every redemption was used: delete it and make a new one') } : {}),
        },
        ['Processed', 'Resolved', ...(expired || usedUp ? ['Redeemable'] : [])],
        { redemptions: record.usesMade },
      );
    }
    const answer = await site.ingress();
    if (!answer.ok) return this.status(grant, { Processed: ready(), Resolved: pending(answer.reason) }, ['Processed', 'Resolved']);
    const ca = await site.ca();
    const name = newClaimName();
    const code = grant.spec?.code ?? newPassword();
    const expires = new Date(this.now().getTime() + parseDuration(grant.spec?.expirationWindow ?? '15m', 'spec.expirationWindow'));
    const uses = grant.spec?.redemptionsAllowed ?? 1;
    await site.claims().create(newClaimRecord(name, code, uses, expires, this.now()));
    const url = `https://${urlHost(answer.ingress.host)}:${answer.ingress.claimsPort}/${name}`;
    await this.status(grant, { Processed: ready(), Resolved: ready() }, ['Processed', 'Resolved'], {
      url,
      code,
      ca: ca.certPem,
      redemptions: 0,
      expirationTime: expires.toISOString(),
    });
  }

  /** A token is redeemed once (the site's claim client), into a link Secret and a Link named after it. */
  private async reconcileToken(token: V2Object<AccessTokenSpec>, siteCm: KubeObject): Promise<void> {
    if (token.status?.redeemed) return;
    const problems = accessTokenProblems(token.spec);
    if (problems.length) return this.status(token, { Redeemed: failed(problems.join('; ')) }, ['Redeemed'], { redeemed: false });
    const spec = token.spec as Required<Pick<AccessTokenSpec, 'url' | 'code' | 'ca'>> & AccessTokenSpec;
    const self = siteRecordFrom(siteCm);
    const url = new URL(spec.url);
    let cert;
    try {
      cert = await redeemClaimToken(
        { type: 'claim', name: url.pathname.slice(1), url: spec.url, password: spec.code, caPem: spec.ca, issuer: { id: '' } },
        { siteId: self.id, siteName: self.name, timeoutMs: 10_000 },
      );
    } catch (error) {
      // A refusal is final (used up, expired, wrong code); anything else is tried again next pass.
      const final = error instanceof ClaimRefused;
      return this.status(token, { Redeemed: final ? failed(errorMessage(error)) : pending(errorMessage(error)) }, ['Redeemed'], {
        redeemed: false,
      });
    }
    const name = token.metadata.name;
    const cost = spec.linkCost ?? 1;
    const secret: SecretManifest = linkSecret(cert, name, cost);
    secret.metadata.namespace = this.namespace;
    secret.metadata.labels = { ...secret.metadata.labels, [MADE_FOR_LABEL]: `link.${name}` };
    const link = await this.api.apply({
      apiVersion: token.apiVersion,
      kind: 'Link',
      metadata: { name, namespace: this.namespace, labels: { [MADE_FOR_LABEL]: `accesstoken.${name}` } },
      spec: {
        endpoints: [
          { name: 'inter-router', host: cert.interRouter.host, port: String(cert.interRouter.port), group: `${ROUTER}-1` },
          ...(cert.edge ? [{ name: 'edge', host: cert.edge.host, port: String(cert.edge.port), group: `${ROUTER}-1` }] : []),
        ],
        tlsCredentials: name,
        cost,
      },
    });
    // The link Secret goes with its Link.
    secret.metadata.ownerReferences = [{ ...ownerOf(link), controller: true }];
    await this.client.createOrUpdate(secret as unknown as KubeObject);
    await this.status(token, { Redeemed: ready() }, ['Redeemed'], { redeemed: true });
  }

  /** Links: configured when their Secret is there, operational when the router reports the connection up. */
  private async reconcileLinks(): Promise<void> {
    const links = await this.api.list<LinkSpec>('Link');
    if (!links.length) return;
    const statusCm = await this.client.get<KubeObject>('ConfigMap', NETWORK_STATUS_CONFIGMAP);
    const doc = parseStatusDoc((statusCm?.data as Record<string, string> | undefined)?.['site.json']);
    for (const link of links) {
      const secretName = link.spec?.tlsCredentials ?? link.metadata.name;
      let secret = await this.client.get<SecretManifest>('Secret', secretName);
      if (secret && !link.metadata.labels?.[MADE_FOR_LABEL]) secret = await this.adoptLinkSecret(link, secret);
      const connection = doc?.connections?.find((c) => c.name === secretName && c.direction === 'outgoing');
      const configured = secret
        ? ready()
        : failed(`Secret ${secretName} (spec.tlsCredentials) is missing: create it, or redeem an AccessToken`);
      const operational =
        connection?.state === 'up'
          ? ready()
          : pending(connection?.lastError ? `Not Operational: ${connection.lastError}` : 'Not Operational');
      await this.status(link, { Configured: configured, Operational: operational }, ['Configured', 'Operational'], {
        remoteSiteId: connection?.remoteSiteId ?? secret?.metadata.annotations?.['skupper.io/generated-by'] ?? '',
        remoteSiteName: connection?.remoteSiteName ?? secret?.metadata.annotations?.['skupper.io/remote-site-name'] ?? '',
      });
    }
  }

  /**
   * A Link written by hand (Skupper 2.x's `link generate`): its Secret holds the certificates; the
   * router takes links from Secrets labelled as link Secrets with the endpoints in annotations.
   */
  private async adoptLinkSecret(link: V2Object<LinkSpec>, secret: SecretManifest): Promise<SecretManifest> {
    const endpoint = (name: string) => link.spec?.endpoints?.find((e) => e.name === name);
    const interRouter = endpoint('inter-router');
    const edge = endpoint('edge');
    const wanted: Record<string, string> = {
      ...(interRouter?.host ? { 'inter-router-host': interRouter.host, 'inter-router-port': String(interRouter.port ?? '') } : {}),
      ...(edge?.host ? { 'edge-host': edge.host, 'edge-port': String(edge.port ?? '') } : {}),
      'skupper.io/cost': String(link.spec?.cost ?? 1),
    };
    const annotations = secret.metadata.annotations ?? {};
    const labelled = secret.metadata.labels?.[TYPE_LABEL] === TYPE_CERT;
    if (labelled && Object.entries(wanted).every(([k, v]) => annotations[k] === v)) return secret;
    const next = {
      ...secret,
      metadata: {
        ...secret.metadata,
        labels: { ...secret.metadata.labels, [TYPE_LABEL]: TYPE_CERT },
        annotations: { ...annotations, ...wanted },
      },
    };
    await this.client.createOrUpdate(next as unknown as KubeObject);
    return next;
  }
}

/** A reconciler for another namespace with the same credentials. */
export function reconcilerFor(base: KubeClient, namespace: string, options: ReconcileOptions): NamespaceReconciler {
  return new NamespaceReconciler(new KubeClient(base.kc, base.contextName, base.server, namespace, base.timeoutMs), options);
}
