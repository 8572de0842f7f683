// A routed message and its outcome, as the router's messaging core sees them: where a message came from
// (a client's link, another router, the router itself) and where it goes (a client's link, an in-process
// handler) are the adaptors' business. An anycast delivery carries a `settle` callback that is called
// exactly once with the consumer's outcome; the sender's delivery is settled with that outcome only.
import rhea from 'rhea';

/* eslint-disable @typescript-eslint/no-explicit-any */

export type Outcome =
  | { kind: 'accepted' }
  | { kind: 'released' }
  | { kind: 'rejected'; error?: { condition: string; description?: string } }
  | { kind: 'modified'; deliveryFailed?: boolean; undeliverableHere?: boolean };

export type Settle = (outcome: Outcome) => void;

export const ACCEPTED: Outcome = Object.freeze({ kind: 'accepted' });
/** Not delivered: the sender may send it again. */
export const RELEASED: Outcome = Object.freeze({ kind: 'released' });
/** May or may not have been delivered (a link or a router went away meanwhile). */
export const IN_DOUBT: Outcome = Object.freeze({ kind: 'modified', deliveryFailed: true });

export const noSettle: Settle = () => {};

/** Wraps `settle` so that only its first call counts. */
export function once(settle: Settle): Settle {
  let done = false;
  return (o) => {
    if (done) return;
    done = true;
    settle(o);
  };
}

/** An AMQP message in flight, kept encoded (what clients and other routers get) and decoded on demand. */
export class RoutedMessage {
  private enc?: Buffer;
  private dec?: any;

  static decoded(message: any): RoutedMessage {
    const m = new RoutedMessage();
    m.dec = message;
    return m;
  }

  static encoded(bytes: Buffer): RoutedMessage {
    const m = new RoutedMessage();
    m.enc = bytes;
    return m;
  }

  get encoded(): Buffer {
    return (this.enc ??= rhea.message.encode(this.dec) as Buffer);
  }

  get message(): any {
    return (this.dec ??= rhea.message.decode(this.enc!));
  }

  get size(): number {
    return this.encoded.length;
  }
}

/** A consumer of an address in this router: a client's receiving link or an in-process handler. */
export interface MessageSink {
  /** Takes the message (and then calls `settle` exactly once, later or at once) or refuses it (false). */
  offer(message: RoutedMessage, from: string, settle: Settle): boolean;
  /** Over its byte bound: senders to its address get no more credit until it drains. */
  readonly congested: boolean;
}

/** The outcome a client or router reported, from rhea's delivery state. */
export function outcomeFromState(state: any): Outcome | undefined {
  const type = state?.constructor?.composite_type;
  switch (type) {
    case 'accepted':
      return ACCEPTED;
    case 'released':
      return RELEASED;
    case 'rejected': {
      const e = state.error;
      return e && typeof e.condition === 'string'
        ? { kind: 'rejected', error: { condition: e.condition, description: e.description } }
        : { kind: 'rejected' };
    }
    case 'modified':
      return { kind: 'modified', deliveryFailed: Boolean(state.delivery_failed), undeliverableHere: Boolean(state.undeliverable_here) };
    default:
      return undefined;
  }
}

/** Settles a delivery a client sent us with `outcome` (rhea's incoming delivery). */
export function settleIncoming(delivery: any, outcome: Outcome): void {
  switch (outcome.kind) {
    case 'accepted':
      delivery.accept();
      break;
    case 'released':
      delivery.release();
      break;
    case 'rejected':
      delivery.reject(outcome.error);
      break;
    case 'modified':
      delivery.modified({ delivery_failed: outcome.deliveryFailed ?? false, undeliverable_here: outcome.undeliverableHere ?? false });
      break;
  }
}

/** An outcome that came from another router, checked (anything else counts as in doubt). */
export function outcomeFromWire(o: unknown): Outcome {
  if (!o || typeof o !== 'object') return IN_DOUBT;
  const v = o as Record<string, unknown>;
  switch (v.kind) {
    case 'accepted':
      return ACCEPTED;
    case 'released':
      return RELEASED;
    case 'rejected': {
      const e = v.error as Record<string, unknown> | undefined;
      return e && typeof e.condition === 'string'
        ? {
            kind: 'rejected',
            error: {
              condition: e.condition.slice(0, 200),
              description: typeof e.description === 'string' ? e.description.slice(0, 1000) : undefined,
            },
          }
        : { kind: 'rejected' };
    }
    case 'modified':
      return { kind: 'modified', deliveryFailed: v.deliveryFailed === true, undeliverableHere: v.undeliverableHere === true };
    default:
      return IN_DOUBT;
  }
}
