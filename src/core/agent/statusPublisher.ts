// The network status publisher and the site's event recorder, two agent modules that write into
// ConfigMap `skupper-network-status`: key `network.json` (the network as this site knows it) and
// key `events.json` (the bounded event log). Each writes only its keys, with a JSON merge patch, so
// the links module's `site.json` is never overwritten. Rate-limited: at most one write every
// `minIntervalMs` (2 s), and none when nothing but timestamps changed.
import { EventEmitter } from 'node:events';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { errorMessage } from '../errors';
import { statusCode } from '../kube/errors';
import { siteOwner } from '../site/build';
import { SITE_CONFIGMAP } from '../site/names';
import { EVENTS_KEY, NETWORK_KEY, NETWORK_STATUS_CONFIGMAP, type NetworkStatus, buildNetworkStatus, sameStatus } from './networkStatus';
import { EventLog, type EventType, type SiteEvent, kubeEvent, parseEvents } from './events';
import type { ServicesModule } from './servicesModule';
import { SKUPPER1_NETWORK_KEY, skupper1NetworkStatus } from './skupper1NetworkStatus';

export interface StatusKube {
  core: {
    readNamespacedConfigMap(p: {
      name: string;
      namespace: string;
    }): Promise<{ data?: Record<string, string>; metadata?: { uid?: string } }>;
    createNamespacedConfigMap(p: { namespace: string; body: any }): Promise<unknown>;
    patchNamespacedConfigMap(p: { name: string; namespace: string; body: any }, options?: any): Promise<unknown>;
    createNamespacedEvent(p: { namespace: string; body: any }): Promise<unknown>;
  };
}

/**
 * Writes `data` keys into the status ConfigMap with a JSON merge patch; creates the ConfigMap (owned
 * by the site ConfigMap) when it does not exist yet.
 */
export async function patchStatusKeys(
  kube: StatusKube,
  namespace: string,
  data: Record<string, string>,
  ownerUid?: () => Promise<string | undefined>,
): Promise<void> {
  try {
    await kube.core.patchNamespacedConfigMap(
      { name: NETWORK_STATUS_CONFIGMAP, namespace, body: { data } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    return;
  } catch (error) {
    if (statusCode(error) !== 404) throw error;
  }
  const uid = ownerUid ? await ownerUid() : undefined;
  try {
    await kube.core.createNamespacedConfigMap({
      namespace,
      body: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: NETWORK_STATUS_CONFIGMAP,
          namespace,
          labels: { 'app.kubernetes.io/part-of': 'skupper' },
          ...(uid ? { ownerReferences: [siteOwner(uid)] } : {}),
        },
        data,
      },
    });
  } catch (error) {
    if (statusCode(error) !== 409) throw error;
    // Someone (the links module) created it meanwhile: patch again.
    await kube.core.patchNamespacedConfigMap(
      { name: NETWORK_STATUS_CONFIGMAP, namespace, body: { data } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }
}

function siteUidReader(kube: StatusKube, namespace: string, known?: string): () => Promise<string | undefined> {
  let uid = known;
  return async () => {
    if (uid) return uid;
    try {
      uid = (await kube.core.readNamespacedConfigMap({ name: SITE_CONFIGMAP, namespace })).metadata?.uid;
    } catch {
      uid = undefined;
    }
    return uid;
  };
}

/** A small rate limiter: run() at most once per interval, trailing call kept. */
class Throttle {
  private last = 0;
  private timer?: NodeJS.Timeout;
  private busy?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly intervalMs: number,
    private readonly fn: () => Promise<void>,
  ) {}

  request(): void {
    if (this.stopped || this.timer) return;
    const wait = Math.max(0, this.last + this.intervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.last = Date.now();
      this.busy = (this.busy ?? Promise.resolve()).then(this.fn).catch(() => undefined);
    }, wait);
    this.timer.unref?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.busy;
  }

  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.last = Date.now();
    await (this.busy = (this.busy ?? Promise.resolve()).then(this.fn).catch(() => undefined));
  }
}

export interface RecorderOptions {
  kube: StatusKube;
  namespace: string;
  siteUid?: string;
  /** e.g. skupper-router/<pod name> */
  component: string;
  limit?: number;
  minIntervalMs?: number;
  /** Also write Kubernetes Events (default true). */
  kubeEvents?: boolean;
  /** Echo events to the agent's log. */
  log?: (event: SiteEvent) => void;
}

/**
 * The site's event recorder: `record(type, reason, message)` keeps the event in a bounded log,
 * publishes the log as `events.json`, and writes a Kubernetes Event on the site ConfigMap.
 */
export class SiteEventRecorder extends EventEmitter {
  readonly log: EventLog;
  private readonly throttle: Throttle;
  private readonly uid: () => Promise<string | undefined>;
  private sequence = 0;
  private kubeQueue: Promise<void> = Promise.resolve();
  private started = false;

  constructor(private readonly o: RecorderOptions) {
    super();
    this.log = new EventLog(o.limit);
    this.uid = siteUidReader(o.kube, o.namespace, o.siteUid);
    this.throttle = new Throttle(o.minIntervalMs ?? 2000, () => this.publish());
  }

  async start(): Promise<void> {
    // Keep the events of the previous run of this site (a restarted pod) before adding new ones.
    try {
      const cm = await this.o.kube.core.readNamespacedConfigMap({ name: NETWORK_STATUS_CONFIGMAP, namespace: this.o.namespace });
      const previous = parseEvents(cm.data?.[EVENTS_KEY]);
      const fresh = this.log.list();
      this.log.load([...previous, ...fresh]);
    } catch {
      // None yet.
    }
    this.started = true;
    this.throttle.request();
  }

  async stop(): Promise<void> {
    await this.throttle.flush();
    await this.throttle.stop();
    await this.kubeQueue;
  }

  record(type: EventType, reason: string, message: string): void {
    const event = this.log.add(type, reason, message);
    this.o.log?.(event);
    this.emit('event', event);
    if (this.started) this.throttle.request();
    if (this.o.kubeEvents !== false) {
      const seq = this.sequence++;
      this.kubeQueue = this.kubeQueue.then(async () => {
        try {
          const uid = await this.uid();
          await this.o.kube.core.createNamespacedEvent({
            namespace: this.o.namespace,
            body: kubeEvent(event, { namespace: this.o.namespace, name: SITE_CONFIGMAP, uid, component: this.o.component }, seq),
          });
        } catch {
          // Events are best effort (the role may not allow them): the in-site log has it.
        }
      });
    }
  }

  /** Newest last. */
  events(): SiteEvent[] {
    return this.log.list();
  }

  private async publish(): Promise<void> {
    await patchStatusKeys(this.o.kube, this.o.namespace, { [EVENTS_KEY]: JSON.stringify(this.log.list()) }, this.uid);
  }
}

export interface PublisherOptions {
  kube: StatusKube;
  namespace: string;
  siteUid?: string;
  services: ServicesModule;
  minIntervalMs?: number;
  /** Re-publish at least this often even when nothing changed (lastSeen times); default 30 s. */
  refreshMs?: number;
  onError?: (message: string) => void;
}

/** Publishes `network.json`: on every change the services module reports, rate-limited. */
export class NetworkStatusPublisher {
  private readonly throttle: Throttle;
  private readonly uid: () => Promise<string | undefined>;
  private last?: NetworkStatus;
  private lastWrite = 0;
  private timer?: NodeJS.Timeout;
  private readonly listener = () => this.throttle.request();
  private lastError = '';

  constructor(private readonly o: PublisherOptions) {
    this.uid = siteUidReader(o.kube, o.namespace, o.siteUid);
    this.throttle = new Throttle(o.minIntervalMs ?? 2000, () => this.publish());
  }

  async start(): Promise<void> {
    for (const e of ['changed', 'announcement', 'reconciled']) this.o.services.on(e, this.listener);
    this.timer = setInterval(() => this.throttle.request(), 5000);
    this.timer.unref?.();
    this.throttle.request();
  }

  async stop(): Promise<void> {
    for (const e of ['changed', 'announcement', 'reconciled']) this.o.services.off(e, this.listener);
    if (this.timer) clearInterval(this.timer);
    await this.throttle.stop();
  }

  snapshot(): NetworkStatus {
    return buildNetworkStatus(this.o.services.announcement(), this.o.services.remote.announcements(), new Date());
  }

  private async publish(): Promise<void> {
    const status = this.snapshot();
    if (sameStatus(this.last, status) && Date.now() - this.lastWrite < (this.o.refreshMs ?? 30_000)) return;
    try {
      // Beside network.json, the same snapshot in the shape Skupper 1.x tools read (key NetworkStatus).
      const data = { [NETWORK_KEY]: JSON.stringify(status), [SKUPPER1_NETWORK_KEY]: JSON.stringify(skupper1NetworkStatus(status)) };
      await patchStatusKeys(this.o.kube, this.o.namespace, data, this.uid);
      this.last = status;
      this.lastWrite = Date.now();
      this.lastError = '';
    } catch (error) {
      const message = `publishing the network status failed: ${errorMessage(error)}`;
      if (message !== this.lastError) this.o.onError?.(message);
      this.lastError = message;
    }
  }
}
