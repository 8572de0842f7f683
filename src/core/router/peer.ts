// One AMQP connection of the router (inter-router, edge or a plain client). For routers it carries two
// pairs of links attached once: "van/control" (link state, routed messages; ordinary AMQP messages) and
// "van/data" (TCP flows as pre-encoded, pre-settled deliveries, see framing.ts). It implements the core's
// DataPort; the core never sees the socket.
import rhea from 'rhea';
import type tls from 'node:tls';
import type net from 'node:net';
import type { DataPort } from './flows.js';
import { guardConnection, type GuardState } from './connectionGuard.js';
import { DATA_HEAD, DataFrameReader, encodeDataHead } from './dataReader.js';
import { DATA_FORMAT, decodeTag } from './framing.js';
import type { Logger } from './log.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
export type RheaConnection = any;
type RheaLink = any;

export type PeerRole = 'inter-router' | 'edge' | 'normal';
export type PeerState = 'connecting' | 'up' | 'down';

export const DATA_ADDRESS = 'van/data';
export const CONTROL_ADDRESS = 'van/control';

export interface PeerIdentity {
  routerId: string;
  siteId: string;
  siteName: string;
  mode: string;
  cost?: number;
}

export interface PeerHandlers {
  /** The peer's open arrived (identity known): the router registers the port. */
  onUp(link: PeerLink): void;
  onDown(link: PeerLink, reason: string): void;
  onControl(link: PeerLink, body: unknown): void;
  onData(link: PeerLink, kind: number, reverse: boolean, id: number, payload: Buffer): void;
}

export interface ConnectionStatus {
  name?: string;
  role: PeerRole;
  direction: 'outgoing' | 'incoming';
  host: string;
  port: number;
  state: PeerState;
  since: string;
  remoteRouterId?: string;
  remoteSiteId?: string;
  remoteSiteName?: string;
  cost: number;
  lastError?: string;
  bytesIn: number;
  bytesOut: number;
  flows?: number;
  /** Inter-router links: data-link frames by the path they took (the fast paths, or rhea's own). */
  dataFrames?: DataFrameCounts;
}

/**
 * Frames of the data link: written by the fast path (`sentFast`) or by rhea (`sentRhea`), read by the
 * frame reader (`readFast`) or by rhea (`readRhea`); `queued` counts those that first waited for credit
 * (they leave by either path). Anything on rhea's path costs a copy and a decode per frame.
 */
export interface DataFrameCounts {
  sentFast: number;
  sentRhea: number;
  queued: number;
  readFast: number;
  readRhea: number;
}

const SENDABLE_BATCH = 1 << 30;
const FAST_PATH = process.env.VAN_RHEA_DATA_PATH !== '1';
/** Data frames read without rhea (dataReader.ts); `VAN_RHEA_DATA_READ=1` leaves them all to rhea. */
const FAST_READ = FAST_PATH && process.env.VAN_RHEA_DATA_READ !== '1';
/**
 * Link credit (in frames) the data receiver keeps granting. Bytes are bounded per flow by the flow windows
 * (flows.ts), not by this: with rhea's default of 1000, a thousand flows opening at once ran out of it, and
 * the frames that waited went through rhea's encoder and decoder.
 */
const DATA_CREDIT_WINDOW = 16384;
const MAX_FAST_PAYLOAD = 512 * 1024;

/**
 * rhea writes every frame with its own socket.write: over TLS that is one record (and one encryption
 * call) per frame. Defer rhea's output to the end of the current tick and cork the socket meanwhile,
 * so all frames of a tick leave in one writev and few TLS records.
 */
/** Frames pre-encoded by the fast path ({ raw, payload }) are written as two buffers, no copy. */
function patchTransport(transport: any): void {
  if (transport.vanPatched) return;
  transport.vanPatched = true;
  const write = transport.write;
  transport.write = function (this: any, sock: net.Socket) {
    const pending: any[] = this.pending;
    if (!pending.some((f) => f.raw)) return write.call(this, sock);
    this.pending = [];
    write.call(this, sock); // the protocol header, if not sent yet
    let batch: any[] = [];
    for (const f of pending) {
      if (f.raw) {
        if (batch.length) {
          this.pending = batch;
          write.call(this, sock);
          batch = [];
        }
        sock.write(f.raw);
        sock.write(f.payload);
      } else {
        batch.push(f);
      }
    }
    this.pending = batch;
    if (batch.length) write.call(this, sock);
    this.pending = [];
  };
}

function coalesceWrites(conn: RheaConnection, socket: net.Socket): void {
  const output = conn.output.bind(conn);
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (socket.destroyed) return;
    output();
    socket.uncork();
  };
  conn.output = () => {
    if (scheduled) return;
    scheduled = true;
    socket.cork();
    process.nextTick(flush);
  };
}

export class PeerLink implements DataPort {
  state: PeerState = 'connecting';
  since = Date.now();
  lastError?: string;
  remote?: PeerIdentity;
  private dataSender?: RheaLink;
  private controlSender?: RheaLink;
  /** The peer's data link, as rhea received its attach; its transfers are read by `reader`. */
  private dataReceiver?: RheaLink;
  private readonly reader?: DataFrameReader;
  private readonly dataQueue: [Buffer, Buffer][] = [];
  private dataQueueHead = 0;
  private readonly controlQueue: unknown[] = [];
  private closed = false;
  private readonly frames: DataFrameCounts = { sentFast: 0, sentRhea: 0, queued: 0, readFast: 0, readRhea: 0 };

  constructor(
    readonly conn: RheaConnection,
    readonly socket: net.Socket | tls.TLSSocket,
    readonly direction: 'outgoing' | 'incoming',
    readonly role: PeerRole,
    readonly host: string,
    readonly port: number,
    readonly configuredName: string | undefined,
    public cost: number,
    private readonly handlers: PeerHandlers,
    private readonly log: Logger,
  ) {
    conn.on('connection_open', () => this.opened());
    conn.on('receiver_open', (ctx: any) => this.receiverOpened(ctx.receiver));
    conn.on('connection_close', (ctx: any) => {
      const err = ctx.connection?.error;
      // Answer the peer's close before the socket goes: clients wait for it (proton's close() does).
      try {
        this.conn.close();
      } catch {
        // ignore
      }
      this.teardown(err ? `the peer closed the connection: ${err.description ?? err.condition}` : 'the peer closed the connection', true);
    });
    conn.on('connection_error', (ctx: any) => {
      const err = ctx.connection?.error;
      this.lastError = `the peer closed the connection: ${err?.description ?? err?.condition ?? 'error'}`;
    });
    conn.on('disconnected', (ctx: any) => {
      this.teardown(this.lastError ?? (ctx.error ? `disconnected: ${ctx.error.message ?? ctx.error}` : 'disconnected'));
    });
    conn.on('protocol_error', (e: any) => {
      this.lastError = `AMQP protocol error: ${e?.message ?? e}`;
      this.socket.destroy();
    });
    conn.on('error', (e: any) => {
      this.lastError = `AMQP error: ${e?.message ?? e}`;
    });
    socket.on('close', () => this.teardown(this.lastError ?? 'the connection closed'));
    const guard = guardConnection(conn, socket, { log, onReject: (reason) => (this.lastError = reason) });
    if (FAST_READ && this.isRouterLink) this.reader = this.readDataFrames(guard);
    coalesceWrites(conn, socket);
  }

  get name(): string {
    return this.configuredName ?? `${this.direction}:${this.host}:${this.port}`;
  }

  get peerId(): string {
    return this.remote?.routerId ?? '';
  }

  get isRouterLink(): boolean {
    return this.role !== 'normal';
  }

  private opened(): void {
    if (!this.isRouterLink) {
      this.state = 'up';
      this.since = Date.now();
      this.handlers.onUp(this);
      return;
    }
    const props = (this.conn.remote?.open?.properties ?? {}) as Record<string, unknown>;
    const routerId = props['van-router-id'];
    if (typeof routerId !== 'string' || !routerId) {
      this.lastError = 'the peer is not a van router (no router id in its AMQP open)';
      this.close(this.lastError);
      return;
    }
    this.remote = {
      routerId,
      siteId: String(props['van-site-id'] ?? ''),
      siteName: String(props['van-site-name'] ?? ''),
      mode: String(props['van-mode'] ?? 'interior'),
    };
    if (this.direction === 'incoming' && typeof props['van-cost'] === 'number') this.cost = props['van-cost'] as number;
    // Links attached once for all flows; pre-settled.
    // The data link has a session of its own, so that the fast path below owns its delivery ids.
    const dataSession = this.conn.create_session();
    dataSession.begin();
    this.dataSender = dataSession.attach_sender({
      name: `van-data:${this.conn.options.container_id}`,
      target: { address: DATA_ADDRESS },
      snd_settle_mode: 1,
    });
    this.controlSender = this.conn.open_sender({
      name: `van-control:${this.conn.options.container_id}`,
      target: { address: CONTROL_ADDRESS },
      snd_settle_mode: 1,
    });
    this.dataSender.on('sendable', () => this.drainData());
    this.controlSender.on('sendable', () => this.drainControl());
    this.state = 'up';
    this.since = Date.now();
    this.lastError = undefined;
    this.handlers.onUp(this);
  }

  /**
   * Puts a DataFrameReader in front of the guard and rhea: the peer's data transfers are taken there,
   * everything else goes on to the guard as before.
   */
  private readDataFrames(guard: GuardState): DataFrameReader {
    const conn = this.conn;
    const input = conn.input; // the guard's, then rhea's
    const reader = new DataFrameReader(Number(conn.options?.max_frame_size) || 1024 * 1024, {
      accept: (deliveryId) => this.acceptTransfer(deliveryId),
      frame: (kind, reverse, id, payload) => this.handlers.onData(this, kind, reverse, id, payload),
      pass: (bytes) => input.call(conn, bytes),
      frameRemaining: () => guard.frameRemaining(),
      stopped: () => this.closed || guard.rejected(),
    });
    conn.input = (chunk: Buffer) => reader.push(chunk);
    return reader;
  }

  /**
   * What rhea's Incoming.on_transfer and the receiver's credit window do for a pre-settled, complete
   * delivery, without the delivery: session and link counters, and credit topped up a quarter window at a
   * time (rhea's FlowController). False leaves the frame to rhea (which then says what is wrong with it).
   */
  private acceptTransfer(deliveryId: number): boolean {
    const r = this.dataReceiver;
    // rhea re-arms its idle timer on every read it sees; routers announce no idle-time-out, keep it so.
    if (!r || r._incomplete || !r.is_remote_open() || this.conn.local.open.idle_time_out) return false;
    const session = r.session;
    const incoming = session.incoming;
    if (incoming.next_delivery_id !== undefined && incoming.next_delivery_id !== deliveryId) return false;
    incoming.next_transfer_id++;
    incoming.next_delivery_id = deliveryId + 1;
    if (r.credit > 0) r.credit--;
    r.delivery_count++;
    const delta = DATA_CREDIT_WINDOW - r.credit;
    if (delta >= DATA_CREDIT_WINDOW / 4) r.flow(delta);
    else if (incoming.max_transfer_id - incoming.next_transfer_id < incoming.window / 2) this.conn._register();
    this.frames.readFast++;
    return true;
  }

  /** The data receiver is attached: its transfers (on the peer's channel and handle) go to the reader. */
  private readDataLink(receiver: RheaLink): void {
    this.dataReceiver = receiver;
    // rhea tops credit up to this window for the frames it reads itself; the fast reader, in acceptTransfer.
    receiver.set_credit_window(DATA_CREDIT_WINDOW);
    if (DATA_CREDIT_WINDOW > receiver.credit) receiver.flow(DATA_CREDIT_WINDOW - receiver.credit);
    const map = this.conn.remote_channel_map as Record<string, unknown>;
    const channel = Object.keys(map).find((k) => map[k] === receiver.session);
    const handle = receiver.remote?.attach?.handle;
    if (channel !== undefined && typeof handle === 'number') this.reader?.enable(Number(channel), handle);
  }

  private receiverOpened(receiver: RheaLink): void {
    if (!this.isRouterLink) return;
    const address = receiver.target?.address;
    if (address === DATA_ADDRESS) {
      if (!this.dataReceiver) this.readDataLink(receiver);
      receiver.on('message', (ctx: any) => {
        const d = ctx.delivery;
        d.update(true);
        const tag = decodeTag(d.tag);
        if (!tag || d.format !== DATA_FORMAT) return;
        this.frames.readRhea++;
        this.handlers.onData(this, tag.kind, tag.reverse, tag.id, ctx.message as Buffer);
      });
    } else if (address === CONTROL_ADDRESS) {
      receiver.on('message', (ctx: any) => {
        ctx.delivery.update(true);
        this.handlers.onControl(this, ctx.message?.body);
      });
    } else {
      // A router connection carries our two links only. rhea accepts any attach and grants it credit;
      // nobody would settle what arrives there, so rhea would hold every message (a linked router could
      // fill our memory). Refuse the link, and settle as rejected what was already on its way.
      const error = { condition: 'amqp:not-found', description: `a router connection carries only ${DATA_ADDRESS} and ${CONTROL_ADDRESS}` };
      const rejected = (rhea.message as any).rejected({ error }).described();
      receiver.on('message', (ctx: any) => ctx.delivery.update(true, rejected));
      receiver.close(error);
    }
  }

  // ---- DataPort -----------------------------------------------------------------------------------

  sendFrame(tag: Buffer, payload: Buffer): void {
    if (this.closed) return;
    const s = this.dataSender;
    if (s && this.dataQueueHead === this.dataQueue.length) {
      if (FAST_PATH && this.fastSend(s, tag, payload)) {
        this.frames.sentFast++;
        return;
      }
      if (s.sendable()) {
        this.frames.sentRhea++;
        s.send(payload, tag, DATA_FORMAT);
        return;
      }
    }
    this.frames.queued++;
    this.dataQueue.push([tag, payload]);
  }

  /**
   * Writes a pre-settled transfer frame for the data link without rhea's generic encoder (which copies
   * the payload several times as its buffer grows): a 38-byte head and the payload itself, queued in
   * order with rhea's own frames. Keeps rhea's session and link counters as rhea would. Only when
   * rhea has nothing queued on the data session, there is link credit and session window.
   */
  private fastSend(s: RheaLink, tag: Buffer, payload: Buffer): boolean {
    const session = s.session;
    const out = session.outgoing;
    if (
      !(s.credit > 0) ||
      out.next_pending_delivery !== out.next_delivery_id ||
      out.transfer_window() <= 0 ||
      payload.length > MAX_FAST_PAYLOAD ||
      tag.length !== 5 ||
      !this.conn.socket_ready
    ) {
      return false;
    }
    const id = out.next_delivery_id++;
    out.next_pending_delivery++;
    out.next_transfer_id++;
    out.window--;
    s.credit--;
    s.delivery_count++;
    const head = encodeDataHead({
      size: DATA_HEAD + payload.length,
      channel: session.local.channel,
      handle: s.local.handle,
      deliveryId: id,
      tag,
    });
    const transport = this.conn.amqp_transport;
    patchTransport(transport);
    transport.pending.push({ raw: head, payload });
    this.conn.output();
    return true;
  }

  private drainData(): void {
    const s = this.dataSender;
    if (!s) return;
    const q = this.dataQueue;
    let n = 0;
    while (this.dataQueueHead < q.length && n++ < SENDABLE_BATCH) {
      const [tag, payload] = q[this.dataQueueHead];
      // Credit is back: the fast path again while rhea holds nothing, so that the peer reads these
      // frames on its fast path too; rhea's own send keeps the order once it holds a frame.
      if (FAST_PATH && this.fastSend(s, tag, payload)) this.frames.sentFast++;
      else if (s.sendable()) {
        this.frames.sentRhea++;
        s.send(payload, tag, DATA_FORMAT);
      } else break;
      q[this.dataQueueHead++] = undefined as unknown as [Buffer, Buffer];
    }
    if (this.dataQueueHead === q.length) {
      q.length = 0;
      this.dataQueueHead = 0;
    } else if (this.dataQueueHead > 4096) {
      q.splice(0, this.dataQueueHead);
      this.dataQueueHead = 0;
    }
  }

  sendControl(body: unknown): void {
    if (this.closed) return;
    const s = this.controlSender;
    if (s && this.controlQueue.length === 0 && s.sendable()) {
      s.send({ body });
      return;
    }
    this.controlQueue.push(body);
  }

  private drainControl(): void {
    const s = this.controlSender;
    if (!s) return;
    while (this.controlQueue.length && s.sendable()) s.send({ body: this.controlQueue.shift() });
  }

  // ---- lifecycle ----------------------------------------------------------------------------------

  close(reason: string): void {
    if (this.closed) return;
    this.lastError ??= reason;
    try {
      this.conn.close();
    } catch {
      // ignore
    }
    // Give the close frame a moment, then cut the socket.
    setTimeout(() => this.socket.destroy(), 200).unref();
    this.teardown(reason);
  }

  /** `closing`: our close frame is on its way, so the socket is ended after it rather than cut. */
  private teardown(reason: string, closing = false): void {
    if (this.closed) return;
    this.closed = true;
    if (this.direction === 'outgoing' && this.isRouterLink && !this.remote && !this.lastError && (this.socket as tls.TLSSocket).encrypted) {
      // TLS 1.3: the server checks our certificate after the handshake and just closes when it refuses it.
      this.lastError =
        `the remote site closed the link right after the TLS handshake: ` +
        `it rejected our client certificate (the link's token is from another network, or access was revoked); ` +
        `create a new token at the remote site (${this.host}:${this.port})`;
    }
    const wasUp = this.state === 'up';
    this.state = 'down';
    this.since = Date.now();
    this.lastError ??= reason;
    this.dataQueue.length = 0;
    this.controlQueue.length = 0;
    if (closing) this.endAfterClose();
    else if (!this.socket.destroyed) this.socket.destroy();
    this.log.debug('connection down', { name: this.name, reason: this.lastError, wasUp });
    this.handlers.onDown(this, this.lastError ?? reason);
  }

  private endAfterClose(): void {
    // rhea writes the close within the next ticks (see coalesceWrites); a peer that lingers is cut.
    setImmediate(() => {
      if (!this.socket.destroyed) this.socket.end();
    });
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  status(flows?: number): ConnectionStatus {
    return {
      ...(this.configuredName ? { name: this.configuredName } : {}),
      role: this.role,
      direction: this.direction,
      host: this.host,
      port: this.port,
      state: this.state,
      since: new Date(this.since).toISOString(),
      ...(this.remote
        ? { remoteRouterId: this.remote.routerId, remoteSiteId: this.remote.siteId, remoteSiteName: this.remote.siteName }
        : {}),
      cost: this.cost,
      ...(this.lastError && this.state !== 'up' ? { lastError: this.lastError } : {}),
      bytesIn: this.socket.bytesRead ?? 0,
      bytesOut: this.socket.bytesWritten ?? 0,
      ...(flows !== undefined ? { flows } : {}),
      ...(this.isRouterLink ? { dataFrames: { ...this.frames } } : {}),
    };
  }
}
