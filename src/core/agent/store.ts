// Where the agent reads its site from: the Kubernetes API (its namespace) or a local site's folder.
// Both give the same three things, and tell the agent when any of them may have changed.
import type { Ingress, RouterMode } from '../site/names';
import type { LinkSpec } from './routerConfig';

export interface StoredSite {
  id: string;
  name: string;
  mode: RouterMode;
  ingress: Ingress;
}

export interface SiteStore {
  readonly platform: 'kubernetes' | 'local';
  /** undefined when the site is gone (being deleted). */
  readSite(): Promise<StoredSite | undefined>;
  readLinks(): Promise<LinkSpec[]>;
  /** Calls onChange (possibly often: the agent debounces) when the site or its links may have changed. */
  watch(onChange: (why: string) => void): () => void;
}
