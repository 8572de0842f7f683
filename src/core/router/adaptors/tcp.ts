// The TCP adaptor: translates between sockets and flows of the core. A tcp listener accepts client
// connections and opens a flow to an address; a tcp connector is a target of an address and opens a
// socket to its host:port for each flow that arrives. It knows nothing of routing or of other routers:
// it sees only FlowHandle / FlowEndpoint (the core's side of the seam).
import net from 'node:net';
import type { Distribution, TcpConnectorConfig, TcpListenerConfig } from '../config.js';
import type { FlowEndpoint, FlowHandle, LocalTarget } from '../flows.js';
import type { Logger } from '../log.js';

/** The part of the core an adaptor uses. */
export interface StreamCore {
  openFlow(address: string, distribution: Distribution, endpoint: FlowEndpoint): FlowHandle | undefined;
  addTarget(target: LocalTarget): () => void;
}

export interface AdaptorStats {
  name: string;
  address: string;
  host: string;
  port: number;
  flows: number;
  flowsTotal: number;
  bytesIn: number;
  bytesOut: number;
  lastError?: string;
}

class Counters {
  active = 0;
  total = 0;
  bytesIn = 0;
  bytesOut = 0;
  lastError?: string;
}

/** Sockets corked in this turn of the event loop, uncorked together once its reads are done. */
const corked: net.Socket[] = [];
let uncorkScheduled = false;

function uncorkAll(): void {
  uncorkScheduled = false;
  for (const s of corked) s.uncork();
  corked.length = 0;
}

/**
 * Writes toward a client or target socket. A flow's data arrives in pieces of a TLS record (16 KiB)
 * each, in separate callbacks of one read; written one by one that is a system call per piece. Corked
 * until the end of the turn (setImmediate runs right after the poll phase that delivered the reads), the
 * pieces of one read leave in one writev.
 */
function writeBatched(socket: net.Socket, buf: Buffer, cb: () => void): void {
  if (socket.writableCorked === 0) {
    socket.cork();
    corked.push(socket);
    if (!uncorkScheduled) {
      uncorkScheduled = true;
      setImmediate(uncorkAll);
    }
  }
  socket.write(buf, cb);
}

/**
 * Wires one socket to one flow. `bytesIn` counts bytes read from the socket (sent into the network),
 * `bytesOut` bytes written to it.
 */
function bridge(socket: net.Socket, counters: Counters, onDone: () => void): { endpoint: FlowEndpoint; attach(handle: FlowHandle): void } {
  let handle: FlowHandle | undefined;
  let paused = false;
  let done = false;
  let remoteEnded = false;
  let localEnded = false;
  const finish = () => {
    if (done) return;
    done = true;
    counters.active--;
    onDone();
  };
  const endpoint: FlowEndpoint = {
    onData(buf) {
      if (socket.destroyed) return;
      counters.bytesOut += buf.length;
      const n = buf.length;
      writeBatched(socket, buf, () => handle?.consumed(n));
    },
    onEnd() {
      remoteEnded = true;
      if (!socket.destroyed) socket.end();
    },
    onReset() {
      remoteEnded = true;
      localEnded = true;
      if (!socket.destroyed) {
        if (typeof socket.resetAndDestroy === 'function' && !socket.connecting) socket.resetAndDestroy();
        else socket.destroy();
      }
      finish();
    },
    onCredit() {
      if (paused && handle && handle.credit > 0) {
        paused = false;
        socket.resume();
      }
    },
  };
  socket.on('data', (buf: Buffer) => {
    if (!handle) return;
    counters.bytesIn += buf.length;
    if (!handle.send(buf) && !paused) {
      paused = true;
      socket.pause();
    }
  });
  socket.on('end', () => {
    localEnded = true;
    handle?.end();
  });
  socket.on('error', () => {
    // 'close' follows with hadError.
  });
  socket.on('close', (hadError) => {
    if (!done && handle) {
      if (hadError || !localEnded || !remoteEnded) handle.reset(hadError ? 'the connection was reset' : 'the connection was closed');
    }
    finish();
  });
  return {
    endpoint,
    attach(h) {
      handle = h;
    },
  };
}

export class TcpListenerAdaptor {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly counters = new Counters();

  constructor(
    readonly config: TcpListenerConfig,
    private readonly core: StreamCore,
    private readonly log: Logger,
  ) {}

  get port(): number {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : this.config.port;
  }

  async start(): Promise<void> {
    const server = net.createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: false }, (socket) => this.accept(socket));
    server.maxConnections = 1_000_000;
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error) =>
        reject(new Error(`tcp listener "${this.config.name}" cannot listen on ${this.config.host}:${this.config.port}: ${e.message}`));
      server.once('error', onError);
      server.listen({ host: this.config.host, port: this.config.port, backlog: 4096 }, () => {
        server.off('error', onError);
        resolve();
      });
    });
    server.on('error', (e) => {
      this.counters.lastError = e.message;
      this.log.warn('tcp listener error', { name: this.config.name, error: e });
    });
    this.server = server;
    this.log.info('tcp listener up', { name: this.config.name, host: this.config.host, port: this.port, address: this.config.address });
  }

  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    this.counters.active++;
    this.counters.total++;
    this.sockets.add(socket);
    const b = bridge(socket, this.counters, () => this.sockets.delete(socket));
    const handle = this.core.openFlow(this.config.address, this.config.distribution ?? 'balanced', b.endpoint);
    if (!handle) {
      this.log.debug('no target for address; closing client', { address: this.config.address });
      this.counters.lastError = `no reachable target for address "${this.config.address}"`;
      socket.on('error', () => {});
      socket.destroy();
      return;
    }
    b.attach(handle);
  }

  /** Stops accepting; flows already open carry on. */
  async close(dropFlows = false): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (dropFlows) for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  stats(): AdaptorStats {
    const c = this.counters;
    return {
      name: this.config.name,
      address: this.config.address,
      host: this.config.host,
      port: this.port,
      flows: c.active,
      flowsTotal: c.total,
      bytesIn: c.bytesIn,
      bytesOut: c.bytesOut,
      ...(c.lastError ? { lastError: c.lastError } : {}),
    };
  }
}

export class TcpConnectorAdaptor implements LocalTarget {
  active = 0;
  private readonly counters = new Counters();
  private readonly sockets = new Set<net.Socket>();
  private remove?: () => void;

  constructor(
    readonly config: TcpConnectorConfig,
    private readonly core: StreamCore,
    private readonly log: Logger,
  ) {}

  get name(): string {
    return this.config.name;
  }
  get address(): string {
    return this.config.address;
  }

  start(): void {
    this.remove = this.core.addTarget(this);
    this.log.info('tcp connector up', {
      name: this.config.name,
      address: this.config.address,
      host: this.config.host,
      port: this.config.port,
    });
  }

  accept(handle: FlowHandle): FlowEndpoint {
    const { host, port } = this.config;
    const socket = net.connect({ host, port, allowHalfOpen: true, noDelay: true });
    this.counters.active++;
    this.counters.total++;
    this.sockets.add(socket);
    let connected = false;
    socket.once('connect', () => {
      connected = true;
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (!connected) {
        const reason =
          e.code === 'ECONNREFUSED'
            ? `the target ${host}:${port} of "${this.config.address}" refused the connection`
            : `cannot reach the target ${host}:${port} of "${this.config.address}": ${e.message}`;
        this.counters.lastError = reason;
        this.log.debug('target connect failed', { address: this.config.address, error: reason });
        handle.reset(reason);
      }
    });
    const b = bridge(socket, this.counters, () => this.sockets.delete(socket));
    b.attach(handle);
    return b.endpoint;
  }

  /** Withdraws the target; open flows carry on unless dropFlows. */
  close(dropFlows = false): void {
    this.remove?.();
    this.remove = undefined;
    if (dropFlows) for (const s of this.sockets) s.destroy();
  }

  stats(): AdaptorStats {
    const c = this.counters;
    return {
      name: this.config.name,
      address: this.config.address,
      host: this.config.host,
      port: this.config.port,
      flows: c.active,
      flowsTotal: c.total,
      bytesIn: c.bytesIn,
      bytesOut: c.bytesOut,
      ...(c.lastError ? { lastError: c.lastError } : {}),
    };
  }
}
