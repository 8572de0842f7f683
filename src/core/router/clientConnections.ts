// Plain AMQP clients on a `normal` listener: what their connections' links become (a client receiver is
// a consumer of its source address, a client sender routes through messaging), dynamic addresses, and
// the credit of held-back senders given again when consumers appear or drain. A client's links
// themselves (queues, windows, credit) are in clients.ts.
import { ClientReceiver, ClientSender, keyLinksByNameAndRole, matchSettleModes } from './clients.js';
import type { Messaging } from './messaging.js';
import type { PeerLink } from './peer.js';

/* eslint-disable @typescript-eslint/no-explicit-any */

interface ClientConnection {
  /** rhea link -> what closes ours. */
  links: Map<any, () => void>;
  /** The client's receivers (our senders), pumped when the socket drains. */
  senders: Set<ClientSender>;
}

export class ClientConnections {
  private readonly connections = new Map<PeerLink, ClientConnection>();
  /** Every client sender's link (our receiver), to kick when consumers appear or drain. */
  private readonly clientReceivers = new Set<ClientReceiver>();
  /** Client links by rhea link, for management. */
  private readonly linkStats = new WeakMap<object, ClientSender | ClientReceiver>();
  private kickScheduled = false;
  private tempCounter = 0;

  constructor(
    /** Our id (dynamic addresses are ours). */
    private readonly selfId: () => string,
    private readonly messaging: Messaging,
  ) {}

  private get self(): string {
    return this.selfId();
  }

  /** The figures of a client link, by its rhea link. */
  statsOf(rheaLink: object): ClientSender | ClientReceiver | undefined {
    return this.linkStats.get(rheaLink);
  }

  attach(link: PeerLink): void {
    const conn = link.conn;
    // Credit is ours to give (ClientReceiver), not rhea's fixed window.
    conn.options.credit_window = 0;
    keyLinksByNameAndRole(conn);
    const state: ClientConnection = { links: new Map<any, () => void>(), senders: new Set<ClientSender>() };
    this.connections.set(link, state);
    // A session ended without detaching its links first takes them along.
    conn.on('session_close', (ctx: any) => {
      for (const [l, close] of [...state.links]) if (l.session === ctx.session) close();
    });
    link.socket.on('drain', () => {
      for (const s of state.senders) s.pump();
    });
    conn.on('sender_open', (ctx: any) => {
      const sender = ctx.sender;
      const source = sender.source ?? {};
      let address: string | undefined = source.address;
      if (source.dynamic) {
        address = `$temp/${this.self}/${++this.tempCounter}`;
        sender.set_source({ address, dynamic: false });
      } else {
        sender.set_source(source);
      }
      matchSettleModes(sender);
      if (!address) {
        sender.on('sender_close', () => {});
        sender.close({ condition: 'amqp:invalid-field', description: 'a receiver needs a source address' });
        return;
      }
      const out = new ClientSender(sender, link.socket, () => this.kick());
      state.senders.add(out);
      this.linkStats.set(sender, out);
      const unsub = this.messaging.addSubscriber(address, out);
      const closed = () => {
        unsub();
        state.links.delete(sender);
        state.senders.delete(out);
        out.close();
      };
      state.links.set(sender, closed);
      sender.on('sender_close', closed);
      sender.on('sender_error', () => {});
    });
    conn.on('receiver_open', (ctx: any) => {
      const receiver = ctx.receiver;
      receiver.set_target(receiver.target ?? {});
      // The client's settle modes stand: a pre-settled sender gets the pre-settled link it asked for.
      matchSettleModes(receiver);
      const r = new ClientReceiver(receiver, {
        route: (message, address, settle) => this.messaging.routeMessage(message, address, this.self, settle),
        holdBack: (address) => this.messaging.holdBack(address),
      });
      this.clientReceivers.add(r);
      this.linkStats.set(receiver, r);
      const closed = () => {
        state.links.delete(receiver);
        this.clientReceivers.delete(r);
        r.close();
      };
      state.links.set(receiver, closed);
      receiver.on('receiver_close', closed);
      receiver.on('receiver_error', () => {});
    });
  }

  /** Consumers appeared or drained: senders held back may get credit again. */
  kick(): void {
    if (this.kickScheduled || this.clientReceivers.size === 0) return;
    this.kickScheduled = true;
    setImmediate(() => {
      this.kickScheduled = false;
      for (const r of this.clientReceivers) r.topUp();
    });
  }

  detach(link: PeerLink): void {
    const state = this.connections.get(link);
    if (!state) return;
    this.connections.delete(link);
    for (const close of [...state.links.values()]) close();
  }
}
