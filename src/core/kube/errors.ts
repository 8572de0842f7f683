// Turns what the API (or the network) answers into one line a user can act on.
import { UserError, errorMessage } from '../errors';

export interface CallContext {
  /** get, list, create, update, patch, delete, watch. */
  verb: string;
  /** Plural resource, e.g. "deployments". */
  resource: string;
  namespace?: string;
  name?: string;
  /** Context (or cluster) name and server URL, for network errors. */
  cluster: string;
  server: string;
  timeoutMs?: number;
}

/** The HTTP status of an API error: ApiException's `code`, or the `statusCode` of other HTTP errors. */
export function statusCode(error: unknown): number | undefined {
  const e = error as { code?: unknown; statusCode?: unknown; response?: { statusCode?: unknown } } | undefined;
  const code = e?.code ?? e?.statusCode ?? e?.response?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** The Status object of an API error (ApiException.body is a string or an object). */
export function statusBody(error: unknown): { message?: string; reason?: string; details?: { kind?: string; name?: string } } {
  const body = (error as { body?: unknown } | undefined)?.body;
  if (typeof body === 'string') {
    try {
      return JSON.parse(body);
    } catch {
      return { message: body };
    }
  }
  return (body as object) ?? {};
}

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'timed out',
  CERT_HAS_EXPIRED: 'its certificate has expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'its certificate is self-signed and not trusted',
  SELF_SIGNED_CERT_IN_CHAIN: 'its certificate is not trusted (self-signed chain)',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its certificate is not trusted',
  ERR_TLS_CERT_ALTNAME_INVALID: 'its certificate does not name this host',
};

function networkReason(error: unknown, timeoutMs?: number): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const err = e as { name?: string; code?: string; type?: string; message?: string };
    if (err.name === 'TimeoutError' || err.name === 'AbortError' || err.type === 'aborted') {
      return `no answer within ${Math.round((timeoutMs ?? 10000) / 1000)} s`;
    }
    if (err.code && NETWORK_CODES[err.code]) return NETWORK_CODES[err.code];
    if (err.code && /^E[A-Z]+$/.test(err.code)) return err.code;
  }
  return undefined;
}

/** Maps an error of one API call to a UserError (or returns non-API errors unchanged). */
export function kubeError(error: unknown, call: CallContext): Error {
  if (error instanceof UserError) return error;
  const code = statusCode(error);
  const where = call.namespace ? ` in namespace ${call.namespace}` : '';
  const what = call.name ? `${call.resource} ${call.name}` : call.resource;
  const status = statusBody(error);
  const detail = status.message ?? errorMessage(error);
  if (code === undefined) {
    const reason = networkReason(error, call.timeoutMs);
    if (reason) return new UserError(`cannot reach cluster ${call.cluster} at ${call.server}: ${reason}`, errorMessage(error));
    return error instanceof Error ? error : new Error(String(error));
  }
  switch (code) {
    case 401:
      return new UserError(
        `the cluster at ${call.server} rejected the credentials of context ${call.cluster}: log in again or renew them`,
        detail,
      );
    case 403:
      return new UserError(
        `you may not ${call.verb} ${call.resource}${where}: ask for the ${call.verb === 'get' || call.verb === 'list' || call.verb === 'watch' ? 'view' : 'edit'} role there`,
        detail,
      );
    case 404:
      if (/namespaces? "?[^"]*"? not found/.test(detail) || status.details?.kind === 'namespaces') {
        return new UserError(`namespace ${call.namespace} does not exist on cluster ${call.cluster}`, detail);
      }
      return new UserError(`${what} not found${where}`, detail);
    case 409:
      return new UserError(`${what} already exists${where} (or changed while being updated): try again`, detail);
    case 422:
      return new UserError(`the cluster refused ${what}${where}: ${firstLine(detail)}`, detail);
    default:
      return new UserError(`cluster ${call.cluster} answered ${code} to ${call.verb} ${what}${where}: ${firstLine(detail)}`, detail);
  }
}

function firstLine(text: string): string {
  return text.split('\n')[0].slice(0, 300);
}
