// Routed messaging: subscribers of this router, multicast (every consumer in every router) and anycast
// (one consumer: local ones first, then the closest other router, with the consumer's outcome carried
// back to the sender), the envelopes that carry messages and outcomes between routers, and the routed
// messages taken from peers only along the path of their source (trust.ts, through LinkStates).
import type { MessageHandler } from './api.js';
import type { RouterConfig } from './config.js';
import {
  ACCEPTED,
  IN_DOUBT,
  RELEASED,
  RoutedMessage,
  noSettle,
  once,
  outcomeFromWire,
  type MessageSink,
  type Outcome,
  type Settle,
} from './delivery.js';
import type { LinkStates, RefusalLog } from './linkState.js';
import type { Logger } from './log.js';
import type { PeerLink } from './peer.js';
import { chooseTarget } from './routing.js';

/* eslint-disable @typescript-eslint/no-explicit-any */

export const MANAGEMENT_ADDRESS = '$management';

export function isMulticastAddress(address: string): boolean {
  return address.startsWith('multicast/') || address.startsWith('mc/');
}

/** A routed message between routers, on the control link. */
export interface Envelope {
  t: 'msg';
  dst: string;
  src: string;
  addr: string;
  mode: 'multicast' | 'anycast';
  m: Buffer;
  /** Anycast: the sending router awaits the outcome under this id (a DispositionEnvelope). */
  id?: number;
}

/** The outcome of an anycast Envelope, routed back to the router that sent it. */
export interface DispositionEnvelope {
  t: 'disp';
  dst: string;
  src: string;
  id: number;
  o: unknown;
}

interface AnycastDelivery {
  message: RoutedMessage;
  address: string;
  from: string;
  settle: Settle;
  /** Consumers here and routers that released it (or could not be reached): not tried again. */
  triedSinks: Set<MessageSink>;
  triedRouters: Set<string>;
  /** Arrived from another router: only this router's consumers are tried. */
  localOnly: boolean;
}

interface AwaitedOutcome {
  d: AnycastDelivery;
  dst: string;
  via: PeerLink;
  at: number;
}

/** How long a router waits for the outcome of a message it sent to another router before it is in doubt. */
const AWAIT_OUTCOME_MS = 10 * 60_000;

/** What messaging needs from the router. */
export interface MessagingHost {
  /** Our id (read from the config, which may be replaced live). */
  config(): RouterConfig;
  readonly log: Logger;
  readonly refused: RefusalLog;
  isStopped(): boolean;
  /** A request to `$management`. */
  management(request: any): void;
  /** The set of addresses with a consumer here changed (our link-state record says which). */
  subscriptionsChanged(): void;
  /** A consumer appeared: senders held back may get credit again. */
  consumersChanged(): void;
}

export class Messaging {
  private readonly subscribers = new Map<string, Set<MessageSink>>();
  /** Anycast messages sent to other routers, awaiting the outcome there. */
  private readonly awaiting = new Map<number, AwaitedOutcome>();
  private awaitingSeq = 0;
  private anycastTurn = 0;

  constructor(
    private readonly host: MessagingHost,
    private readonly linkState: LinkStates,
  ) {}

  private get self(): string {
    return this.host.config().id;
  }

  /** The addresses with a consumer here. */
  subscriptions(): string[] {
    return [...this.subscribers.keys()].filter((a) => (this.subscribers.get(a)?.size ?? 0) > 0);
  }

  /** Multicast: every subscriber of `address` in every router gets `body`. */
  publish(address: string, body: unknown): void {
    this.routeMulticast(RoutedMessage.decoded({ body }), address, this.self);
  }

  /** Anycast: one subscriber (the closest) gets `body`. Returns false when nobody subscribes. */
  send(address: string, body: unknown): boolean {
    if (!this.hasConsumer(address)) return false;
    this.routeAnycast(RoutedMessage.decoded({ body }), address, this.self, noSettle);
    return true;
  }

  subscribe(address: string, handler: MessageHandler): () => void {
    return this.addSubscriber(address, {
      congested: false,
      offer: (message, from, settle) => {
        try {
          handler(message.message.body, from);
        } catch (e) {
          this.host.log.warn('message handler failed', { address, error: e });
        }
        settle(ACCEPTED);
        return true;
      },
    });
  }

  addSubscriber(address: string, sub: MessageSink): () => void {
    let set = this.subscribers.get(address);
    if (!set) this.subscribers.set(address, (set = new Set()));
    const first = set.size === 0;
    set.add(sub);
    if (first) this.host.subscriptionsChanged();
    this.host.consumersChanged();
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      const s = this.subscribers.get(address);
      if (!s) return;
      s.delete(sub);
      if (s.size === 0) {
        this.subscribers.delete(address);
        this.host.subscriptionsChanged();
      }
    };
  }

  /** Whether any router (this one included) has a consumer for `address`. */
  private hasConsumer(address: string): boolean {
    if ((this.subscribers.get(address)?.size ?? 0) > 0) return true;
    return (this.linkState.subTable.get(address) ?? []).some((t) => t.routerId !== this.self);
  }

  /** Routes a message a client sent: multicast is at most once per consumer, anycast carries the outcome. */
  routeMessage(message: RoutedMessage, address: string, from: string, settle: Settle): void {
    if (address === MANAGEMENT_ADDRESS) {
      this.host.management(message.message);
      settle(ACCEPTED);
    } else if (isMulticastAddress(address)) {
      // Settled once handed to every consumer's queue (or link to its router): like Skupper's multicast,
      // a consumer whose queue is full misses it.
      this.routeMulticast(message, address, from);
      settle(ACCEPTED);
    } else {
      this.routeAnycast(message, address, from, settle);
    }
  }

  private routeMulticast(message: RoutedMessage, address: string, from: string): boolean {
    let any = this.deliverMulticastLocal(message, address, from);
    for (const t of this.linkState.subTable.get(address) ?? []) {
      if (t.routerId === this.self) continue;
      any = this.sendEnvelope({ t: 'msg', dst: t.routerId, src: from, addr: address, mode: 'multicast', m: message.encoded }) || any;
    }
    return any;
  }

  private deliverMulticastLocal(message: RoutedMessage, address: string, from: string): boolean {
    const set = this.subscribers.get(address);
    if (!set || set.size === 0) return false;
    for (const s of [...set])
      if (!s.offer(message, from, noSettle)) this.host.log.debug('a multicast consumer is full: message not delivered to it', { address });
    return true;
  }

  /**
   * Anycast with the consumer's outcome carried back to `settle`: local consumers first (round robin,
   * the ones under their byte bound preferred), then the closest other router. A consumer or router that
   * releases the message is not tried again for it; when none is left, the sender gets released.
   */
  private routeAnycast(message: RoutedMessage, address: string, from: string, settle: Settle, localOnly = false): void {
    const d: AnycastDelivery = { message, address, from, settle: once(settle), triedSinks: new Set(), triedRouters: new Set(), localOnly };
    this.forwardAnycast(d);
  }

  private forwardAnycast(d: AnycastDelivery): void {
    if (this.host.isStopped()) return d.settle(RELEASED);
    if (!d.triedRouters.has(this.self)) {
      if (this.offerLocal(d)) return;
      d.triedRouters.add(this.self);
    }
    if (d.localOnly) return d.settle(RELEASED);
    for (;;) {
      const targets = (this.linkState.subTable.get(d.address) ?? []).filter((t) => !d.triedRouters.has(t.routerId));
      const t = chooseTarget(targets, 'closest', () => 0, this.anycastTurn++);
      if (!t) return d.settle(RELEASED);
      d.triedRouters.add(t.routerId);
      if (this.sendAnycastTo(t.routerId, d)) return;
    }
  }

  private offerLocal(d: AnycastDelivery): boolean {
    const set = this.subscribers.get(d.address);
    if (!set || set.size === 0) return false;
    const list = [...set].filter((s) => !d.triedSinks.has(s));
    if (list.length === 0) return false;
    const start = this.anycastTurn++ % list.length;
    const ordered = [...list.slice(start), ...list.slice(0, start)].sort((a, b) => Number(a.congested) - Number(b.congested));
    for (const sink of ordered) {
      d.triedSinks.add(sink);
      const taken = sink.offer(d.message, d.from, (outcome) => {
        // Released by this consumer: another one may take it (resend-released, as skupper-router does).
        if (outcome.kind === 'released') this.forwardAnycast(d);
        else d.settle(outcome);
      });
      if (taken) return true;
    }
    return false;
  }

  private sendAnycastTo(routerId: string, d: AnycastDelivery): boolean {
    const via = this.linkState.linkToward(routerId);
    if (!via) return false;
    const id = ++this.awaitingSeq;
    // An outcome lost on the way (a hop that went down behind the next one) must not pin the entry forever.
    if (id % 1024 === 0) this.failAwaiting((w) => Date.now() - w.at > AWAIT_OUTCOME_MS);
    this.awaiting.set(id, { d, dst: routerId, via, at: Date.now() });
    via.sendControl({ t: 'msg', dst: routerId, src: d.from, addr: d.address, mode: 'anycast', m: d.message.encoded, id });
    return true;
  }

  /** The outcome of a message this router sent to another router (or one passing through). */
  routeDisposition(env: DispositionEnvelope, link: PeerLink): void {
    if (typeof env.dst !== 'string' || typeof env.id !== 'number' || typeof env.src !== 'string') return;
    if (this.linkState.sourceProblem(env.src, link.remote?.routerId ?? '')) return;
    if (env.dst !== this.self) {
      this.sendEnvelope(env);
      return;
    }
    const waiting = this.awaiting.get(env.id);
    // Only the router the message went to may settle it (the way back may differ from the way out).
    if (!waiting || waiting.dst !== env.src) return;
    this.awaiting.delete(env.id);
    const outcome = outcomeFromWire(env.o);
    if (outcome.kind === 'released') this.forwardAnycast(waiting.d);
    else waiting.d.settle(outcome);
  }

  private sendDisposition(dst: string, id: number, outcome: Outcome): void {
    this.sendEnvelope({ t: 'disp', dst, src: this.self, id, o: JSON.parse(JSON.stringify(outcome)) });
  }

  private failAwaiting(lost: (w: AwaitedOutcome) => boolean): void {
    for (const [id, w] of this.awaiting) {
      if (!lost(w)) continue;
      this.awaiting.delete(id);
      w.d.settle(IN_DOUBT);
    }
  }

  /** Routes changed: messages sent to routers no longer reachable, or over links now down, are in doubt. */
  routesChanged(): void {
    if (this.awaiting.size) this.failAwaiting((w) => !this.linkState.routes.has(w.dst) || w.via.state !== 'up');
  }

  /** A router link went down: what was sent over it is in doubt. */
  linkDown(link: PeerLink): void {
    this.failAwaiting((w) => w.via === link);
  }

  /** A reply from this router (management): to one consumer of `to`, nobody waiting for its outcome. */
  reply(message: RoutedMessage, to: string): void {
    this.routeAnycast(message, to, this.self, noSettle);
  }

  private sendEnvelope(env: Envelope | DispositionEnvelope): boolean {
    const link = this.linkState.linkToward(env.dst);
    if (!link) return false;
    link.sendControl(env);
    return true;
  }

  routeEnvelope(env: Envelope, link: PeerLink): void {
    if (typeof env.dst !== 'string' || typeof env.addr !== 'string') return;
    // The source is what subscribers (service sync) believe: it must be on the side the message came from.
    const bad = this.linkState.sourceProblem(env.src, link.remote?.routerId ?? '');
    if (bad) {
      this.host.refused('routed message dropped', {
        from: link.remote?.routerId,
        src: typeof env.src === 'string' ? env.src.slice(0, 80) : undefined,
        address: env.addr.slice(0, 80),
        reason: bad,
      });
      return;
    }
    const id = typeof env.id === 'number' ? env.id : undefined;
    if (env.dst !== this.self) {
      // Cannot pass it on: the sending router learns at once (and tries another consumer or releases).
      if (!this.sendEnvelope(env) && id !== undefined && typeof env.src === 'string') this.sendDisposition(env.src, id, RELEASED);
      return;
    }
    let bytes: Buffer;
    try {
      bytes = Buffer.isBuffer(env.m) ? env.m : Buffer.from(env.m as any);
    } catch {
      return;
    }
    const message = RoutedMessage.encoded(bytes);
    if (env.mode === 'anycast') {
      const settle = id !== undefined && typeof env.src === 'string' ? (o: Outcome) => this.sendDisposition(env.src, id, o) : noSettle;
      this.routeAnycast(message, env.addr, env.src, settle, true);
    } else {
      this.deliverMulticastLocal(message, env.addr, env.src);
    }
  }

  /** No credit for a sender whose address has no consumer, or only local ones over their byte bound. */
  holdBack(address: string | undefined): boolean {
    if (!address || address === MANAGEMENT_ADDRESS || isMulticastAddress(address)) return false;
    if ((this.linkState.subTable.get(address) ?? []).some((t) => t.routerId !== this.self)) return false;
    const local = this.subscribers.get(address);
    if (!local || local.size === 0) return true;
    for (const s of local) if (!s.congested) return false;
    return true;
  }
}
