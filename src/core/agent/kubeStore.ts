// The agent's site store on Kubernetes: the site ConfigMap and the link Secrets of its namespace,
// watched with reconnect.
import type { KubeClient, KubeObject } from '../kube/client';
import { watchWithReconnect } from '../kube/watch';
import { siteRecordFrom } from '../site/build';
import { LINK_SELECTOR, SITE_CONFIGMAP } from '../site/names';
import { type LinkSpec, linkFromSecret } from './routerConfig';
import type { SiteStore, StoredSite } from './store';

export class KubeSiteStore implements SiteStore {
  readonly platform = 'kubernetes' as const;

  constructor(readonly client: KubeClient) {}

  async readSite(): Promise<StoredSite | undefined> {
    const cm = await this.client.get<KubeObject>('ConfigMap', SITE_CONFIGMAP);
    if (!cm) return undefined;
    const r = siteRecordFrom(cm);
    return { id: r.id, name: r.name, mode: r.routerMode, ingress: r.ingress };
  }

  async readLinks(): Promise<LinkSpec[]> {
    const secrets = await this.client.list<KubeObject>('Secret', LINK_SELECTOR);
    return secrets.map((s) => linkFromSecret(s as never));
  }

  watch(onChange: (why: string) => void): () => void {
    const ns = this.client.namespace;
    const handles = [
      watchWithReconnect(this.client.kc, `/api/v1/namespaces/${ns}/configmaps`, {
        query: { fieldSelector: `metadata.name=${SITE_CONFIGMAP}` },
        onEvent: (phase) => onChange(`site ${phase.toLowerCase()}`),
        onConnect: () => onChange('site watch connected'),
      }),
      watchWithReconnect(this.client.kc, `/api/v1/namespaces/${ns}/secrets`, {
        query: { labelSelector: LINK_SELECTOR },
        onEvent: (phase, obj) => onChange(`link ${obj?.metadata?.name ?? ''} ${phase.toLowerCase()}`),
        onConnect: () => onChange('links watch connected'),
      }),
    ];
    return () => handles.forEach((h) => h.stop());
  }
}
