// Which way a site is managed: by `van` verbs and the editor (Skupper 1.x style), or by Skupper 2.x
// resources (a Site in the namespace, reconciled by the v2 controller). The site ConfigMap records it,
// so the two never change one site.
import { UserError } from '../errors';
import type { KubeClient, KubeObject } from '../kube/client';
import { SITE_CONFIGMAP } from '../site/names';

/** On the site ConfigMap (and every object of the site): set to v2alpha1 when a Site resource made it. */
export const MODE_ANNOTATION = 'skupper.io/resource-api';
export const V2_MODE = 'v2alpha1';

export type SiteMode = 'v1' | 'v2';

export function siteModeOf(configMap: { metadata?: { annotations?: Record<string, string> } } | undefined): SiteMode {
  return configMap?.metadata?.annotations?.[MODE_ANNOTATION] === V2_MODE ? 'v2' : 'v1';
}

export async function readSiteMode(client: KubeClient): Promise<SiteMode | undefined> {
  const cm = await client.get<KubeObject>('ConfigMap', SITE_CONFIGMAP);
  return cm ? siteModeOf(cm) : undefined;
}

/** Throws when the namespace's site is managed by Skupper 2.x resources: `what` is the 1.x-style action refused. */
export async function refuseOnV2Site(client: KubeClient, what: string): Promise<void> {
  if ((await readSiteMode(client)) !== 'v2') return;
  throw new UserError(
    `the site in namespace ${client.namespace} is managed by Skupper 2.x resources (a Site, Connectors, Listeners): ` +
      `${what} would be undone by its controller; change the resources instead (kubectl apply, or "Apply to context..." in the editor)`,
  );
}
