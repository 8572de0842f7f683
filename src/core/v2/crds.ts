// The CustomResourceDefinitions of Skupper 2.x's six core kinds, built from one compact description
// per kind (fields, required ones, printer columns). Their shapes follow Skupper 2.x's documented
// schemas (api version skupper.io/v2alpha1), so YAML written for Skupper 2.x is accepted as is.
// crds/*.yaml are generated from here (scripts/crds.ts); a unit test keeps them equal.
import { stringify } from 'yaml';
import { type V2Kind, GROUP, PLURALS, V2_KINDS, VERSION } from './types';

type Schema = Record<string, unknown>;
const str = (description: string): Schema => ({ type: 'string', description });
const int = (description: string): Schema => ({ type: 'integer', description });
const bool = (description: string): Schema => ({ type: 'boolean', description });
const settings: Schema = {
  type: 'object',
  description: 'Advanced: extra settings, string names to string values.',
  additionalProperties: { type: 'string' },
};

const conditions: Schema = {
  type: 'array',
  description: 'Named conditions (Configured, Running, Operational, Ready, ...): status, reason and message each.',
  items: {
    type: 'object',
    required: ['lastTransitionTime', 'message', 'reason', 'status', 'type'],
    properties: {
      lastTransitionTime: { type: 'string', format: 'date-time' },
      message: { type: 'string', maxLength: 32768 },
      observedGeneration: { type: 'integer', format: 'int64', minimum: 0 },
      reason: { type: 'string', maxLength: 1024, minLength: 1, pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$' },
      status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
      type: {
        type: 'string',
        maxLength: 316,
        pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
      },
    },
  },
};

const commonStatus: Record<string, Schema> = {
  status: str('Pending, Error or Ready.'),
  message: str('Why the resource is not ready, in words; OK when it is.'),
  conditions,
};

const endpoint: Schema = {
  type: 'object',
  properties: { name: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' }, group: { type: 'string' } },
};

interface KindSpec {
  singular: string;
  shortNames: string[];
  description: string;
  spec: Record<string, Schema>;
  required?: string[];
  oneOf?: string[][];
  status: Record<string, Schema>;
  columns: { name: string; type: string; jsonPath: string; description: string }[];
}

const statusColumns = [
  { name: 'Status', type: 'string', jsonPath: '.status.status', description: 'Pending, Error or Ready' },
  { name: 'Message', type: 'string', jsonPath: '.status.message', description: 'Why it is not ready' },
];

const KINDS: Record<V2Kind, KindSpec> = {
  Site: {
    singular: 'site',
    shortNames: ['st'],
    description: 'A site: the namespace gets a router; sites join each other with links. One Site per namespace.',
    spec: {
      linkAccess: str('How other sites reach this one to link: none, default or loadbalancer (route is OpenShift only).'),
      edge: bool('An edge site links out only and accepts no links.'),
      ha: bool('Two routers instead of one.'),
      serviceAccount: str('Advanced: the service account of the router.'),
      defaultIssuer: str('Advanced: the Secret holding the CA that signs link certificates (skupper-site-ca).'),
      settings,
    },
    status: {
      ...commonStatus,
      defaultIssuer: { type: 'string' },
      controller: { type: 'object', properties: { name: { type: 'string' }, namespace: { type: 'string' }, version: { type: 'string' } } },
      endpoints: { type: 'array', items: endpoint },
      sitesInNetwork: { type: 'integer' },
      network: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            name: { type: 'string' },
            namespace: { type: 'string' },
            platform: { type: 'string' },
            version: { type: 'string' },
            links: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  name: { type: 'string' },
                  remoteSiteId: { type: 'string' },
                  remoteSiteName: { type: 'string' },
                  operational: { type: 'boolean' },
                },
              },
            },
            services: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  routingKey: { type: 'string' },
                  connectors: { type: 'array', items: { type: 'string' } },
                  listeners: { type: 'array', items: { type: 'string' } },
                },
              },
            },
          },
        },
      },
    },
    columns: [
      { name: 'Status', type: 'string', jsonPath: '.status.status', description: 'Pending, Error or Ready' },
      {
        name: 'Sites In Network',
        type: 'integer',
        jsonPath: '.status.sitesInNetwork',
        description: 'Sites this one reaches, itself included',
      },
      { name: 'Message', type: 'string', jsonPath: '.status.message', description: 'Why it is not ready' },
    ],
  },
  Link: {
    singular: 'link',
    shortNames: ['ln'],
    description: 'A link from this site to another one: where it is and the client certificate to use.',
    spec: {
      endpoints: { type: 'array', description: 'Where the other site accepts links (inter-router, edge).', items: endpoint },
      tlsCredentials: str('The Secret with the client certificate, its key and the CA of the other site.'),
      cost: int('The cost of the link for routing (1 by default).'),
      settings,
    },
    required: ['endpoints'],
    status: { ...commonStatus, remoteSiteId: { type: 'string' }, remoteSiteName: { type: 'string' } },
    columns: [
      statusColumns[0],
      { name: 'Remote Site', type: 'string', jsonPath: '.status.remoteSiteName', description: 'The site linked to' },
      statusColumns[1],
    ],
  },
  AccessGrant: {
    singular: 'accessgrant',
    shortNames: ['grant', 'gr'],
    description:
      'Lets other sites link here: tokens made from it are redeemed for a certificate, a limited number of times, for a limited time.',
    spec: {
      redemptionsAllowed: int('How many times a token of this grant can be redeemed (1 by default).'),
      expirationWindow: { type: 'string', format: 'duration', description: 'How long tokens can be redeemed (15m by default).' },
      code: str('Advanced: the secret code tokens present; a new random one by default.'),
      issuer: str('Advanced: the Secret of the CA that signs the certificates (the site CA by default).'),
      settings,
    },
    status: {
      ...commonStatus,
      url: str('Where tokens of this grant are redeemed.'),
      code: str('The secret code tokens present.'),
      ca: str('The CA certificate of the redemption endpoint.'),
      redemptions: int('How many times a token was redeemed.'),
      expirationTime: { type: 'string', format: 'date-time', description: 'When the grant expires.' },
    },
    columns: [
      { name: 'Redemptions Allowed', type: 'integer', jsonPath: '.spec.redemptionsAllowed', description: 'Uses allowed' },
      { name: 'Redemptions Made', type: 'integer', jsonPath: '.status.redemptions', description: 'Uses made' },
      { name: 'Expiration', type: 'string', jsonPath: '.status.expirationTime', description: 'When it expires' },
      ...statusColumns,
    ],
  },
  AccessToken: {
    singular: 'accesstoken',
    shortNames: ['token', 'to'],
    description: "A grant's URL, code and CA: redeemed once for a link to the site that made the grant.",
    spec: {
      url: str('Where the grant is redeemed.'),
      code: str('The secret code of the grant.'),
      ca: str('The CA certificate of the redemption endpoint.'),
      linkCost: int('The cost of the link it makes.'),
      settings,
    },
    required: ['url', 'code', 'ca'],
    status: { ...commonStatus, redeemed: bool('Whether the token was redeemed (it cannot be used again).') },
    columns: [
      { name: 'URL', type: 'string', jsonPath: '.spec.url', description: 'Where it is redeemed' },
      { name: 'Redeemed', type: 'boolean', jsonPath: '.status.redeemed', description: 'Whether it was redeemed' },
      ...statusColumns,
    ],
  },
  Listener: {
    singular: 'listener',
    shortNames: ['lnr'],
    description: 'A host and port in this site (a Service) that carries connections to the connectors with the same routing key.',
    spec: {
      routingKey: str('Matches listeners with connectors.'),
      host: str('The name clients here connect to (the Service name).'),
      port: int('The port clients here connect to.'),
      tlsCredentials: str('Advanced: a Secret with a server certificate for clients here.'),
      type: str('tcp.'),
      exposePodsByName: bool('One Service per target pod.'),
      settings,
    },
    required: ['routingKey', 'host', 'port'],
    status: { ...commonStatus, hasMatchingConnector: bool('Whether a connector with the same routing key exists in the network.') },
    columns: [
      { name: 'Routing Key', type: 'string', jsonPath: '.spec.routingKey', description: 'Matches connectors' },
      { name: 'Port', type: 'integer', jsonPath: '.spec.port', description: 'The port clients use' },
      { name: 'Host', type: 'string', jsonPath: '.spec.host', description: 'The Service name' },
      statusColumns[0],
      { name: 'Has Matching Connector', type: 'boolean', jsonPath: '.status.hasMatchingConnector', description: 'A connector exists' },
      statusColumns[1],
    ],
  },
  Connector: {
    singular: 'connector',
    shortNames: ['cnr'],
    description: 'Workload pods (a selector) or a host, and a port: where connections to the routing key go.',
    spec: {
      routingKey: str('Matches connectors with listeners.'),
      port: int('The port on the pods or the host.'),
      selector: str('A label selector of the target pods, name=value[,name=value].'),
      host: str('A host name or IP to connect to, instead of a selector.'),
      tlsCredentials: str('Advanced: a Secret with the CA (and client certificate) to reach the server with TLS.'),
      useClientCert: bool('Present the client certificate of tlsCredentials.'),
      verifyHostname: bool("Check the server certificate's host name."),
      type: str('tcp.'),
      includeNotReadyPods: bool('Send connections to pods that are not ready too.'),
      exposePodsByName: bool('One address per target pod.'),
      settings,
    },
    required: ['routingKey', 'port'],
    oneOf: [['selector'], ['host']],
    status: {
      ...commonStatus,
      hasMatchingListener: bool('Whether a listener with the same routing key exists in the network.'),
      selectedPods: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, ip: { type: 'string' } } } },
    },
    columns: [
      { name: 'Routing Key', type: 'string', jsonPath: '.spec.routingKey', description: 'Matches listeners' },
      { name: 'Port', type: 'integer', jsonPath: '.spec.port', description: 'The target port' },
      { name: 'Host', type: 'string', jsonPath: '.spec.host', description: 'The target host' },
      { name: 'Selector', type: 'string', jsonPath: '.spec.selector', description: 'The target pods' },
      statusColumns[0],
      { name: 'Has Matching Listener', type: 'boolean', jsonPath: '.status.hasMatchingListener', description: 'A listener exists' },
      statusColumns[1],
    ],
  },
};

export interface CrdObject {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels: Record<string, string> };
  spec: Record<string, unknown>;
}

export function crdName(kind: V2Kind): string {
  return `${PLURALS[kind]}.${GROUP}`;
}

export function crdFor(kind: V2Kind): CrdObject {
  const k = KINDS[kind];
  const spec: Schema = { type: 'object', properties: k.spec };
  if (k.required) spec.required = k.required;
  if (k.oneOf) spec.oneOf = k.oneOf.map((required) => ({ required }));
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: crdName(kind), labels: { 'app.kubernetes.io/part-of': 'skupper' } },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: { plural: PLURALS[kind], singular: k.singular, kind, shortNames: k.shortNames },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: k.description,
              properties: { spec, status: { type: 'object', properties: k.status } },
            },
          },
          subresources: { status: {} },
          additionalPrinterColumns: k.columns,
        },
      ],
    },
  };
}

export function allCrds(): CrdObject[] {
  return V2_KINDS.map(crdFor);
}

/** The file name of a kind's CRD in crds/. */
export function crdFileName(kind: V2Kind): string {
  return `${GROUP}_${PLURALS[kind]}.yaml`;
}

/** The YAML file of a kind's CRD, as crds/ holds it. */
export function crdYaml(kind: V2Kind): string {
  return `# Generated from src/core/v2/crds.ts by scripts/gen-crds.ts: edit there.\n${stringify(crdFor(kind), { lineWidth: 0 })}`;
}
