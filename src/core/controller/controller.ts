// The controller container of a router pod: the only holder of the pod's service-account token.
// It serves, on the pod's loopback only and to callers with the channel token:
// - the gate: the router container's Kubernetes API requests, forwarded with this container's
//   credentials when gate.ts allows them (bodies and targets checked first), refused with a 403
//   Status otherwise;
// - POST /skupper/v1/redeem: a claim redemption the router's claims endpoint received: the claim
//   record is counted and the cert token signed here, where the CA is; the router never sees either.
import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { Agent, type RequestOptions, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { errorMessage } from '../errors';
import type { KubeClient } from '../kube/client';
import { isOurs } from '../agent/servicesReconcile';
import { certIssuer } from '../link/issuer';
import { KubeLinkSite } from '../link/kubeSite';
import { KeyPool } from '../pki';
import { siteRecordFrom } from '../site/build';
import { SITE_CONFIGMAP, acceptsLinks } from '../site/names';
import { type Redeem, redeemWith } from '../token/redeem';
import { addressServiceProblem, annotationsPatchProblem, decide, eventProblem, statusPatchProblem } from './gate';

export const GATE_TOKEN_FILE = 'gate-token';
export const REDEEM_PATH = '/skupper/v1/redeem';
const MAX_BODY = 1536 * 1024;
const CLAIM_NAME = /^[a-z0-9-]{1,63}$/;
/** Request headers passed on to the API server: never Authorization or Impersonate-*. */
const FORWARDED_HEADERS = ['accept', 'content-type', 'user-agent'];

export interface ControllerOptions {
  client: KubeClient;
  host: string;
  port: number;
  /** The folder shared with the router container; the router writes the gate token there. */
  channelDir: string;
  log?: (line: string, fields?: Record<string, unknown>) => void;
}

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason, message, code }));
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('the request body is too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export class Controller {
  private server?: Server;
  private token?: Buffer;
  private tokenReadAt = 0;
  private keys?: KeyPool;
  private redeemer?: Redeem;
  private agent?: Agent;
  private readonly upstream: URL;

  constructor(private readonly o: ControllerOptions) {
    this.upstream = new URL(o.client.server);
  }

  private log(line: string, fields?: Record<string, unknown>): void {
    (
      this.o.log ??
      ((l, f) => process.stderr.write(`${JSON.stringify({ ts: new Date().toISOString(), component: 'controller', msg: l, ...f })}\n`))
    )(line, fields);
  }

  async start(): Promise<number> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error) => {
        this.log('request failed', { method: req.method, url: req.url?.slice(0, 200), error: errorMessage(error) });
        status(res, 500, 'InternalError', 'the site controller failed: see its log');
      });
    });
    this.server.headersTimeout = 10_000;
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.o.port, this.o.host, () => resolve());
    });
    void this.warmKeys();
    return (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections?.(); // the router's watches never end by themselves
    await closed;
    this.agent?.destroy();
  }

  /** A site that accepts links gets a key made ahead: a redemption then costs a signature only. */
  private async warmKeys(): Promise<void> {
    for (let delay = 500; !this.keys; delay = Math.min(delay * 2, 10_000)) {
      try {
        const cm = await this.o.client.get('ConfigMap', SITE_CONFIGMAP);
        if (cm) {
          const site = siteRecordFrom(cm);
          if (acceptsLinks(site.routerMode, site.ingress)) this.keys = new KeyPool(1).warm();
          return;
        }
      } catch {
        // not yet readable: try again
      }
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  /** The channel token the router wrote; read again (at most once a second) when a caller's differs (the router restarted). */
  private authorized(req: IncomingMessage): boolean {
    const header = req.headers.authorization ?? '';
    const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7).trim() : '');
    const same = () =>
      this.token !== undefined && this.token.length === given.length && given.length >= 32 && timingSafeEqual(this.token, given);
    if (same()) return true;
    if (Date.now() - this.tokenReadAt < 1000) return false;
    this.tokenReadAt = Date.now();
    try {
      this.token = Buffer.from(readFileSync(join(this.o.channelDir, GATE_TOKEN_FILE), 'utf8').trim());
    } catch {
      this.token = undefined;
    }
    return same();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.authorized(req)) return status(res, 401, 'Unauthorized', 'the site controller answers the router container only');
    const url = req.url ?? '/';
    if (url === REDEEM_PATH && req.method === 'POST') return this.redeem(req, res);
    const method = req.method ?? 'GET';
    const namespace = this.o.client.namespace;
    const decision = decide(method, url, namespace);
    if (!decision.allow) {
      this.log('refused', { method, url: url.slice(0, 200), why: decision.reason });
      return status(res, 403, 'Forbidden', `the site controller does not forward this for the router: ${decision.reason}`);
    }
    let body: Buffer | undefined;
    if (method !== 'GET' && method !== 'DELETE') body = await readBody(req);
    if (decision.check) {
      const problem = await this.check(decision.check, decision.name, body, req.headers['content-type']);
      if (problem) {
        this.log('refused', { method, url: url.slice(0, 200), why: problem });
        return status(res, 403, 'Forbidden', `the site controller does not forward this for the router: ${problem}`);
      }
    }
    await this.forward(req, res, method, decision.query ? `${decision.path}?${decision.query}` : decision.path, body);
  }

  private async check(
    check: string,
    name: string | undefined,
    body: Buffer | undefined,
    contentType: string | undefined,
  ): Promise<string | undefined> {
    const namespace = this.o.client.namespace;
    let parsed: unknown;
    if (body !== undefined) {
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        return 'the body is not JSON';
      }
    }
    const existingIsOurs = async () => {
      const current = await this.o.client.get<{ metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> } }>(
        'Service',
        name!,
      );
      if (!current) return undefined; // gone: the API server answers 404
      return isOurs({ name: name!, labels: current.metadata?.labels, annotations: current.metadata?.annotations })
        ? undefined
        : `Service ${name} is not an exposed address's`;
    };
    switch (check) {
      case 'service-create':
        return addressServiceProblem(parsed, namespace);
      case 'service-replace': {
        const problem = addressServiceProblem(parsed, namespace);
        if (problem) return problem;
        if ((parsed as { metadata: { name: string } }).metadata.name !== name) return 'the body names another Service';
        return existingIsOurs();
      }
      case 'service-delete':
        return existingIsOurs();
      case 'status-patch':
        if (!/^application\/merge-patch\+json\b/.test(contentType ?? '')) return 'the status is written with a JSON merge patch only';
        return statusPatchProblem(parsed);
      case 'event-create':
        return eventProblem(parsed, namespace);
      case 'annotations-patch': {
        if (!/^application\/merge-patch\+json\b/.test(contentType ?? '')) return 'the services are written with a JSON merge patch only';
        const cm = await this.o.client.get<{ metadata?: { resourceVersion?: string }; data?: Record<string, string> }>('ConfigMap', name!);
        return annotationsPatchProblem(parsed, cm && { resourceVersion: cm.metadata?.resourceVersion, data: cm.data });
      }
      default:
        return 'unknown check';
    }
  }

  /** Passes the request on with this container's credentials; streams the answer back (watches too). */
  private async forward(req: IncomingMessage, res: ServerResponse, method: string, path: string, body: Buffer | undefined): Promise<void> {
    const opts: RequestOptions = {};
    await this.o.client.kc.applyToHTTPSOptions(opts);
    // One agent (the cluster CA, kept-alive connections); the token is read per request, it rotates.
    this.agent ??= new Agent({ ca: opts.ca, keepAlive: true, maxSockets: 64 });
    const headers: Record<string, string> = {};
    for (const h of FORWARDED_HEADERS) {
      const v = req.headers[h];
      if (typeof v === 'string') headers[h] = v;
    }
    for (const [k, v] of Object.entries(opts.headers ?? {})) if (typeof v === 'string') headers[k] = v;
    if (body !== undefined) headers['content-length'] = String(body.length);
    await new Promise<void>((resolve) => {
      const up = httpsRequest(
        { agent: this.agent, host: this.upstream.hostname.replace(/^\[|\]$/g, ''), port: this.upstream.port || 443, method, path, headers },
        (answer) => {
          const out: Record<string, string> = {};
          for (const h of ['content-type', 'cache-control', 'audit-id', 'warning']) {
            const v = answer.headers[h];
            if (typeof v === 'string') out[h] = v;
          }
          res.writeHead(answer.statusCode ?? 502, out);
          answer.pipe(res);
          answer.on('end', resolve);
          answer.on('error', () => resolve());
        },
      );
      const drop = () => {
        up.destroy();
        resolve();
      };
      res.on('close', drop);
      up.on('error', (error) => {
        status(res, 502, 'ServiceUnavailable', `the API server did not answer the site controller: ${errorMessage(error)}`);
        resolve();
      });
      up.end(body);
    });
  }

  private async redeem(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let input: { claim?: unknown; password?: unknown; siteId?: unknown; siteName?: unknown };
    try {
      input = JSON.parse((await readBody(req)).toString('utf8'));
    } catch {
      return status(res, 400, 'BadRequest', 'the body is not JSON');
    }
    const { claim, password, siteId, siteName } = input ?? {};
    if (
      typeof claim !== 'string' ||
      !CLAIM_NAME.test(claim) ||
      typeof password !== 'string' ||
      password.length === 0 ||
      password.length > 1024
    ) {
      return status(res, 400, 'BadRequest', 'a redemption names a claim and carries its password');
    }
    const text = (v: unknown) => (typeof v === 'string' ? v.slice(0, 63) : undefined);
    const answer = await this.redeemFn()(claim, password, { claim, siteId: text(siteId), siteName: text(siteName) });
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(answer));
  }

  private redeemFn(): Redeem {
    if (!this.redeemer) {
      const site = new KubeLinkSite(this.o.client);
      let issue: ReturnType<typeof certIssuer> | undefined;
      this.redeemer = redeemWith(site.claims(), async (request) => {
        issue ??= certIssuer(site, await site.identity(), (this.keys ??= new KeyPool(1)));
        return issue(request);
      });
    }
    return this.redeemer;
  }
}
