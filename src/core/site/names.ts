// Names, labels, ports and paths of a site: Skupper 1.x's where it has one (contract, DESIGN.md).
export const SITE_CONFIGMAP = 'skupper-site';
export const SERVICES_CONFIGMAP = 'skupper-services';
/** What the router pod publishes: its links (site.json), the network (network.json), events (events.json). */
export const NETWORK_STATUS_CONFIGMAP = 'skupper-network-status';
export const BUNDLE_CONFIGMAP = 'skupper-router-bundle';
export const ROUTER = 'skupper-router'; // Deployment, Service
/** ServiceAccount, Role and RoleBinding of the router pod: only its controller container gets the token. */
export const CONTROLLER = 'skupper-controller';
export const SITE_CA_SECRET = 'skupper-site-ca';
export const SITE_SERVER_SECRET = 'skupper-site-server';

export const PART_OF_LABEL = 'app.kubernetes.io/part-of';
export const PART_OF = 'skupper';
export const APPLICATION_LABEL = 'application';
export const COMPONENT_LABEL = 'skupper.io/component';
export const CONTROLLED_ANNOTATION = 'internal.skupper.io/controlled';
export const SITE_ID_ANNOTATION = 'skupper.io/site-id';
/** Link secrets (made by `link create`) carry this label; the agent makes one connector per secret. */
export const TYPE_LABEL = 'skupper.io/type';
export const CONNECTION_TOKEN = 'connection-token';
export const LINK_SELECTOR = `${TYPE_LABEL}=${CONNECTION_TOKEN}`;

export const ROUTER_SELECTOR = { [APPLICATION_LABEL]: ROUTER, [COMPONENT_LABEL]: 'router' };

export const INTER_ROUTER_PORT = 55671;
export const EDGE_PORT = 45671;
export const CLAIMS_PORT = 8081;
/** The agent's health endpoint (readinessProbe): away from the ports workloads commonly use. */
export const HEALTH_PORT = 9191;
/** The agent's /status (site, links, events): on the pod's loopback only (kubectl port-forward reaches it). */
export const STATUS_PORT = 9192;
/** The controller container's API gate, on the pod's loopback: the router container's only way to the API. */
export const GATE_PORT = 9193;
/** AMQP without TLS for local messaging inside the pod (or on the laptop). */
export const LOCAL_AMQP_PORT = 5672;

/** Where the router pod sees its volumes. */
export const BUNDLE_DIR = '/etc/skupper-router-bundle';
export const CERTS_DIR = '/etc/skupper-router-certs';
/** A memory folder both containers of the router pod share (the gate's token). */
export const CHANNEL_DIR = '/var/run/skupper';
export const BUNDLE_KEY = 'router.js.gz';

export type Ingress = 'loadbalancer' | 'nodeport' | 'none';
export const INGRESS_TYPES: readonly Ingress[] = ['loadbalancer', 'nodeport', 'none'];
export type RouterMode = 'interior' | 'edge';

/** Whether the router accepts incoming links: only an interior router with an ingress does. */
export function acceptsLinks(mode: RouterMode, ingress: Ingress): boolean {
  return mode === 'interior' && ingress !== 'none';
}
