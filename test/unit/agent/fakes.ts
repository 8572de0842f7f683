// Fakes for the agent's services tests: a namespace in memory and an in-memory multicast bus.
import { EventEmitter } from 'node:events';
import type { KubeLike } from '../../../src/core/agent/servicesModule';
import type { RouterApi, RouterEntry, RouterStatus } from '../../../src/core/router/api';

/** A router's status with nothing in it but what `over` gives. */
export function routerStatus(id: string, over: Partial<RouterStatus> = {}): RouterStatus {
  return {
    id,
    siteId: '',
    siteName: '',
    mode: 'interior',
    connections: [],
    listeners: [],
    routers: [],
    addresses: [],
    tcpListeners: [],
    tcpConnectors: [],
    flows: { active: 0, total: 0, bytesIn: 0, bytesOut: 0 },
    ...over,
  };
}

/** A router reachable from the one whose status it is in. */
export function reachable(id: string, siteId: string): RouterEntry {
  return { id, siteId, siteName: siteId, nextHop: id, cost: 1 };
}

/** A namespace in memory: ConfigMaps, pods, services. */
export function fakeKube(services: Record<string, string> = {}) {
  const state = {
    configMaps: new Map<string, any>([
      ['skupper-services', { data: services }],
      ['skupper-site', { data: {}, metadata: { uid: 'site-uid' } }],
    ]),
    pods: [] as any[],
    services: new Map<string, any>(),
  };
  const notFound = () => Object.assign(new Error('not found'), { code: 404 });
  const kube: KubeLike = {
    core: {
      readNamespacedConfigMap: async ({ name }) => {
        const cm = state.configMaps.get(name);
        if (!cm) throw notFound();
        return structuredClone(cm);
      },
      listNamespacedPod: async ({ labelSelector }) => {
        const sel = Object.fromEntries(
          (labelSelector ?? '')
            .split(',')
            .filter(Boolean)
            .map((kv) => kv.split('=')),
        );
        return { items: state.pods.filter((p) => Object.entries(sel).every(([k, v]) => p.metadata.labels[k] === v)) };
      },
      listNamespacedService: async () => ({ items: [...state.services.values()].map((s) => structuredClone(s)) }),
      createNamespacedService: async ({ body }) => {
        if (state.services.has(body.metadata.name)) throw Object.assign(new Error('exists'), { code: 409 });
        state.services.set(body.metadata.name, structuredClone(body));
        return body;
      },
      readNamespacedService: async ({ name }) => {
        const s = state.services.get(name);
        if (!s) throw notFound();
        return structuredClone(s);
      },
      replaceNamespacedService: async ({ name, body }) => {
        state.services.set(name, structuredClone(body));
        return body;
      },
      deleteNamespacedService: async ({ name }) => {
        if (!state.services.delete(name)) throw notFound();
        return {};
      },
    },
  };
  return { kube, state };
}

/**
 * Routers joined by one in-memory multicast bus. Like real routers' link state, each knows the site of
 * the others (learned here from the site id of a router's first announcement).
 */
export function bus() {
  const subs = new Map<string, Set<(b: unknown, from: string) => void>>();
  const siteOf = new Map<string, string>();
  return (id: string): RouterApi & { applied: any[] } => ({
    id,
    applied: [],
    events: new EventEmitter(),
    applyConfig: async () => undefined,
    stop: async () => undefined,
    status: () => routerStatus(id, { routers: [...siteOf].filter(([r]) => r !== id).map(([r, siteId]) => reachable(r, siteId)) }),
    publish: (address, body) => {
      if (!siteOf.has(id)) {
        try {
          const site = JSON.parse(String(body))?.site?.id;
          if (typeof site === 'string') siteOf.set(id, site);
        } catch {
          // not an announcement
        }
      }
      for (const h of subs.get(address) ?? []) h(body, id);
    },
    subscribe: (address, handler) => {
      if (!subs.has(address)) subs.set(address, new Set());
      subs.get(address)!.add(handler);
      return () => subs.get(address)!.delete(handler);
    },
  });
}
