// The router configuration of a site, from what the site's store says: a pure function, so every
// rule (which listeners, which connectors, where the TLS files are) is tested without a router.
import { join } from 'node:path';
import type { RouterConfig, TcpConnectorConfig, TcpListenerConfig, TlsFiles } from '../router/config';
import { EDGE_PORT, type Ingress, INTER_ROUTER_PORT, LOCAL_AMQP_PORT, type RouterMode, acceptsLinks } from '../site/names';

export interface AgentSite {
  id: string;
  name: string;
  mode: RouterMode;
  ingress: Ingress;
  /** This router's id: the pod name (several replicas), or `<site name>` locally. */
  routerId: string;
  /** Where inter-router and edge listeners bind: the pod IP (or the local site's host). */
  listenHost: string;
  /** Where the local (plain AMQP) listener and management bind: 127.0.0.1, or the pod IP when the
   * pod shares the host's loopback (the test control plane gives each pod its own 127.x address). */
  localHost: string;
  /** The site's server certificate, key and CA (mounted secret, or the local site's folder). */
  serverTls: TlsFiles;
  interRouterPort?: number;
  edgePort?: number;
  localAmqpPort?: number;
  /**
   * The local AMQP listener asks for a client certificate signed by the site's CA (serverTls): on a
   * laptop, where 127.0.0.1 is open to every local user, only the site's owner can read the key.
   */
  localAmqpMutualTls?: boolean;
  management?: { host: string; port: number };
}

/** A link as its Secret describes it (`skupper.io/type=connection-token`). */
export interface LinkSpec {
  /** The Secret's name. */
  name: string;
  interRouterHost?: string;
  interRouterPort?: number;
  edgeHost?: string;
  edgePort?: number;
  cost?: number;
  /** PEM contents. */
  caCrt: string;
  tlsCrt: string;
  tlsKey: string;
}

export interface ServicesConfig {
  tcpListeners: TcpListenerConfig[];
  tcpConnectors: TcpConnectorConfig[];
}

export const NO_SERVICES: ServicesConfig = { tcpListeners: [], tcpConnectors: [] };

/** Where a link's TLS files go inside the agent's private folder (files are names, not contents). */
export function linkTlsFiles(dir: string, linkName: string): TlsFiles {
  const safe = linkName.replace(/[^A-Za-z0-9._-]/g, '_');
  return { ca: join(dir, safe, 'ca.crt'), cert: join(dir, safe, 'tls.crt'), key: join(dir, safe, 'tls.key') };
}

/** Why a link secret cannot be used, or undefined. */
export function linkProblem(link: LinkSpec, mode: RouterMode): string | undefined {
  if (!link.caCrt || !link.tlsCrt || !link.tlsKey) return `link ${link.name}: the secret lacks ca.crt, tls.crt or tls.key`;
  const host = mode === 'edge' ? link.edgeHost : link.interRouterHost;
  const port = mode === 'edge' ? link.edgePort : link.interRouterPort;
  if (!host || !port) return `link ${link.name}: the secret has no ${mode === 'edge' ? 'edge' : 'inter-router'}-host/port annotations`;
  return undefined;
}

/**
 * The router's config: inter-router (mTLS) and edge listeners only when the site accepts links
 * (interior with an ingress), a plain AMQP listener on the local host, one connector per usable link
 * (inter-router from an interior site, edge from an edge site), and the services' tcp listeners and
 * connectors passed through unchanged.
 */
export function buildRouterConfig(
  site: AgentSite,
  links: LinkSpec[],
  services: ServicesConfig = NO_SERVICES,
  tlsDir = '/tmp/skupper-links',
): RouterConfig {
  const listeners: RouterConfig['listeners'] = [];
  if (acceptsLinks(site.mode, site.ingress)) {
    listeners.push({
      name: 'inter-router',
      host: site.listenHost,
      port: site.interRouterPort ?? INTER_ROUTER_PORT,
      role: 'inter-router',
      tls: site.serverTls,
    });
    listeners.push({ name: 'edge', host: site.listenHost, port: site.edgePort ?? EDGE_PORT, role: 'edge', tls: site.serverTls });
  }
  listeners.push({
    name: 'amqp',
    host: site.localHost,
    port: site.localAmqpPort ?? LOCAL_AMQP_PORT,
    role: 'normal',
    ...(site.localAmqpMutualTls ? { tls: site.serverTls } : {}),
  });
  const connectors: RouterConfig['connectors'] = [];
  for (const link of [...links].sort((a, b) => a.name.localeCompare(b.name))) {
    if (linkProblem(link, site.mode)) continue;
    const edge = site.mode === 'edge';
    connectors.push({
      name: link.name,
      host: (edge ? link.edgeHost : link.interRouterHost)!,
      port: (edge ? link.edgePort : link.interRouterPort)!,
      role: edge ? 'edge' : 'inter-router',
      ...(link.cost !== undefined && link.cost >= 1 ? { cost: link.cost } : {}),
      tls: linkTlsFiles(tlsDir, link.name),
    });
  }
  return {
    id: site.routerId,
    siteId: site.id,
    siteName: site.name,
    mode: site.mode,
    listeners,
    connectors,
    tcpListeners: [...services.tcpListeners],
    tcpConnectors: [...services.tcpConnectors],
    ...(site.management ? { management: site.management } : {}),
  };
}

/** A link from a Secret's data (base64) and annotations. */
export function linkFromSecret(secret: {
  metadata?: { name?: string; annotations?: Record<string, string> };
  data?: Record<string, string>;
}): LinkSpec {
  const a = secret.metadata?.annotations ?? {};
  const d = secret.data ?? {};
  const text = (key: string) => (d[key] ? Buffer.from(d[key], 'base64').toString('utf8') : '');
  const num = (key: string) => (a[key] !== undefined && a[key] !== '' && Number.isFinite(Number(a[key])) ? Number(a[key]) : undefined);
  return {
    name: secret.metadata?.name ?? '',
    interRouterHost: a['inter-router-host'] || undefined,
    interRouterPort: num('inter-router-port'),
    edgeHost: a['edge-host'] || undefined,
    edgePort: num('edge-port'),
    cost: num('skupper.io/cost'),
    caCrt: text('ca.crt'),
    tlsCrt: text('tls.crt'),
    tlsKey: text('tls.key'),
  };
}
