// van flows: the last TCP flows every site reported with the network status (who, where, bytes,
// duration, how it ended), newest first; --watch prints new ones as sites publish them until Ctrl-C.
import { type CliCommand, type CliIO, type GlobalOptions, report } from '../command';
import { UserError } from '../../core/errors';
import { type FlowRecordView, formatBytes, formatMs, recentFlows, trafficOfNetwork } from '../../core/network/traffic';
import { platformFlags, siteTarget, type SiteTarget } from './siteTarget';
import { table } from './table';
import { publishedNetwork } from './trafficSource';

const WATCH_INTERVAL_MS = Number(process.env.VAN_FLOWS_WATCH_MS ?? 2000);

async function readFlows(target: SiteTarget, globals: GlobalOptions, address: string | undefined): Promise<FlowRecordView[] | undefined> {
  const network = await publishedNetwork(target, globals);
  if (!network) return undefined;
  const names = new Map(
    (Array.isArray(network.sites) ? (network.sites as { id?: string; name?: string }[]) : []).map((s) => [String(s.id), String(s.name)]),
  );
  return recentFlows(trafficOfNetwork(network), address).map((f) => ({ ...f, site: names.get(f.site) ?? f.site }));
}

const row = (f: FlowRecordView) => [
  f.start.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
  f.address,
  f.sourceSite,
  f.destSite,
  `${f.site} (${f.side})`,
  `${formatBytes(f.bytesOut)}/${formatBytes(f.bytesIn)}`,
  formatMs(f.durationMs),
  formatMs(f.ttfbMs),
  f.end,
  f.reason ?? '',
];
const HEADERS = ['START', 'ADDRESS', 'FROM', 'TO', 'SEEN AT', 'BYTES OUT/IN', 'DURATION', 'TTFB', 'END', 'REASON'];

function keyOf(f: FlowRecordView): string {
  return `${f.site}/${f.side}/${f.address}/${f.start}/${f.sourceSite}/${f.end}`;
}

export const flowsCommand: CliCommand = {
  path: ['flows'],
  usage: 'flows [--address A] [--watch] [--platform kubernetes|local] [--site-name N]',
  summary: 'the last TCP flows of the network: who, where, bytes, duration, how each ended',
  available: true,
  flags: {
    ...platformFlags,
    address: { type: 'string', description: 'only the flows of this service address' },
    watch: { type: 'boolean', alias: 'w', description: 'keep printing new flows as the sites publish them (Ctrl-C stops)' },
  },
  async run(args, globals, io: CliIO) {
    const target = siteTarget(args, globals);
    const address = args.flags.address as string | undefined;
    const first = await readFlows(target, globals, address);
    if (!first) {
      const where = target.platform === 'local' ? `local site ${target.name}` : 'the site in this namespace';
      throw new UserError(`${where} has not published its network status yet: is its router running? (van status)`);
    }
    if (!args.flags.watch) {
      report(io, globals, first, () =>
        first.length === 0
          ? `No flows yet${address ? ` for ${address}` : ''}: flows appear once clients connect.`
          : table(HEADERS, first.map(row)),
      );
      return;
    }
    // Watch: print what is new (a flow still open prints again when it ends).
    const seen = new Set<string>();
    const print = (flows: FlowRecordView[], header: boolean) => {
      const fresh = flows.filter((f) => !seen.has(keyOf(f))).reverse();
      for (const f of fresh) seen.add(keyOf(f));
      if (globals.output === 'json') for (const f of fresh) io.out(JSON.stringify(f));
      else if (fresh.length || header) {
        const lines = table(HEADERS, fresh.map(row)).split('\n');
        io.out((header ? lines : lines.slice(1)).join('\n'));
      }
    };
    print(first, true);
    for (;;) {
      await new Promise((r) => setTimeout(r, WATCH_INTERVAL_MS));
      const next = await readFlows(target, globals, address).catch(() => undefined);
      if (next) print(next, false);
    }
  },
};
