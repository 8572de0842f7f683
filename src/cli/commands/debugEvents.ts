// van debug events: the site's recent events, newest last: the agent's bounded log (events.json in
// the network status ConfigMap) merged with the Kubernetes Events on the site ConfigMap.
import { type CliCommand, report } from '../command';
import { type SiteEvent, mergeEvents, parseEvents } from '../../core/agent/events';
import { serviceApiFor } from '../../core/service/api';
import { NETWORK_STATUS_CONFIGMAP, SITE_CONFIGMAP, isNotFound, readServicesConfigMap } from '../../core/service/expose';
import { UserError } from '../../core/errors';
import { readLocalPublished, readLocalSite } from '../../core/site/local';
import { platformFlags, siteTarget } from './siteTarget';
import { table } from './table';

const eventsTable = (events: SiteEvent[]) => table(['TIME', 'TYPE', 'REASON', 'COUNT', 'MESSAGE'], events.map((e) => [e.time, e.type, e.reason, String(e.count), e.message]));

export const debugEventsCommand: CliCommand = {
  path: ['debug', 'events'],
  usage: 'debug events [--platform kubernetes|local] [--site-name N]',
  summary: 'recent events of the site',
  available: true,
  flags: { ...platformFlags },
  async run(args, globals, io) {
    const target = siteTarget(args, globals);
    if (target.platform === 'local') {
      if (!readLocalSite(target.dir)) throw new UserError(`no local site ${target.name}`);
      const events = parseEvents(JSON.stringify(readLocalPublished(target.dir)?.events ?? []));
      report(io, globals, events, () => (events.length === 0 ? `No events yet (is the router of ${target.name} running? van site start --site-name ${target.name})` : eventsTable(events)));
      return;
    }
    const api = serviceApiFor(globals);
    await readServicesConfigMap(api); // "no site here"
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
      // Events may not be readable with the user's role: the in-site log is enough.
    }
    const events = mergeEvents(log, kube);
    report(io, globals, events, () =>
      events.length === 0
        ? 'No events yet.'
        : eventsTable(events),
    );
  },
};
