// van debug events: the site's recent events, newest last: the agent's bounded log (events.json in
// the network status ConfigMap) merged with the Kubernetes Events on the site ConfigMap.
import { type CliCommand, report } from '../command';
import { type SiteEvent, parseEvents } from '../../core/agent/events';
import { serviceApiFor } from '../../core/service/api';
import { UserError } from '../../core/errors';
import { readSiteEvents } from '../../core/site/events';
import { readLocalPublished, readLocalSite } from '../../core/site/local';
import { platformFlags, siteTarget } from './siteTarget';
import { table } from './table';

const eventsTable = (events: SiteEvent[]) =>
  table(
    ['TIME', 'TYPE', 'REASON', 'COUNT', 'MESSAGE'],
    events.map((e) => [e.time, e.type, e.reason, String(e.count), e.message]),
  );

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
      report(io, globals, events, () =>
        events.length === 0
          ? `No events yet (is the router of ${target.name} running? van site start --site-name ${target.name})`
          : eventsTable(events),
      );
      return;
    }
    const events = await readSiteEvents(serviceApiFor(globals));
    report(io, globals, events, () => (events.length === 0 ? 'No events yet.' : eventsTable(events)));
  },
};
