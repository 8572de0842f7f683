// The traffic panel's page: for a service or a site pair, sparklines of the last minutes, the last flows
// (who, where, bytes, duration, how each ended) and "why slow or failing" (resets and refusals by reason
// and site pair, with the links on the path, their state and cost). Pure: HTML text with no script.
import type { NetworkStatus } from '../../core/network/types';
import { diagnose, formatBytes, formatMs, formatRate, recentFlows, routerAddressesOf } from '../../core/network/traffic';
import type { RatePoint, TrafficHistory } from './traffic';

export type TrafficSelection = { kind: 'service'; address: string } | { kind: 'pair'; sourceSite: string; destSite: string };

const esc = (s: unknown) =>
  String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function selectionTitle(sel: TrafficSelection): string {
  return sel.kind === 'service' ? `Traffic: ${sel.address}` : `Traffic: ${sel.sourceSite} → ${sel.destSite}`;
}

/** An inline SVG sparkline of `values` (no script, no external resource). */
export function sparkline(values: number[], label: string, width = 320, height = 40): string {
  if (values.length < 2) return `<div class="spark empty">${esc(label)}: waiting for a second publication…</div>`;
  const max = Math.max(...values, 1e-9);
  const step = width / (values.length - 1);
  const pts = values.map((v, i) => `${(i * step).toFixed(1)},${(height - 2 - (v / max) * (height - 4)).toFixed(1)}`).join(' ');
  return `<figure class="spark"><svg width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(label)}"><polyline points="${pts}" fill="none" stroke-width="1.5"/></svg><figcaption>${esc(label)}</figcaption></figure>`;
}

export function trafficPanelHtml(sel: TrafficSelection, net: NetworkStatus, history: TrafficHistory, head: string): string {
  const service = sel.kind === 'service' ? net.services.find((s) => s.address === sel.address) : undefined;
  const series: RatePoint[] =
    sel.kind === 'service' ? history.serviceSeries(sel.address) : history.pairSeries(sel.sourceSite, sel.destSite);
  const rate = series.at(-1)?.bytesPerSecond ?? 0;
  const names = new Map(net.sites.map((s) => [s.id, s.name]));
  let flows = recentFlows(history.published, sel.kind === 'service' ? sel.address : undefined, 200);
  if (sel.kind === 'pair') flows = flows.filter((f) => f.sourceSite === sel.sourceSite && f.destSite === sel.destSite);
  // One flow is often reported by both its ends: show each end's report, the listener's first.
  const rows = flows
    .slice(0, 50)
    .map(
      (f) =>
        `<tr class="end-${esc(f.end)}"><td>${esc(f.start.slice(11, 19))}</td><td>${esc(f.address)}</td><td>${esc(f.sourceSite)}</td><td>${esc(f.destSite)}</td>` +
        `<td>${esc(names.get(f.site) ?? f.site)} (${esc(f.side)})</td><td>${esc(formatBytes(f.bytesOut))} / ${esc(formatBytes(f.bytesIn))}</td>` +
        `<td>${esc(formatMs(f.durationMs))}</td><td>${esc(formatMs(f.ttfbMs))}</td><td>${esc(f.end)}</td><td>${esc(f.reason ?? '')}</td></tr>`,
    )
    .join('');
  const pairs = history.allPairs;
  const addresses = service ? routerAddressesOf(service) : undefined;
  const diag =
    sel.kind === 'service'
      ? diagnose(pairs, sel.address, net.links, net.sites, addresses)
      : diagnose(
          pairs.filter((p) => p.sourceSite === sel.sourceSite && p.destSite === sel.destSite),
          '',
          net.links,
          net.sites,
          [...new Set(pairs.filter((p) => p.sourceSite === sel.sourceSite && p.destSite === sel.destSite).map((p) => p.address))],
        );
  const diagRows = diag
    .map(
      (d) =>
        `<tr><td>${esc(d.sourceSite)} → ${esc(d.destSite)}</td><td>${d.flowsActive} / ${d.flowsTotal}</td><td>${esc(formatMs(d.ttfbMsP50))}</td>` +
        `<td>${d.errors ? d.errorReasons.map((e) => `${e.count}× ${esc(e.reason)}`).join('<br>') : 'none'}</td>` +
        `<td>${d.path.length ? d.path.map((l) => `<span class="link-${esc(l.state)}">${esc(l.from)} — ${esc(l.name)} (${esc(l.state)}, cost ${l.cost}${l.error ? `: ${esc(l.error)}` : ''}) — ${esc(l.to)}</span>`).join('<br>') : d.sourceSite === d.destSite ? 'same site' : 'no path known'}</td></tr>`,
    )
    .join('');
  const totalErrors = diag.reduce((s, d) => s + d.errors, 0);
  return `<!DOCTYPE html><html lang="en"><head>${head}<title>${esc(selectionTitle(sel))}</title></head><body>
<h1>${esc(selectionTitle(sel))}</h1>
<p id="now" data-rate="${Math.round(rate)}">${esc(formatRate(rate))} now · ${series.at(-1)?.flowsActive ?? 0} active connections · ${flows.length} recent flows</p>
<div class="sparks">${sparkline(
    series.map((p) => p.bytesPerSecond),
    'bytes/s, last minutes',
  )}${sparkline(
    series.map((p) => p.flowsActive),
    'active connections',
  )}</div>
<h2>Why slow or failing${totalErrors ? ` (${totalErrors} errors)` : ''}</h2>
${diagRows ? `<table id="why"><thead><tr><th>clients → service</th><th>active / total</th><th>TTFB p50</th><th>errors by reason</th><th>links on the path</th></tr></thead><tbody>${diagRows}</tbody></table>` : '<p>No traffic counted yet.</p>'}
<h2>Last flows</h2>
${rows ? `<table id="flows"><thead><tr><th>start (UTC)</th><th>address</th><th>from</th><th>to</th><th>seen at</th><th>bytes out / in</th><th>duration</th><th>TTFB</th><th>end</th><th>reason</th></tr></thead><tbody>${rows}</tbody></table>` : '<p>No flows yet: they appear once clients connect.</p>'}
</body></html>`;
}
