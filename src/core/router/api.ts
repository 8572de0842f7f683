// What the router offers the program around it (the site agent and its modules): one interface, so the
// agent, its modules and their test fakes all describe the router the same way.
import type { AdaptorStats } from './adaptors/tcp.js';
import type { RouterConfig } from './config.js';
import type { TrafficSnapshot } from './traffic.js';
import type { ConnectionStatus, PeerRole } from './peer.js';

export type { ConnectionStatus } from './peer.js';

export interface RouterStatus {
  id: string;
  siteId: string;
  siteName: string;
  mode: 'interior' | 'edge';
  connections: ConnectionStatus[];
  listeners: ListenerStatus[];
  routers: RouterEntry[];
  addresses: AddressStatus[];
  tcpListeners: AdaptorStats[];
  tcpConnectors: AdaptorStats[];
  flows: { active: number; total: number; bytesIn: number; bytesOut: number };
}

export interface ListenerStatus {
  name: string;
  host: string;
  port: number;
  role: PeerRole;
  rejectedPeers: number;
  lastError?: string;
}

/** A router reachable from this one. */
export interface RouterEntry {
  id: string;
  siteId: string;
  siteName: string;
  nextHop: string;
  cost: number;
}

export interface AddressStatus {
  address: string;
  localConnectors: number;
  remoteSites: string[];
  flows: number;
  flowsTotal: number;
}

export type MessageHandler = (body: unknown, fromRouterId: string) => void;

/** The router's events: a connection changed state; the set of reachable routers was recomputed. */
export interface RouterEvents {
  on(event: 'connection', listener: (status: ConnectionStatus) => void): unknown;
  on(event: 'routes', listener: (routers: RouterEntry[]) => void): unknown;
  off(event: 'connection', listener: (status: ConnectionStatus) => void): unknown;
  off(event: 'routes', listener: (routers: RouterEntry[]) => void): unknown;
}

export interface RouterApi {
  readonly id: string;
  readonly events: RouterEvents;
  /** Applies a new config live; calls are serialized. Throws (after applying the rest) if some part failed. */
  applyConfig(config: RouterConfig): Promise<void>;
  stop(): Promise<void>;
  status(): RouterStatus;
  /** Traffic per address and site pair, and the last flows (routers that count traffic). */
  traffic?(): TrafficSnapshot;
  /** Multicast: every subscriber of `address` in every router gets `body`. */
  publish(address: string, body: unknown): void;
  /** `handler` gets what is sent to `address`; the returned function unsubscribes. */
  subscribe(address: string, handler: MessageHandler): () => void;
}
