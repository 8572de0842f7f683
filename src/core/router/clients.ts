// Plain AMQP clients on a `normal` listener, one object per link:
// - ClientSender: the router sends to a client's receiving link. A sink for the router's messaging core
//   with a queue bounded in bytes: what it holds (queued + sent and not yet settled by the client) stays
//   under a few MiB whatever credit the client grants, and a client that stops reading its socket stops
//   the router at the socket's own bound.
// - ClientReceiver: a client sends to the router. Credit is granted by bytes in flight: a delivery counts
//   until its downstream outcome is known, and the client's delivery is settled with that outcome (never
//   accepted on behalf of a consumer that may drop it). No credit is replenished while the address has no
//   consumer or its only (local) consumers are over their bound.
import type net from 'node:net';
import {
  ACCEPTED,
  IN_DOUBT,
  RELEASED,
  RoutedMessage,
  outcomeFromState,
  settleIncoming,
  type MessageSink,
  type Outcome,
  type Settle,
} from './delivery.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type RheaLink = any;
type RheaConnection = any;

function envBytes(name: string, fallback: number): number {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v >= 64 * 1024 ? Math.floor(v) : fallback;
}

export const CLIENT_LIMITS = {
  /** Bytes a ClientSender hands to rhea and the socket before the client settles them. */
  window: envBytes('VAN_CLIENT_WINDOW_BYTES', 4 * 1024 * 1024),
  /** Bytes a ClientSender queues behind that; past it, new messages are refused (re-routed or released). */
  queue: envBytes('VAN_CLIENT_QUEUE_BYTES', 4 * 1024 * 1024),
  /** Bytes a client's sender may have in flight (sent, outcome not known yet). */
  inFlight: envBytes('VAN_CLIENT_INFLIGHT_BYTES', 4 * 1024 * 1024),
  /** Socket bytes not yet written before the router stops handing deliveries to a client. */
  socket: 1024 * 1024,
};
const MAX_CREDIT = 250;
/** One message first: its size tells how much credit the byte bound allows. */
const INITIAL_CREDIT = 1;

interface Item {
  message: RoutedMessage;
  bytes: number;
  settle: Settle;
}

export class ClientSender implements MessageSink {
  private readonly queue: Item[] = [];
  private head = 0;
  private queuedBytes = 0;
  /** Handed to rhea: awaiting the client's outcome (or, pre-settled, the write). */
  private readonly inFlight = new Map<any, Item>();
  private inFlightBytes = 0;
  private closed = false;
  private wasCongested = false;
  private pumpScheduled = false;
  readonly presettled: boolean;
  /** Messages refused because the queue was full (anycast: re-routed or released; multicast: lost). */
  refused = 0;

  constructor(
    private readonly sender: RheaLink,
    private readonly socket: net.Socket,
    private readonly onUncongested: () => void,
  ) {
    this.presettled = sender.local.attach.snd_settle_mode === 1;
    sender.on('sendable', () => this.pump());
    // A receiver that drains its credit is told at once when nothing is queued for it.
    sender.on('sender_draining', () => this.pump());
    for (const event of ['accepted', 'released', 'rejected']) {
      // rhea reports modified as released too; the delivery's state tells them apart.
      sender.on(event, (ctx: any) => this.settled(ctx.delivery));
    }
    sender.on('settled', (ctx: any) => this.settled(ctx.delivery));
  }

  get congested(): boolean {
    return this.queuedBytes + this.inFlightBytes > CLIENT_LIMITS.window;
  }

  stats(): { queued: number; queuedBytes: number; unsettled: number; unsettledBytes: number; refused: number } {
    return {
      queued: this.queue.length - this.head,
      queuedBytes: this.queuedBytes,
      unsettled: this.inFlight.size,
      unsettledBytes: this.inFlightBytes,
      refused: this.refused,
    };
  }

  offer(message: RoutedMessage, _from: string, settle: Settle): boolean {
    if (this.closed) return false;
    const bytes = message.size;
    // An empty queue takes any one message, however large; past the bound the router looks elsewhere.
    if (this.queuedBytes > 0 && this.queuedBytes + bytes > CLIENT_LIMITS.queue) {
      this.refused++;
      return false;
    }
    this.queue.push({ message, bytes, settle });
    this.queuedBytes += bytes;
    this.pump();
    return true;
  }

  pump(): void {
    if (this.closed) return;
    while (this.head < this.queue.length) {
      const item = this.queue[this.head];
      if (!this.sender.sendable()) break;
      if (this.inFlightBytes > 0 && this.inFlightBytes + item.bytes > CLIENT_LIMITS.window) break;
      if (this.socket.writableLength > CLIENT_LIMITS.socket) break; // resumed by the socket's 'drain'
      this.queue[this.head++] = undefined as unknown as Item;
      this.queuedBytes -= item.bytes;
      // Pre-encoded (format 0): rhea writes the bytes as they are.
      const delivery = this.sender.send(item.message.encoded, undefined, 0);
      this.inFlight.set(delivery, item);
      this.inFlightBytes += item.bytes;
      if (this.presettled) {
        // At most once, as the client asked: done once written.
        item.settle(ACCEPTED);
        this.schedulePump();
      }
    }
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head > 1024) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    if (this.head === this.queue.length && this.sender._draining) this.sender.set_drained(true);
    if (this.presettled) this.reapWritten();
    this.checkCongestion();
  }

  /** Pre-settled deliveries leave the in-flight count once rhea has written them. */
  private reapWritten(): void {
    for (const [d, item] of this.inFlight) {
      if (!d.remote_settled) break;
      this.inFlight.delete(d);
      this.inFlightBytes -= item.bytes;
    }
    // What is still unwritten waits for credit or session window: their arrival pumps again.
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private settled(delivery: any): void {
    const item = this.inFlight.get(delivery);
    if (!item) return;
    this.inFlight.delete(delivery);
    this.inFlightBytes -= item.bytes;
    if (!delivery.remote_settled) delivery.update(true);
    // Settled by the client without an outcome: it may or may not have processed it.
    item.settle(outcomeFromState(delivery.remote_state) ?? IN_DOUBT);
    this.pump();
  }

  private checkCongestion(): void {
    const now = this.congested;
    if (this.wasCongested && !now) this.onUncongested();
    this.wasCongested = now;
  }

  /** The link or connection went away: queued messages go back (released), sent ones are in doubt. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const queued = this.queue.slice(this.head);
    this.queue.length = 0;
    this.head = 0;
    this.queuedBytes = 0;
    const sent = [...this.inFlight.entries()];
    this.inFlight.clear();
    this.inFlightBytes = 0;
    const nextToWrite = this.sender.session?.outgoing?.next_pending_delivery;
    for (const [d, item] of sent) {
      // rhea records a disposition at once but reports it later: a detach right behind it comes first.
      const known = outcomeFromState(d.remote_state);
      item.settle(known ?? (typeof nextToWrite === 'number' && d.id >= nextToWrite ? RELEASED : IN_DOUBT));
    }
    for (const item of queued) item.settle(RELEASED);
    if (this.wasCongested) this.onUncongested();
  }
}

export interface ClientReceiverHooks {
  /** Routes one message; `settle` gets the downstream outcome. */
  route(message: RoutedMessage, address: string, settle: Settle): void;
  /** True while credit must not be replenished for this address. */
  holdBack(address: string | undefined): boolean;
}

export class ClientReceiver {
  private outstanding = 0;
  private outstandingBytes = 0;
  private sizeEstimate = 0;
  private closed = false;

  constructor(
    private readonly receiver: RheaLink,
    private readonly hooks: ClientReceiverHooks,
  ) {
    receiver.on('message', (ctx: any) => this.onMessage(ctx));
    // Settle mode second: the client settles after our outcome; then rhea may forget the delivery.
    receiver.on('settled', (ctx: any) => {
      ctx.delivery.settled = true;
    });
    // The first credit is given whatever the address: a message to an address without consumers is then
    // released (the sender learns it), and credit comes back when a consumer appears.
    receiver.add_credit(INITIAL_CREDIT);
  }

  get address(): string | undefined {
    return this.receiver.target?.address || undefined;
  }

  stats(): { outstanding: number; outstandingBytes: number; credit: number } {
    return { outstanding: this.outstanding, outstandingBytes: this.outstandingBytes, credit: this.receiver.credit };
  }

  private onMessage(ctx: any): void {
    const delivery = ctx.delivery;
    const presettled = Boolean(delivery.remote_settled);
    const message = ctx.message;
    const address: string | undefined = this.address || (typeof message?.to === 'string' ? message.to : undefined);
    if (!address) {
      if (!presettled)
        delivery.reject({ condition: 'amqp:precondition-failed', description: 'no address: set the link target or the message "to"' });
      this.topUp();
      return;
    }
    // Delivery annotations are for one hop only.
    if (message.delivery_annotations) delete message.delivery_annotations;
    const routed = RoutedMessage.decoded(message);
    const bytes = routed.size;
    this.sizeEstimate = this.sizeEstimate ? Math.max(bytes, Math.round(this.sizeEstimate * 0.9 + bytes * 0.1)) : bytes;
    this.outstanding++;
    this.outstandingBytes += bytes;
    let done = false;
    this.hooks.route(routed, address, (outcome: Outcome) => {
      if (done) return;
      done = true;
      this.outstanding--;
      this.outstandingBytes -= bytes;
      if (!presettled && !this.closed) settleIncoming(delivery, outcome);
      this.topUp();
    });
    this.topUp();
  }

  /** Grants credit up to what the byte bound allows, unless the address holds senders back. */
  topUp(): void {
    if (this.closed) return;
    const r = this.receiver;
    if (!r.is_open?.() || this.hooks.holdBack(this.address)) return;
    const perMessage = Math.max(this.sizeEstimate, 1);
    const allowed = Math.max(1, Math.min(MAX_CREDIT, Math.floor(CLIENT_LIMITS.inFlight / perMessage)));
    if (this.outstandingBytes >= CLIENT_LIMITS.inFlight && this.outstanding > 0) return;
    const want = allowed - r.credit - this.outstanding;
    if (want > 0 && (want >= allowed / 4 || r.credit === 0)) r.add_credit(want);
  }

  close(): void {
    this.closed = true;
  }
}

/**
 * AMQP keys links by name and role: a client may attach a sender and a receiver with the same name on one
 * session (proton names both "<container>-<address>"). rhea keys them by name only and refuses the
 * second attach, so on this connection the second role is kept under a role-qualified key, and links are
 * removed by identity.
 */
export function keyLinksByNameAndRole(conn: RheaConnection): void {
  if (conn.vanLinksByRole) return;
  conn.vanLinksByRole = true;
  const onBegin = conn.on_begin;
  conn.on_begin = function (this: RheaConnection, frame: any) {
    onBegin.call(this, frame);
    const session = this.remote_channel_map?.[frame.channel];
    if (session) patchSession(session);
  };
}

function patchSession(session: any): void {
  if (session.vanLinksByRole) return;
  session.vanLinksByRole = true;
  session.on_attach = function (this: any, frame: any) {
    const p = frame.performative;
    const name: string = p.name;
    const weSend = Boolean(p.role); // the peer is a receiver
    const matches = (l: any) => l && l.is_sender() === weSend;
    const key = `${weSend ? 'sender' : 'receiver'}\u0000${name}`;
    let link = matches(this.links[name]) ? this.links[name] : this.links[key];
    if (!link) {
      const other = this.links[name];
      link = weSend ? this.create_sender(name) : this.create_receiver(name);
      if (other) {
        this.links[name] = other;
        this.links[key] = link;
      }
    }
    this.remote.handles[p.handle] = link;
    link.on_attach(frame);
    link.remote.attach = p;
  };
  session.remove_link = function (this: any, link: any) {
    delete this.remote.handles[link.remote.handle];
    delete this.local.handles[link.local.handle];
    for (const k of Object.keys(this.links)) if (this.links[k] === link) delete this.links[k];
  };
}

/**
 * Answers a client's attach with the settle modes it asked for: the sender's mode is the sender's to
 * choose, and clients such as go-amqp refuse a link whose modes differ from what they requested.
 */
export function matchSettleModes(link: RheaLink): void {
  const snd = link.snd_settle_mode;
  const rcv = link.rcv_settle_mode;
  if (snd === 0 || snd === 1 || snd === 2) link.local.attach.snd_settle_mode = snd;
  if (rcv === 0 || rcv === 1) link.local.attach.rcv_settle_mode = rcv;
}
