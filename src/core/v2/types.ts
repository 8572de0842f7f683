// Skupper 2.x resources (group skupper.io, version v2alpha1): their names and shapes as this project
// reads them, and the status conditions as Skupper 2.x writes them (reason "Ready" and message "OK"
// when true; "Pending" or "Error" with the why when not; Ready true only when every other required
// condition is). Pure: no API calls here.

export const GROUP = 'skupper.io';
export const VERSION = 'v2alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

export const V2_KINDS = ['Site', 'Link', 'AccessGrant', 'AccessToken', 'Listener', 'Connector'] as const;
export type V2Kind = (typeof V2_KINDS)[number];

export const PLURALS: Record<V2Kind, string> = {
  Site: 'sites',
  Link: 'links',
  AccessGrant: 'accessgrants',
  AccessToken: 'accesstokens',
  Listener: 'listeners',
  Connector: 'connectors',
};

export function isV2Kind(kind: unknown): kind is V2Kind {
  return typeof kind === 'string' && (V2_KINDS as readonly string[]).includes(kind);
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface V2Status {
  status?: 'Ready' | 'Pending' | 'Error';
  message?: string;
  conditions?: Condition[];
  [field: string]: unknown;
}

export interface V2Object<S = Record<string, unknown>> {
  apiVersion: string;
  kind: V2Kind;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
    deletionTimestamp?: string;
  };
  spec?: S;
  status?: V2Status;
}

export interface SiteSpec {
  linkAccess?: string;
  edge?: boolean;
  ha?: boolean;
  serviceAccount?: string;
  defaultIssuer?: string;
  settings?: Record<string, string>;
}

export interface ConnectorSpec {
  routingKey?: string;
  port?: number;
  selector?: string;
  host?: string;
  type?: string;
  tlsCredentials?: string;
  includeNotReadyPods?: boolean;
  exposePodsByName?: boolean;
  settings?: Record<string, string>;
}

export interface ListenerSpec {
  routingKey?: string;
  host?: string;
  port?: number;
  exposePodsByName?: boolean;
  type?: string;
  tlsCredentials?: string;
  settings?: Record<string, string>;
}

export interface AccessGrantSpec {
  redemptionsAllowed?: number;
  expirationWindow?: string;
  code?: string;
  issuer?: string;
}

export interface AccessTokenSpec {
  url?: string;
  code?: string;
  ca?: string;
  linkCost?: number;
}

export interface LinkSpec {
  endpoints?: { name?: string; host?: string; port?: string; group?: string }[];
  tlsCredentials?: string;
  cost?: number;
}

/** What one condition should say: true, pending (with why), or an error (with why and what to do). */
export type ConditionState = { ok: true } | { ok: false; pending: true; message: string } | { ok: false; pending?: false; message: string };

export const ready = (): ConditionState => ({ ok: true });
export const pending = (message: string): ConditionState => ({ ok: false, pending: true, message });
export const failed = (message: string): ConditionState => ({ ok: false, message });

/**
 * The status with `states` applied (each a condition type) and Ready derived from `required`, keeping
 * lastTransitionTime of a condition whose status did not change. `extra` fields (hasMatchingConnector,
 * sitesInNetwork, ...) are merged in.
 */
export function nextStatus(
  current: V2Status | undefined,
  generation: number | undefined,
  states: Record<string, ConditionState>,
  required: string[],
  extra: Record<string, unknown> = {},
  now = new Date(),
): V2Status {
  const previous = new Map((current?.conditions ?? []).map((c) => [c.type, c]));
  const conditions: Condition[] = [];
  const put = (type: string, state: ConditionState) => {
    const status = state.ok ? 'True' : 'False';
    const old = previous.get(type);
    conditions.push({
      type,
      status,
      reason: state.ok ? 'Ready' : state.pending ? 'Pending' : 'Error',
      message: state.ok ? 'OK' : state.message,
      lastTransitionTime: old && old.status === status ? old.lastTransitionTime : now.toISOString(),
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
    });
  };
  for (const [type, state] of Object.entries(states)) put(type, state);
  let overall: ConditionState = ready();
  for (const type of required) {
    const state = states[type];
    if (!state) {
      overall = pending(`Not ${type}`);
      break;
    }
    if (!state.ok) {
      overall = state;
      break;
    }
  }
  put('Ready', overall);
  return {
    ...extra,
    status: overall.ok ? 'Ready' : overall.pending ? 'Pending' : 'Error',
    message: overall.ok ? 'OK' : overall.message,
    conditions,
  };
}

/** JSON with keys sorted at every level: the same value gives the same text. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Whether two statuses say the same (ignoring transition times), so an unchanged status is not rewritten. */
export function sameStatus(a: V2Status | undefined, b: V2Status): boolean {
  const strip = (s: V2Status | undefined) =>
    canonical({ ...(s ?? {}), conditions: (s?.conditions ?? []).map((c) => ({ ...c, lastTransitionTime: '' })) });
  return strip(a) === strip(b);
}

export function condition(object: { status?: V2Status } | undefined, type: string): Condition | undefined {
  return object?.status?.conditions?.find((c) => c.type === type);
}
