// A Kubernetes site's recent events, oldest first: the agent's bounded log (events.json in the network
// status ConfigMap) merged with the Kubernetes Events on the site ConfigMap. The one reader for the CLI
// (`van debug events`) and the extension (Show Events).
import { type SiteEvent, mergeEvents, parseEvents } from '../agent/events';
import { type ServiceApi, isNotFound, readServicesConfigMap } from '../service/expose';
import { NETWORK_STATUS_CONFIGMAP, SITE_CONFIGMAP } from './names';

export async function readSiteEvents(api: ServiceApi): Promise<SiteEvent[]> {
  await readServicesConfigMap(api); // "no site here", said the same way everywhere
  let log: SiteEvent[] = [];
  try {
    const cm = await api.core.readNamespacedConfigMap({ name: NETWORK_STATUS_CONFIGMAP, namespace: api.namespace });
    log = parseEvents(cm.data?.['events.json']);
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  let kube: SiteEvent[] = [];
  try {
    const list = await api.core.listNamespacedEvent({ namespace: api.namespace, fieldSelector: `involvedObject.name=${SITE_CONFIGMAP}` });
    kube = list.items.map((e) => ({
      time: new Date((e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? 0) as string | Date).toISOString(),
      type: e.type === 'Warning' ? 'Warning' : 'Normal',
      reason: e.reason ?? '',
      message: e.message ?? '',
      count: e.count ?? 1,
    }));
  } catch {
    // Events may not be readable with the user's role: the agent's own log is enough.
  }
  return mergeEvents(log, kube);
}
