// The tcp listeners and connectors of the router's config, kept in step with it (started, restarted
// when their config changed, closed when gone). Like the adaptors, it sees only the core's StreamCore.
import { sameJson, type TcpConnectorConfig, type TcpListenerConfig } from '../config.js';
import type { Logger } from '../log.js';
import { TcpConnectorAdaptor, TcpListenerAdaptor, type AdaptorStats, type StreamCore } from './tcp.js';

export class TcpAdaptors {
  private readonly listeners = new Map<string, TcpListenerAdaptor>();
  private readonly connectors = new Map<string, TcpConnectorAdaptor>();

  constructor(
    private readonly core: StreamCore,
    private readonly log: Logger,
  ) {}

  /** Matches the running adaptors to the config; what failed to start goes into errors. */
  async reconcile(next: { tcpListeners: TcpListenerConfig[]; tcpConnectors: TcpConnectorConfig[] }, errors: string[]): Promise<void> {
    await this.reconcileListeners(next.tcpListeners, errors);
    this.reconcileConnectors(next.tcpConnectors);
  }

  private async reconcileListeners(wanted: TcpListenerConfig[], errors: string[]): Promise<void> {
    const byName = new Map(wanted.map((t) => [t.name, t]));
    for (const [name, a] of this.listeners) {
      const want = byName.get(name);
      if (!want || !sameJson(want, a.config)) {
        await a.close(false);
        this.listeners.delete(name);
      }
    }
    for (const t of wanted) {
      if (this.listeners.has(t.name)) continue;
      const a = new TcpListenerAdaptor(t, this.core, this.log);
      try {
        await a.start();
        this.listeners.set(t.name, a);
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
  }

  private reconcileConnectors(wanted: TcpConnectorConfig[]): void {
    const byName = new Map(wanted.map((t) => [t.name, t]));
    for (const [name, a] of this.connectors) {
      const want = byName.get(name);
      if (!want || !sameJson(want, a.config)) {
        a.close(false);
        this.connectors.delete(name);
      }
    }
    for (const t of wanted) {
      if (this.connectors.has(t.name)) continue;
      const a = new TcpConnectorAdaptor(t, this.core, this.log);
      a.start();
      this.connectors.set(t.name, a);
    }
  }

  /** Closes every adaptor and the flows through it. */
  async stop(): Promise<void> {
    for (const t of this.listeners.values()) await t.close(true);
    for (const t of this.connectors.values()) t.close(true);
  }

  clear(): void {
    this.listeners.clear();
    this.connectors.clear();
  }

  listenerPort(name: string): number | undefined {
    return this.listeners.get(name)?.port;
  }

  /** The addresses the tcp listeners open flows to. */
  listenerAddresses(): string[] {
    return [...this.listeners.values()].map((t) => t.config.address);
  }

  listenerStats(): AdaptorStats[] {
    return [...this.listeners.values()].map((t) => t.stats());
  }

  connectorStats(): AdaptorStats[] {
    return [...this.connectors.values()].map((t) => t.stats());
  }
}
