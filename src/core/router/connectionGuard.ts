// Puts one rhea connection behind the frame guard and bounds what rhea would otherwise do for a peer:
// - input reaches rhea only through a FrameGuard (well-formed frames, none above max-frame-size);
// - a message is checked before rhea decodes it (checkMessage);
// - a delivery must start with a delivery-id (rhea would settle it later with no id and throw outside any
//   handler), arrive on a link we receive on, and the bytes of unfinished deliveries are capped;
// - a disposition range is cut to the deliveries the session holds (rhea walks every id of first..last),
//   and a drain settles a sender's credit at once (rhea counts it down one by one);
// - sessions and links per connection are capped;
// - the peer's idle-time-out and max-frame-size are raised to sane floors (rhea heartbeats at half the
//   peer's idle-time-out, and splits messages by its max-frame-size);
// - whatever rhea throws outside its own try/catch (deferred processing, socket end/error) closes this
//   connection, not the process.
// Refused input closes the connection with an AMQP close carrying the error, then ends the socket.
import type net from 'node:net';
import rhea from 'rhea';
import { DECODE_ERROR, FRAMING_ERROR, FrameGuard, checkMessage } from './frameGuard.js';
import type { Logger } from './log.js';
import { LogBudget } from './trust.js';

/* eslint-disable @typescript-eslint/no-explicit-any */

const DEFAULT_MAX_FRAME_SIZE = 1024 * 1024;
/** The smallest max-frame-size AMQP allows (part 2, 2.7.1). */
const MIN_MAX_FRAME_SIZE = 512;
/** Floor for the peer's idle-time-out: we heartbeat at half of it, so at most once a second. */
const MIN_PEER_IDLE_TIMEOUT_MS = 2000;
/** Bytes of deliveries still arriving (more=true) one connection may hold. */
const MAX_INCOMPLETE_BYTES = 64 * 1024 * 1024;
/** Sessions and links a peer may open on one connection (rhea has no limit; each costs memory). */
const MAX_SESSIONS = 1024;
const MAX_LINKS = 8192;
/** How long a refused peer gets to read our close before the socket is destroyed. */
const CLOSE_GRACE_MS = 2000;

class MessageRefused extends Error {}

/** One line per refused connection, at most 20 per 10 s for the process (a peer can open many). */
const refusals = new LogBudget();

let decodeChecked = false;
/** rhea.message.decode is what rhea (and the router) use for every format-0 message. */
function checkDecodedMessages(): void {
  if (decodeChecked) return;
  decodeChecked = true;
  const m = rhea.message as any;
  const decode = m.decode;
  m.decode = function (this: unknown, buffer: Buffer) {
    const why = Buffer.isBuffer(buffer) ? checkMessage(buffer) : undefined;
    if (why) throw new MessageRefused(why);
    return decode.call(this, buffer);
  };
}

function drainAtOnce(this: any): boolean {
  if (!(this._draining && this._drained && this.credit)) return false;
  this.delivery_count = (this.delivery_count + this.credit) >>> 0;
  this.credit = 0;
  return true;
}

export interface GuardHooks {
  log: Logger;
  /** The connection is being closed for this reason (for status). */
  onReject(reason: string): void;
}

/** What a reader in front of the guard (dataReader.ts) needs to know of it. */
export interface GuardState {
  /** See FrameGuard.frameRemaining. */
  frameRemaining(): number;
  /** The connection refused input: nothing more is read. */
  rejected(): boolean;
}

/** Call before rhea is given the socket (conn.accept / conn.connect). */
export function guardConnection(conn: any, socket: net.Socket, hooks: GuardHooks): GuardState {
  checkDecodedMessages();
  const maxFrameSize = Number(conn.options?.max_frame_size) || DEFAULT_MAX_FRAME_SIZE;
  const guard = new FrameGuard(maxFrameSize);
  let rejected = false;

  const reject = (condition: string, description: string, abrupt = false, cause?: Error): void => {
    if (rejected) return;
    rejected = true;
    hooks.onReject(description);
    const fields = { connection: conn.options?.id, remote: `${socket.remoteAddress}:${socket.remotePort}`, condition, reason: description };
    const suppressed = refusals.take(Date.now());
    if (suppressed !== undefined) {
      const more = suppressed ? { suppressedBefore: suppressed } : {};
      if (cause) hooks.log.error('closing a connection after an internal error', { ...fields, ...more, stack: cause.stack });
      else hooks.log.warn('closing a connection: bad input from the peer', { ...fields, ...more });
    }
    if (conn.amqp_transport) conn.amqp_transport.read_complete = true; // rhea stops after the current frame
    if (!abrupt && guard.phase === 'amqp' && !socket.destroyed) {
      try {
        if (!conn.state.initialised) conn.open(); // a close follows an open
        conn.close({ condition, description: description.slice(0, 512) });
        // rhea writes the close on the next ticks; end the socket after them.
        setImmediate(() => socket.end());
      } catch {
        abrupt = true;
      }
    }
    if (abrupt || guard.phase !== 'amqp') socket.destroy();
    else setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
  };

  const input = conn.input;
  conn.input = function (this: any, chunk: Buffer) {
    if (rejected) return;
    let pass: Buffer;
    try {
      pass = guard.push(chunk);
    } catch (e) {
      reject('amqp:internal-error', `frame guard: ${(e as Error).message}`, true, e as Error);
      return;
    }
    if (pass.length) input.call(this, pass);
    if (rejected) return;
    if (guard.error) reject(guard.error.condition, guard.error.description);
    // rhea buffers toward a frame size of its own reading only if it lost step with the guard (e.g. an
    // AMQP header pipelined into a SASL exchange): never let that grow.
    else if (this.frame_size > maxFrameSize) reject(FRAMING_ERROR, `rhea expects a frame of ${this.frame_size} bytes`);
  };

  // Last resort: rhea code that runs outside its own try/catch.
  for (const name of ['_process', 'eof', 'on_error']) {
    const f = conn[name];
    conn[name] = function (this: any, ...args: unknown[]) {
      try {
        return f.apply(this, args);
      } catch (e) {
        reject('amqp:internal-error', `internal error: ${(e as Error).message}`, true, e as Error);
        return undefined;
      }
    };
  }

  const createSession = conn.create_session;
  conn.create_session = function (this: any, ...args: unknown[]) {
    const session = createSession.apply(this, args);
    guardSession(session);
    return session;
  };
  const onBegin = conn.on_begin;
  conn.on_begin = function (this: any, frame: any) {
    if (rejected) return;
    if (Object.keys(this.local_channel_map).length >= MAX_SESSIONS) {
      reject('amqp:resource-limit-exceeded', `more than ${MAX_SESSIONS} sessions on one connection`);
      return;
    }
    onBegin.call(this, frame);
  };

  let links = 0;
  const countLinks = (): number => {
    let n = 0;
    for (const k in conn.local_channel_map) n += Object.keys(conn.local_channel_map[k].links).length;
    return n;
  };
  let incompleteBytes = 0;
  const incomplete = new Map<any, number>();
  const guardSession = (session: any): void => {
    const onAttach = session.on_attach;
    session.on_attach = function (this: any, frame: any) {
      if (rejected) return;
      // Counted up as links are made; counted again (links go with detaches and ended sessions) when high.
      if (links >= MAX_LINKS) links = countLinks();
      if (links >= MAX_LINKS && !this.links[frame.performative.name]) {
        reject('amqp:resource-limit-exceeded', `more than ${MAX_LINKS} links on one connection`);
        return;
      }
      onAttach.call(this, frame);
    };
    const createLink = session.create_link;
    session.create_link = function (this: any, ...args: unknown[]) {
      const link = createLink.apply(this, args);
      links++;
      // rhea drains a sender's credit one by one (a peer may grant 2^32-1).
      if (link.is_sender()) link._get_drain = drainAtOnce;
      return link;
    };

    for (const side of [session.outgoing, session.incoming]) {
      const onDisposition = side.on_disposition;
      side.on_disposition = function (this: any, fields: any) {
        const held = this.deliveries;
        const first = fields.first;
        if (typeof first !== 'number') {
          reject('amqp:invalid-field', 'a disposition without a first delivery-id');
          return;
        }
        const last = fields.last ? fields.last : first;
        if (!held.size) return;
        const lo = Math.max(first, held.get_head().id);
        const hi = Math.min(last, held.get_tail().id);
        if (!(lo <= hi)) return;
        onDisposition.call(this, { first: lo, last: hi, settled: fields.settled, state: fields.state });
      };
    }
    const onTransfer = session.incoming.on_transfer;
    session.incoming.on_transfer = function (this: any, frame: any, link: any) {
      if (rejected) return;
      if (link.is_sender?.()) {
        reject('amqp:invalid-field', `a transfer on link ${link.name}, where the peer receives`);
        return;
      }
      const before = link._incomplete;
      const id = frame.performative.delivery_id;
      if (!before && typeof id !== 'number') {
        reject('amqp:invalid-field', 'a transfer that starts a delivery without a delivery-id');
        return;
      }
      try {
        onTransfer.call(this, frame, link);
      } catch (e) {
        if (!(e instanceof MessageRefused)) throw e;
        reject(DECODE_ERROR, `a malformed message: ${e.message}`);
        return;
      }
      if (link._incomplete) {
        const n = frame.payload?.length ?? 0;
        incomplete.set(link, (incomplete.get(link) ?? 0) + n);
        incompleteBytes += n;
        if (incompleteBytes > MAX_INCOMPLETE_BYTES) {
          // Deliveries abandoned by a detach still count: drop them, then judge.
          for (const [l, bytes] of incomplete) {
            if (l._incomplete && !l.is_closed()) continue;
            incompleteBytes -= bytes;
            incomplete.delete(l);
          }
          if (incompleteBytes > MAX_INCOMPLETE_BYTES)
            reject('amqp:link:message-size-exceeded', `unfinished deliveries above ${MAX_INCOMPLETE_BYTES} bytes`);
        }
      } else if (before) {
        incompleteBytes -= incomplete.get(link) ?? 0;
        incomplete.delete(link);
      }
    };
  };

  // rhea queues its close frame, then clears the error on it; the frame is encoded later (writes are
  // deferred to the end of the tick, peer.ts coalesceWrites), so it left without the error. Queue a copy.
  conn._write_close = function (this: any) {
    const close = this.local.close;
    const frame = Object.create(Object.getPrototypeOf(close));
    frame.value = [...close.value];
    this._write_frame(0, frame);
    close.error = undefined;
  };

  conn.on('connection_open', () => {
    const open = conn.remote?.open;
    if (!open) return;
    const idle = open.idle_time_out;
    if (typeof idle === 'number' && idle > 0 && idle < MIN_PEER_IDLE_TIMEOUT_MS) open.idle_time_out = MIN_PEER_IDLE_TIMEOUT_MS;
    const max = open.max_frame_size;
    if (typeof max === 'number' && max < MIN_MAX_FRAME_SIZE) open.max_frame_size = MIN_MAX_FRAME_SIZE;
  });
  return { frameRemaining: () => guard.frameRemaining, rejected: () => rejected };
}
