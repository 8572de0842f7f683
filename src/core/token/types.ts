// Names of the labels, annotations and data keys of tokens, claim records and link Secrets. They follow
// Skupper 1.x where it has a name for the thing, so a token file is recognisable to people who know it.

export const TYPE_LABEL = 'skupper.io/type';
export const TYPE_CLAIM = 'token-claim';
export const TYPE_CERT = 'connection-token';
export const TYPE_CLAIM_RECORD = 'token-claim-record';

export const ANN_URL = 'skupper.io/url';
export const ANN_GENERATED_BY = 'skupper.io/generated-by';
export const ANN_SITE_NAME = 'skupper.io/site-name';
export const ANN_SITE_VERSION = 'skupper.io/site-version';
export const ANN_CLAIM_EXPIRATION = 'skupper.io/claim-expiration';
export const ANN_CLAIM_USES = 'skupper.io/claim-uses';
export const ANN_COST = 'skupper.io/cost';
export const ANN_REMOTE_SITE_NAME = 'skupper.io/remote-site-name';
export const ANN_CERT_EXPIRY = 'skupper.io/cert-expiry';
export const ANN_INTER_ROUTER_HOST = 'inter-router-host';
export const ANN_INTER_ROUTER_PORT = 'inter-router-port';
export const ANN_EDGE_HOST = 'edge-host';
export const ANN_EDGE_PORT = 'edge-port';

/**
 * The site version tokens and link Secrets announce in skupper.io/site-version: one Skupper 1.x tooling
 * accepts (it refuses tokens of sites below 0.8.0). This project's own version goes in ANN_VAN_VERSION.
 */
export const SITE_VERSION = '1.5.0';
/** This project's version, in tokens and link Secrets, apart from the 1.x-compatible site version. */
export const ANN_VAN_VERSION = 'vscode-skupper/version';
export const VAN_VERSION = '0.1.0';

export const DEFAULT_CLAIMS_PORT = 8081;
export const DEFAULT_INTER_ROUTER_PORT = 55671;
export const DEFAULT_EDGE_PORT = 45671;

/** A Kubernetes Secret as plain data (what a token file holds, and what the API returns). */
export interface SecretManifest {
  apiVersion: 'v1';
  kind: 'Secret';
  type?: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: OwnerReference[];
    resourceVersion?: string;
    uid?: string;
    creationTimestamp?: string;
  };
  /** base64 values */
  data?: Record<string, string>;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface Endpoint {
  host: string;
  port: number;
}

/** Where another site reaches this one: the ingress host and the three ports. */
export interface SiteIngress {
  host: string;
  interRouterPort: number;
  edgePort: number;
  claimsPort: number;
}

/** The identity of a site as tokens and links need it. */
export interface SiteIdentity {
  id: string;
  name: string;
}

export interface ClaimToken {
  type: 'claim';
  /** The claim's name: the last path segment of the URL, and the Secret's name. */
  name: string;
  url: string;
  password: string;
  caPem: string;
  issuer: { id: string; name?: string };
  expires?: Date;
  uses?: number;
}

export interface CertToken {
  type: 'cert';
  name: string;
  certPem: string;
  keyPem: string;
  caPem: string;
  interRouter: Endpoint;
  edge?: Endpoint;
  issuer: { id: string; name?: string };
  /** When the client certificate stops being valid. */
  expires?: Date;
}

export type Token = ClaimToken | CertToken;
