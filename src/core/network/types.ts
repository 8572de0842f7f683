// The read model the UI draws: kubeconfig contexts → namespaces → sites → links and services, plus the
// network-wide graph. Plain data, no vscode import, so the CLI and the unit tests can use it.

export type Platform = 'kubernetes' | 'local';
export type LinkState = 'up' | 'down' | 'connecting';

export interface NetworkSite {
  id: string;
  name: string;
  namespace: string;
  platform: Platform;
  context?: string;
  routers?: { id: string; mode: string }[];
}

export interface NetworkLink {
  name: string;
  fromSiteId: string;
  toSiteId?: string;
  toSiteName?: string;
  state: LinkState;
  since?: string;
  cost: number;
  error?: string;
}

export interface NetworkService {
  address: string;
  protocol: string;
  ports: number[];
  /** ids of the sites where the service has targets (where it is exposed) */
  exposedIn: string[];
  /** ids of the sites where it can be reached (a listener) */
  consumedIn?: string[];
  flows?: number;
  bytes?: number;
}

/** The network-wide status, as the site agent publishes it in `skupper-network-status` / `network.json`. */
export interface NetworkStatus {
  updated: string;
  sites: NetworkSite[];
  links: NetworkLink[];
  services: NetworkService[];
  /** Each site's traffic counters, by site id (network/traffic.ts reads them). */
  traffic?: Record<string, import('./traffic').PublishedTraffic>;
}

/** A link as one site sees it: its Secret plus what its router says about the connection. */
export interface SiteLink {
  name: string;
  cost: number;
  state: LinkState;
  remoteSiteId?: string;
  remoteSiteName?: string;
  since?: string;
  error?: string;
  /** incoming: another site linked to this one */
  incoming?: boolean;
  expires?: string;
}

export interface SiteService {
  address: string;
  protocol: string;
  ports: number[];
  /** this site has targets for it */
  exposedHere: boolean;
  /** workloads in this site that back the service, e.g. deployment/backend (host/127.0.0.1 on a laptop) */
  targets: string[];
  /** a laptop site: where this machine reaches it (host:port), when forwarded */
  forwardedTo?: string;
}

export interface SiteRecord {
  id: string;
  name: string;
  context: string;
  namespace: string;
  platform: Platform;
  ingress?: string;
  routers?: number;
  /** the router reported ready */
  ready?: boolean;
  links: SiteLink[];
  services: SiteService[];
  /** network.json as this site's agent published it, if any */
  network?: NetworkStatus;
  /** when this site's agent last published its status */
  statusUpdated?: string;
  /** 'v2' when Skupper 2.x resources (a Site) manage it (src/core/v2/mode.ts); absent: managed by van verbs */
  mode?: 'v2';
}

/** A Deployment or StatefulSet in a site's namespace (read when the tree's Workloads folder opens). */
export interface WorkloadRecord {
  kind: 'deployment' | 'statefulset';
  name: string;
  namespace: string;
  /** the containers' containerPorts, sorted, no duplicates */
  ports: number[];
  replicas?: number;
  readyReplicas?: number;
  /** Exposed by its skupper.io/proxy annotation (Skupper 1.x's way): the protocol and the address. */
  annotation?: { protocol: string; address: string };
}

export interface NamespaceRecord {
  name: string;
  site?: SiteRecord;
  /** the context's own (chosen) namespace: shown even without a site */
  own?: boolean;
  error?: string;
}

export type ContextPhase = 'idle' | 'loading' | 'ok' | 'error';

export interface ContextRecord {
  name: string;
  cluster?: string;
  server?: string;
  user?: string;
  /** the namespace the extension uses for this context (kubeconfig default or the user's choice) */
  namespace: string;
  current?: boolean;
  phase: ContextPhase;
  error?: string;
  /** how long the last read took */
  elapsedMs?: number;
  /** listing across namespaces was forbidden: only the own namespace is shown */
  namespaceScoped?: boolean;
  namespaces: NamespaceRecord[];
}

export interface ClusterModel {
  contexts: ContextRecord[];
  /** set when the kubeconfig could not be loaded at all (missing, unparsable) */
  kubeconfigError?: string;
  kubeconfigFiles: string[];
  local: SiteRecord[];
}
