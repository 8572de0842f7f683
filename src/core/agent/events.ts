// The site's events: link up/down, service added/removed, claim redeemed/refused, errors. Kept in a
// bounded in-site log (published as `events.json` in the network status ConfigMap, so `van debug
// events` and the extension read them without reaching the pod) and written as Kubernetes Events on
// the site ConfigMap (so `kubectl get events` shows them too).
import { printable } from '../text';

export type EventType = 'Normal' | 'Warning';

export interface SiteEvent {
  /** ISO time of the last occurrence. */
  time: string;
  type: EventType;
  /** CamelCase, e.g. LinkUp, LinkDown, ServiceAdded, ServiceRemoved, ClaimRedeemed, ClaimRefused, Error. */
  reason: string;
  message: string;
  /** How many times in a row it happened (repeats are folded into one entry). */
  count: number;
  /** When it first happened, if it repeated. */
  firstTime?: string;
}

export const EVENT_LOG_LIMIT = 200;
/** Characters kept of a message (a Kubernetes Event keeps 1024 too). */
export const EVENT_MESSAGE_LIMIT = 1024;

/** A ring buffer of events, oldest first; a repeat of the newest event bumps its count. */
export class EventLog {
  private readonly items: SiteEvent[] = [];

  constructor(private readonly limit = EVENT_LOG_LIMIT) {}

  add(type: EventType, rawReason: string, rawMessage: string, now: Date = new Date()): SiteEvent {
    // Messages quote what peers sent (site names, errors): no control characters, bounded length.
    const reason = printable(rawReason, 64);
    const message = printable(rawMessage, EVENT_MESSAGE_LIMIT);
    const last = this.items[this.items.length - 1];
    if (last && last.type === type && last.reason === reason && last.message === message) {
      last.firstTime ??= last.time;
      last.time = now.toISOString();
      last.count++;
      return last;
    }
    const event: SiteEvent = { time: now.toISOString(), type, reason, message, count: 1 };
    this.items.push(event);
    while (this.items.length > this.limit) this.items.shift();
    return event;
  }

  /** Oldest first. */
  list(): SiteEvent[] {
    return this.items.map((e) => ({ ...e }));
  }

  /** Restores a published log (after a restart), keeping the newest `limit`. */
  load(events: SiteEvent[]): void {
    this.items.splice(0, this.items.length, ...events.slice(-this.limit));
  }
}

export function parseEvents(text: string | undefined): SiteEvent[] {
  if (!text) return [];
  try {
    const value = JSON.parse(text) as unknown;
    const list = Array.isArray(value)
      ? value
      : Array.isArray((value as { events?: unknown })?.events)
        ? (value as { events: unknown[] }).events
        : [];
    return list
      .filter((e): e is SiteEvent => typeof e === 'object' && e !== null && typeof (e as SiteEvent).reason === 'string')
      .map((e) => ({
        time: String(e.time ?? ''),
        type: e.type === 'Warning' ? 'Warning' : 'Normal',
        reason: e.reason,
        message: String(e.message ?? ''),
        count: Number(e.count ?? 1),
        ...(e.firstTime ? { firstTime: e.firstTime } : {}),
      }));
  } catch {
    return [];
  }
}

export interface EventOwner {
  namespace: string;
  /** The site ConfigMap: the object the events are about. */
  name: string;
  uid?: string;
  /** Component that reports, e.g. skupper-router/<pod>. */
  component: string;
}

/** The Kubernetes Event (core/v1) for a site event. Its name is unique per occurrence stream. */
export function kubeEvent(event: SiteEvent, owner: EventOwner, sequence: number): Record<string, unknown> {
  const safe = event.reason.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: {
      name: `${owner.name}.${Date.parse(event.time).toString(16)}.${safe}.${sequence}`.slice(0, 253),
      namespace: owner.namespace,
    },
    involvedObject: {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      name: owner.name,
      namespace: owner.namespace,
      ...(owner.uid ? { uid: owner.uid } : {}),
    },
    reason: event.reason,
    message: printable(event.message, EVENT_MESSAGE_LIMIT),
    type: event.type,
    count: event.count,
    firstTimestamp: event.firstTime ?? event.time,
    lastTimestamp: event.time,
    source: { component: owner.component },
    reportingComponent: 'skupper.io/site-agent',
    reportingInstance: owner.component,
  };
}

/** Merges the in-site log with Kubernetes Events (either may be missing), newest last. */
export function mergeEvents(log: SiteEvent[], kube: SiteEvent[]): SiteEvent[] {
  const seen = new Set<string>();
  const out: SiteEvent[] = [];
  for (const e of [...log, ...kube]) {
    const key = `${e.reason}|${e.message}|${e.time.slice(0, 19)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(e);
  }
  return out.sort((a, b) => a.time.localeCompare(b.time));
}
