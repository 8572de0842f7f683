// A hostile router for the tests: a plain rhea connection with a valid certificate of the network that
// speaks our inter-router protocol (open properties, van/control) and sends whatever the test asks for:
// forged, oversized or malformed link-state records and routed messages.
import { readFileSync } from 'node:fs';
import rhea from 'rhea';
import type { TlsFiles } from '../../../src/core/router/config.js';
import { networkPki } from './helpers.js';

/* eslint-disable @typescript-eslint/no-explicit-any */

export interface Hostile {
  id: string;
  /** Link-state records the victim sent us (its database sync and floods), newest per id. */
  records: Map<string, any>;
  /** Sends one van/control message, waiting for link credit (pre-settled, as routers do). */
  send(body: unknown): Promise<void>;
  /** Our own record: neighbours {victim: 1} unless given, a fresh version every call. */
  ownRecord(extra?: Record<string, unknown>): Record<string, unknown>;
  /** A routed message as routers send them (`m` is the AMQP-encoded client message). */
  envelope(dst: string, src: string, address: string, body: unknown): Record<string, unknown>;
  /**
   * Attaches a sender to van/data on a session of its own and waits for credit: the channel and handle
   * that forged data frames (written with `raw`) must carry, and the next delivery-id.
   */
  attachData(): Promise<{ channel: number; handle: number; deliveryId: number }>;
  /** A sender (unsettled, rhea's default) attached to any address on a session of its own (rhea's sender). */
  openSender(address: string): any;
  /** Bytes written to the TLS socket as they are, after everything rhea wrote before. */
  raw(bytes: Buffer): void;
  /** True once the victim closed the connection. */
  closed(): boolean;
  close(): Promise<void>;
}

export interface HostileOptions {
  id: string;
  siteId?: string;
  /** The victim's router id (our record lists it). */
  victim: string;
  /** The `van-cost` open property, sent as is (may be NaN or negative). */
  cost?: number;
  tls?: TlsFiles;
  timeoutMs?: number;
}

export async function connectHostile(port: number, o: HostileOptions): Promise<Hostile> {
  const files = o.tls ?? networkPki().router;
  const siteId = o.siteId ?? `site-${o.id}`;
  const container = rhea.create_container({ id: o.id });
  const records = new Map<string, any>();
  let closed = false;
  let seq = 0;
  const epoch = Date.now();
  const conn = container.connect({
    host: '127.0.0.1',
    port,
    transport: 'tls',
    ca: readFileSync(files.ca),
    cert: readFileSync(files.cert),
    key: readFileSync(files.key),
    reconnect: false,
    properties: {
      'van-router-id': o.id,
      'van-site-id': siteId,
      'van-site-name': siteId,
      'van-mode': 'interior',
      // rhea would encode a plain NaN as null: as a double it arrives as NaN, as other clients can send it.
      ...(o.cost !== undefined ? { 'van-cost': Number.isInteger(o.cost) ? o.cost : rhea.types.wrap_double(o.cost) } : {}),
    },
  } as any);
  conn.on('message', (ctx: any) => {
    const body = ctx.message?.body;
    if (body && typeof body === 'object' && body.t === 'lsa' && body.lsa && typeof body.lsa.id === 'string')
      records.set(body.lsa.id, body.lsa);
  });
  conn.on('disconnected', () => (closed = true));
  conn.on('connection_close', () => (closed = true));
  conn.on('connection_error', () => (closed = true));
  conn.on('error', () => undefined);
  const sender = conn.open_sender({ target: { address: 'van/control' }, snd_settle_mode: 1 });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hostile ${o.id}: no link credit from the victim`)), o.timeoutMs ?? 10_000);
    sender.once('sendable', () => {
      clearTimeout(timer);
      resolve();
    });
    conn.once('disconnected', (ctx: any) => {
      clearTimeout(timer);
      reject(new Error(`hostile ${o.id}: disconnected (${ctx?.error?.message ?? 'closed'})`));
    });
  });
  const waitCredit = () =>
    new Promise<void>((resolve, reject) => {
      if (sender.sendable()) return resolve();
      if (closed) return reject(new Error(`hostile ${o.id}: the victim closed the connection`));
      const timer = setTimeout(() => reject(new Error(`hostile ${o.id}: no credit`)), o.timeoutMs ?? 10_000);
      sender.once('sendable', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  return {
    id: o.id,
    records,
    async send(body) {
      await waitCredit();
      sender.send({ body });
    },
    ownRecord(extra = {}) {
      return {
        id: o.id,
        siteId,
        siteName: siteId,
        epoch,
        seq: ++seq,
        neighbors: { [o.victim]: 1 },
        addresses: {},
        subscriptions: [],
        ...extra,
      };
    },
    envelope(dst, src, address, body) {
      return { t: 'msg', dst, src, addr: address, mode: 'multicast', m: rhea.message.encode({ body } as any) };
    },
    async attachData() {
      const session = (conn as any).create_session();
      session.begin();
      const data = session.attach_sender({ target: { address: 'van/data' }, snd_settle_mode: 1 });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`hostile ${o.id}: no credit on van/data`)), o.timeoutMs ?? 10_000);
        data.once('sendable', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      return { channel: session.local.channel, handle: data.local.handle, deliveryId: session.outgoing.next_delivery_id };
    },
    openSender(address) {
      // A session of its own: messages it cannot send (no credit) must not hold up van/control.
      const session = (conn as any).create_session();
      session.begin();
      return session.attach_sender({ target: { address } });
    },
    raw(bytes) {
      (conn as any).socket.write(bytes);
    },
    closed: () => closed,
    close: () =>
      new Promise<void>((resolve) => {
        if (closed) return resolve();
        const timer = setTimeout(() => {
          (conn as any).socket?.destroy?.();
          resolve();
        }, 1000);
        conn.once('connection_close', () => {
          clearTimeout(timer);
          resolve();
        });
        conn.once('disconnected', () => {
          clearTimeout(timer);
          resolve();
        });
        conn.close();
      }),
  };
}
