// The router's configuration file (JSON), its types and a validator with errors naming the bad field.

export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
}

export type ListenerRole = 'inter-router' | 'edge' | 'normal';
export type Distribution = 'balanced' | 'closest';

export interface ListenerConfig {
  name: string;
  host: string;
  port: number;
  role: ListenerRole;
  tls?: TlsFiles;
}

export interface ConnectorConfig {
  name: string;
  host: string;
  port: number;
  role: 'inter-router' | 'edge';
  cost?: number;
  tls: TlsFiles;
}

export interface TcpListenerConfig {
  name: string;
  host: string;
  port: number;
  address: string;
  /** How flows pick a target: balanced (default) or closest. */
  distribution?: Distribution;
}

export interface TcpConnectorConfig {
  name: string;
  host: string;
  port: number;
  address: string;
}

export interface RouterConfig {
  id: string;
  siteId: string;
  siteName: string;
  mode: 'interior' | 'edge';
  listeners: ListenerConfig[];
  connectors: ConnectorConfig[];
  tcpListeners: TcpListenerConfig[];
  tcpConnectors: TcpConnectorConfig[];
  management?: { host: string; port: number };
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(obj: Record<string, unknown>, key: string, where: string, optional = false): string {
  const v = obj[key];
  if (v === undefined && optional) return '';
  if (typeof v !== 'string' || v.length === 0) {
    throw new ConfigError(`${where}.${key} must be a non-empty string (got ${JSON.stringify(v)})`);
  }
  return v;
}

function port(obj: Record<string, unknown>, key: string, where: string): number {
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535) {
    throw new ConfigError(`${where}.${key} must be an integer port between 0 and 65535 (got ${JSON.stringify(v)})`);
  }
  return v;
}

function oneOf<T extends string>(obj: Record<string, unknown>, key: string, where: string, values: readonly T[]): T {
  const v = obj[key];
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
    throw new ConfigError(`${where}.${key} must be one of ${values.map((x) => `"${x}"`).join(', ')} (got ${JSON.stringify(v)})`);
  }
  return v as T;
}

function tlsFiles(v: unknown, where: string): TlsFiles {
  if (!isObject(v)) throw new ConfigError(`${where} must be an object with ca, cert and key file paths`);
  return { ca: str(v, 'ca', where), cert: str(v, 'cert', where), key: str(v, 'key', where) };
}

function array(obj: Record<string, unknown>, key: string): unknown[] {
  const v = obj[key];
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new ConfigError(`${key} must be an array`);
  return v;
}

function uniqueNames(items: { name: string }[], key: string): void {
  const seen = new Set<string>();
  for (const item of items) {
    if (seen.has(item.name)) throw new ConfigError(`${key}: the name "${item.name}" is used twice`);
    seen.add(item.name);
  }
}

/** Validates a parsed JSON config. Throws ConfigError naming the bad field. */
export function parseRouterConfig(json: unknown): RouterConfig {
  if (!isObject(json)) throw new ConfigError('the router config must be a JSON object');
  const where = 'config';
  const config: RouterConfig = {
    id: str(json, 'id', where),
    siteId: str(json, 'siteId', where),
    siteName: str(json, 'siteName', where),
    mode: json.mode === undefined ? 'interior' : oneOf(json, 'mode', where, ['interior', 'edge'] as const),
    listeners: array(json, 'listeners').map((l, i) => {
      const w = `listeners[${i}]`;
      if (!isObject(l)) throw new ConfigError(`${w} must be an object`);
      return {
        name: str(l, 'name', w),
        host: str(l, 'host', w),
        port: port(l, 'port', w),
        role: oneOf(l, 'role', w, ['inter-router', 'edge', 'normal'] as const),
        ...(l.tls !== undefined ? { tls: tlsFiles(l.tls, `${w}.tls`) } : {}),
      };
    }),
    connectors: array(json, 'connectors').map((c, i) => {
      const w = `connectors[${i}]`;
      if (!isObject(c)) throw new ConfigError(`${w} must be an object`);
      let cost: number | undefined;
      if (c.cost !== undefined) {
        if (typeof c.cost !== 'number' || !Number.isFinite(c.cost) || c.cost < 1) {
          throw new ConfigError(`${w}.cost must be a number >= 1 (got ${JSON.stringify(c.cost)})`);
        }
        cost = c.cost;
      }
      if (c.tls === undefined) throw new ConfigError(`${w}.tls is required (ca, cert and key files): links always use mutual TLS`);
      return {
        name: str(c, 'name', w),
        host: str(c, 'host', w),
        port: port(c, 'port', w),
        role: oneOf(c, 'role', w, ['inter-router', 'edge'] as const),
        ...(cost !== undefined ? { cost } : {}),
        tls: tlsFiles(c.tls, `${w}.tls`),
      };
    }),
    tcpListeners: array(json, 'tcpListeners').map((t, i) => {
      const w = `tcpListeners[${i}]`;
      if (!isObject(t)) throw new ConfigError(`${w} must be an object`);
      return {
        name: str(t, 'name', w),
        host: str(t, 'host', w),
        port: port(t, 'port', w),
        address: str(t, 'address', w),
        ...(t.distribution !== undefined ? { distribution: oneOf(t, 'distribution', w, ['balanced', 'closest'] as const) } : {}),
      };
    }),
    tcpConnectors: array(json, 'tcpConnectors').map((t, i) => {
      const w = `tcpConnectors[${i}]`;
      if (!isObject(t)) throw new ConfigError(`${w} must be an object`);
      return { name: str(t, 'name', w), host: str(t, 'host', w), port: port(t, 'port', w), address: str(t, 'address', w) };
    }),
  };
  if (json.management !== undefined) {
    if (!isObject(json.management)) throw new ConfigError('management must be an object with host and port');
    config.management = { host: str(json.management, 'host', 'management'), port: port(json.management, 'port', 'management') };
  }
  uniqueNames(config.listeners, 'listeners');
  uniqueNames(config.connectors, 'connectors');
  uniqueNames(config.tcpListeners, 'tcpListeners');
  uniqueNames(config.tcpConnectors, 'tcpConnectors');
  return config;
}

/** Whether two parts of a config are the same (a running part is restarted only when its config changed). */
export function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
