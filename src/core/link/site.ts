// What links and tokens need from a site, whatever platform it runs on: its identity, its ingress, its
// CA, its claim records, its link Secrets and its published status. Kubernetes implements it with the
// site's namespace (kubeSite.ts); the local platform with its data folder (localSite.ts).
import type { KeyPair } from '../pki';
import type { ClaimStore } from '../token/claims';
import type { SecretManifest, SiteIdentity, SiteIngress } from '../token/types';

/** The published link state of a site (ConfigMap skupper-network-status, key site.json). */
export interface SiteStatusDoc {
  siteId: string;
  siteName: string;
  updated: string;
  connections: PublishedConnection[];
}

export interface PublishedConnection {
  name?: string;
  role: string;
  direction: 'outgoing' | 'incoming';
  host: string;
  port: number;
  state: 'connecting' | 'up' | 'down';
  since: string;
  remoteSiteId?: string;
  remoteSiteName?: string;
  cost: number;
  lastError?: string;
}

export type IngressAnswer = { ok: true; ingress: SiteIngress } | { ok: false; reason: string };

export interface LinkSite {
  /** For messages: "site west in namespace west (context public)". */
  readonly label: string;
  identity(): Promise<SiteIdentity>;
  /** Where other sites reach this one, or why they cannot. */
  ingress(): Promise<IngressAnswer>;
  ca(): Promise<KeyPair>;
  claims(): ClaimStore;
  /** Whether a Secret (any kind) of that name exists: claim names must not collide. */
  secretExists(name: string): Promise<boolean>;
  listLinks(): Promise<SecretManifest[]>;
  /** Stores a link Secret (owned by the site); throws if the name is taken. */
  saveLink(secret: SecretManifest): Promise<void>;
  deleteLink(name: string): Promise<boolean>;
  readStatus(): Promise<SiteStatusDoc | undefined>;
  /** New CA and server certificate, claim records deleted. Returns what changed, in words. */
  rotateCA(): Promise<{ records: number }>;
}

export function parseStatusDoc(text: string | undefined): SiteStatusDoc | undefined {
  if (!text) return undefined;
  try {
    const v = JSON.parse(text) as Partial<SiteStatusDoc>;
    if (!v || typeof v !== 'object') return undefined;
    return {
      siteId: String(v.siteId ?? ''),
      siteName: String(v.siteName ?? ''),
      updated: String(v.updated ?? ''),
      connections: Array.isArray(v.connections) ? v.connections : [],
    };
  } catch {
    return undefined;
  }
}

/** Secret data as text. */
export function secretText(secret: { data?: Record<string, string> }, key: string): string | undefined {
  const v = secret.data?.[key];
  return v ? Buffer.from(v, 'base64').toString('utf8') : undefined;
}
