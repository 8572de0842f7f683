// The topology webview: cytoscape (bundled by esbuild, no CDN), theme colours from --vscode-* variables.
// Protocol: page → host {type:'ready'} first; host → page {type:'graph', graph}; page → host
// {type:'select', kind, id} on click, {type:'rendered', ms, nodes, edges} after each draw.
import cytoscape from 'cytoscape';

declare function acquireVsCodeApi(): { postMessage(m: unknown): void; getState(): any; setState(s: unknown): void };
const vscode = acquireVsCodeApi();

interface Graph {
  nodes: { data: Record<string, any> }[];
  edges: { data: Record<string, any> }[];
  summary: { sites: number; links: number; up: number; services: number };
}

type Positions = Record<string, { x: number; y: number }>;
const state: { positions: Positions; zoom?: number; pan?: { x: number; y: number } } = { positions: {}, ...(vscode.getState() ?? {}) };
const saveState = () => vscode.setState(state);

const css = (name: string, fallback: string) => getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;

function style(): any[] {
  const fg = css('--vscode-editor-foreground', '#ccc');
  const bg = css('--vscode-editor-background', '#1e1e1e');
  const border = css('--vscode-panel-border', '#555');
  const accent = css('--vscode-focusBorder', '#007fd4');
  const up = css('--vscode-testing-iconPassed', '#73c991');
  const down = css('--vscode-testing-iconFailed', '#f14c4c');
  const warn = css('--vscode-charts-yellow', '#cca700');
  const font = css('--vscode-font-family', 'sans-serif');
  return [
    { selector: 'node', style: { 'font-family': font, color: fg, 'font-size': 12 } },
    {
      selector: 'node[kind = "cluster"]',
      style: { shape: 'round-rectangle', 'background-opacity': 0.06, 'background-color': fg, 'border-color': border, 'border-width': 1, 'border-style': 'dashed', label: 'data(label)', 'text-valign': 'top', 'text-halign': 'center', 'font-size': 11, padding: '18px', 'text-margin-y': -4 },
    },
    {
      selector: 'node[kind = "site"]',
      style: { shape: 'round-rectangle', width: (n: any) => siteSize(n).w, height: (n: any) => siteSize(n).h, padding: '4px', 'background-color': bg, 'border-color': accent, 'border-width': 2, label: (n: any) => `${n.data('label')}${n.data('serviceCount') ? `\n⬤ ${n.data('services')}` : ''}`, 'text-wrap': 'wrap', 'text-max-width': '160px', 'text-valign': 'center', 'text-halign': 'center' },
    },
    { selector: 'node[platform = "local"]', style: { 'border-style': 'double', 'border-width': 4 } },
    { selector: 'node:selected', style: { 'border-color': css('--vscode-list-activeSelectionBackground', accent), 'border-width': 4 } },
    { selector: 'edge', style: { width: 2, 'curve-style': 'bezier', 'target-arrow-shape': 'triangle', 'line-color': down, 'target-arrow-color': down, label: 'data(label)', 'font-size': 10, color: fg, 'text-background-color': bg, 'text-background-opacity': 0.8, 'text-background-padding': '2px', 'text-rotation': 'autorotate' } },
    { selector: 'edge[state = "up"]', style: { 'line-color': up, 'target-arrow-color': up, width: 3 } },
    { selector: 'edge[state = "connecting"], edge[state = "degraded"]', style: { 'line-color': warn, 'target-arrow-color': warn, 'line-style': 'dashed' } },
    { selector: 'edge[state = "down"]', style: { 'line-style': 'dotted' } },
    { selector: 'edge:selected', style: { width: 5 } },
    // Traffic between sites (client site → service site): as wide as it is busy, beside the links.
    { selector: 'edge[kind = "traffic"]', style: { width: 'data(width)', 'line-color': css('--vscode-charts-blue', '#3794ff'), 'target-arrow-color': css('--vscode-charts-blue', '#3794ff'), 'line-style': 'solid', 'line-opacity': 0.85, 'control-point-step-size': 50, color: css('--vscode-charts-blue', '#3794ff') } },
  ];
}

function siteSize(n: any): { w: number; h: number } {
  const label = String(n.data('label') ?? '');
  const services = n.data('serviceCount') ? `⬤ ${n.data('services')}` : '';
  const chars = Math.min(24, Math.max(label.length, services.length));
  return { w: Math.max(70, chars * 7.5 + 24), h: services ? 46 : 30 };
}

const cy = cytoscape({ container: document.getElementById('cy'), style: style(), minZoom: 0.1, maxZoom: 3, boxSelectionEnabled: false });
(window as any).__cy = cy; // for tests: read the graph without pixel matching

const SITE_W = 190;
const SITE_H = 90;
const GAP = 60;

/**
 * A deterministic grouped layout (readable at 50+ sites and fast): each cluster is a small grid of its
 * sites; clusters are packed in rows (shelf packing). Sites the user moved keep their positions.
 */
function gridPositions(): Record<string, { x: number; y: number }> {
  const groups = cy.nodes('[kind = "cluster"]').sort((a: any, b: any) => b.children().length - a.children().length || a.id().localeCompare(b.id()));
  const boxes = groups.map((g: cytoscape.NodeSingular) => {
    const sites = g.children().sort((a: cytoscape.NodeSingular, b: cytoscape.NodeSingular) => String(a.data('label')).localeCompare(String(b.data('label'))));
    const cols = Math.max(1, Math.ceil(Math.sqrt(sites.length)));
    const rows = Math.max(1, Math.ceil(sites.length / cols));
    return { g, sites, cols, w: cols * SITE_W, h: rows * SITE_H };
  });
  const area = boxes.reduce((sum, b) => sum + (b.w + GAP) * (b.h + GAP), 0);
  const aspect = Math.max(0.5, Math.min(3, cy.width() / Math.max(1, cy.height())));
  const maxRow = Math.max(SITE_W * 3, Math.sqrt(area * aspect));
  const pos: Record<string, { x: number; y: number }> = {};
  let x = 0;
  let y = 0;
  let rowH = 0;
  for (const b of boxes) {
    if (x > 0 && x + b.w > maxRow) {
      x = 0;
      y += rowH + GAP;
      rowH = 0;
    }
    b.sites.forEach((site: cytoscape.NodeSingular, i: number) => {
      pos[site.id()] = { x: x + (i % b.cols) * SITE_W + SITE_W / 2, y: y + Math.floor(i / b.cols) * SITE_H + SITE_H / 2 };
    });
    x += b.w + GAP;
    rowH = Math.max(rowH, b.h);
  }
  return pos;
}

function layout(_animate: boolean, onlyNew: boolean) {
  const sites = cy.nodes('[kind = "site"]');
  const kept = onlyNew ? sites.filter((n) => !!state.positions[n.id()]) : cy.collection();
  if (onlyNew && kept.length === sites.length && kept.length > 0) return;
  const grid = gridPositions();
  sites.forEach((n) => {
    const p = (onlyNew && state.positions[n.id()]) || grid[n.id()];
    if (p) n.position({ ...p });
  });
  if (!onlyNew || kept.length === 0) {
    cy.fit(undefined, 40);
    if (cy.zoom() > 1.3) cy.zoom({ level: 1.3, renderedPosition: { x: cy.width() / 2, y: cy.height() / 2 } });
    cy.center();
  }
}

function render(graph: Graph) {
  const t0 = performance.now();
  const summary = document.getElementById('summary')!;
  summary.textContent = `${graph.summary.sites} sites · ${graph.summary.up}/${graph.summary.links} links up · ${graph.summary.services} services`;
  (document.getElementById('empty') as HTMLElement).hidden = graph.summary.sites > 0;
  const wanted = new Set([...graph.nodes, ...graph.edges].map((e) => e.data.id as string));
  let added = 0;
  cy.batch(() => {
    cy.elements().forEach((el) => {
      if (!wanted.has(el.id())) el.remove();
    });
    for (const n of graph.nodes) {
      const el = cy.getElementById(n.data.id);
      if (el.nonempty()) el.data(n.data);
      else {
        const pos = state.positions[n.data.id];
        cy.add(pos ? { group: 'nodes', data: n.data, position: { ...pos } } : { group: 'nodes', data: n.data, position: { x: 0, y: 0 } });
        added++;
      }
    }
    for (const e of graph.edges) {
      const el = cy.getElementById(e.data.id);
      if (el.nonempty()) el.data(e.data);
      else {
        cy.add({ group: 'edges', data: e.data });
        added++;
      }
    }
  });
  if (added > 0) layout(false, true);
  if (state.zoom && state.pan && added === cy.elements().length) {
    cy.viewport({ zoom: state.zoom, pan: state.pan });
  }
  const ms = Math.round(performance.now() - t0);
  document.body.dataset.sites = String(graph.summary.sites);
  document.body.dataset.links = String(graph.summary.links);
  document.body.dataset.linksUp = String(graph.summary.up);
  document.body.dataset.renderMs = String(ms);
  document.body.dataset.siteNames = cy.nodes('[kind = "site"]').map((n) => String(n.data('label'))).sort().join(',');
  document.body.dataset.upEdges = cy.edges('[state = "up"]').map((e) => `${e.source().data('label')}>${e.target().data('label')}`).sort().join(',');
  document.body.dataset.trafficEdges = cy
    .edges('[kind = "traffic"]')
    .map((e) => `${e.data('sourceSite')}>${e.data('destSite')}: ${e.data('label')}`)
    .sort()
    .join('|');
  document.body.dataset.renders = String(Number(document.body.dataset.renders ?? 0) + 1);
  vscode.postMessage({ type: 'rendered', ms, nodes: cy.nodes('[kind = "site"]').length, edges: cy.edges().length });
}

cy.on('dragfree', 'node[kind = "site"]', (e) => {
  state.positions[e.target.id()] = { ...e.target.position() };
  saveState();
});
cy.on('viewport', () => {
  state.zoom = cy.zoom();
  state.pan = { ...cy.pan() };
  saveState();
});
cy.on('tap', 'node[kind = "site"], edge', (e) => {
  const el = e.target;
  const details = document.getElementById('details') as HTMLElement;
  const d = el.data();
  details.hidden = false;
  if (d.kind === 'traffic') {
    details.textContent = `Traffic ${d.sourceSite} → ${d.destSite}: ${d.label} · ${d.flowsTotal} flows in all${d.errors ? ` · ${d.errors} errors` : ''}`;
    vscode.postMessage({ type: 'traffic', sourceSite: d.sourceSite, destSite: d.destSite });
    return;
  }
  details.textContent = el.isEdge()
    ? `Link ${d.name}: ${d.state} · cost ${d.cost}${d.error ? ` · ${d.error}` : ''}`
    : `Site ${d.label}${d.context ? ` · ${d.context}/${d.namespace}` : ''}${d.services ? ` · exposes ${d.services}` : ''}`;
  vscode.postMessage({ type: 'select', kind: el.isEdge() ? 'link' : 'site', id: el.id() });
});

/** The service filter of the traffic edges: the services the host knows, the one chosen kept. */
const serviceSelect = document.getElementById('service') as HTMLSelectElement;
function services(list: string[], chosen: string) {
  const want = ['', ...list];
  const have = Array.from(serviceSelect.options, (o) => o.value);
  if (want.join('\n') !== have.join('\n')) {
    serviceSelect.replaceChildren(...want.map((v) => new Option(v || 'all services', v)));
  }
  serviceSelect.value = chosen;
}
serviceSelect.addEventListener('change', () => vscode.postMessage({ type: 'filter', address: serviceSelect.value }));

document.getElementById('fit')!.addEventListener('click', () => cy.fit(undefined, 30));
document.getElementById('relayout')!.addEventListener('click', () => {
  state.positions = {};
  saveState();
  layout(true, false);
});
document.getElementById('refresh')!.addEventListener('click', () => vscode.postMessage({ type: 'command', command: 'skupper.refresh' }));
document.getElementById('connect')!.addEventListener('click', (e) => {
  e.preventDefault();
  vscode.postMessage({ type: 'command', command: 'skupper.connectContexts' });
});

window.addEventListener('message', (event) => {
  const m = event.data;
  if (m?.type === 'graph') {
    render(m.graph as Graph);
    services(Array.isArray(m.services) ? m.services : [], String(m.filter ?? ''));
  }
});
// theme changes: VS Code updates the body class
new MutationObserver(() => cy.style(style())).observe(document.body, { attributes: true, attributeFilter: ['class'] });

vscode.postMessage({ type: 'ready' });
