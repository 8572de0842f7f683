// The agent modules of services, network status and events, ready for SiteAgent.addModule:
//
//   const recorder = siteEventRecorder(client, podName);            // pass as AgentOptions.events
//   const agent = new SiteAgent({ ..., events: recorder });
//   for (const m of serviceModules(recorder)) agent.addModule(m);
//
// On Kubernetes the services module watches the services ConfigMap and the pods of the namespace
// (a change triggers a reconcile at once; a 10 s poll is the safety net), and the publisher writes
// network.json and events.json. A local (laptop) site has no kube client: it reads its own services
// and forwards from its folder (service/local.ts), learns the network's services, listens only where it
// forwards, and writes its network.json into its folder.
import { type FSWatcher, renameSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeClient } from '../../kube/client';
import { type WatchHandle, watchWithReconnect } from '../../kube/watch';
import { SERVICES_CONFIGMAP } from '../../service/definition';
import { LOCAL_FORWARDS_FILE, LOCAL_SERVICES_FILE, readLocalServices } from '../../service/local';
import { CLAIMS_PORT, HEALTH_PORT } from '../../site/names';
import type { AgentContext, AgentModule } from '../agent';
import { NETWORK_KEY, sameStatus } from '../networkStatus';
import { type KubeLike, ServicesModule } from '../servicesModule';
import { NetworkStatusPublisher, SiteEventRecorder, type StatusKube } from '../statusPublisher';

/** A laptop site's network.json is rewritten at least this often when nothing changed (lastSeen times). */
const LOCAL_REPUBLISH_MS = 30_000;

/** The event recorder of a Kubernetes site: bounded log → events.json, and Kubernetes Events. */
export function siteEventRecorder(client: KubeClient, component: string, echo?: (line: string) => void): SiteEventRecorder {
  return new SiteEventRecorder({
    kube: client as unknown as StatusKube,
    namespace: client.namespace,
    component,
    log: echo ? (e) => echo(`event ${e.type} ${e.reason}: ${e.message}`) : undefined,
  });
}

function isKubeClient(kube: unknown): kube is KubeClient {
  return typeof kube === 'object' && kube !== null && 'core' in kube && 'kc' in kube;
}

/** The modules, sharing one services state. Pass the recorder when it is a SiteEventRecorder (it gets started). */
export function serviceModules(recorder?: SiteEventRecorder): AgentModule[] {
  let services: ServicesModule | undefined;
  let publisher: NetworkStatusPublisher | undefined;
  let watches: WatchHandle[] = [];
  let localTimer: NodeJS.Timeout | undefined;
  let folderWatch: FSWatcher | undefined;

  const eventsModule: AgentModule = {
    name: 'events',
    start: async () => {
      await recorder?.start();
    },
    stop: async () => {
      await recorder?.stop();
    },
  };

  const servicesModule: AgentModule = {
    name: 'services',
    async start(ctx: AgentContext) {
      const client = isKubeClient(ctx.kube) ? ctx.kube : undefined;
      services = new ServicesModule({
        kube: client as unknown as KubeLike | undefined,
        namespace: ctx.namespace,
        siteId: ctx.site.id,
        siteName: ctx.site.name,
        platform: ctx.platform,
        listenHost: ctx.listenHost,
        router: ctx.router,
        events: ctx.events,
        applyServices: (s) => ctx.applyServices(s),
        reservedPorts: [...ctx.reservedPorts, CLAIMS_PORT, HEALTH_PORT],
        pollIntervalMs: client ? 10_000 : 5_000,
        manageServices: Boolean(client),
        // A laptop site: its folder (ctx.namespace) holds services.json and forwards.json.
        ...(client ? {} : { readLocal: async () => readLocalServices(ctx.namespace) }),
      });
      if (client) {
        await services.loadPreviousPorts();
        const ns = client.namespace;
        const poke = () => services?.trigger();
        watches = [
          watchWithReconnect(client.kc, `/api/v1/namespaces/${ns}/configmaps`, {
            query: { fieldSelector: `metadata.name=${SERVICES_CONFIGMAP}` },
            onEvent: poke,
            onConnect: poke,
          }),
          watchWithReconnect(client.kc, `/api/v1/namespaces/${ns}/pods`, { onEvent: poke, onConnect: poke }),
          watchWithReconnect(client.kc, `/api/v1/namespaces/${ns}/services`, { onEvent: poke, onConnect: poke }),
        ];
      }
      if (!client) folderWatch = watchFolder(ctx.namespace, () => services?.trigger());
      await services.start();
    },
    notReady: () => services?.notReady(),
    async stop() {
      for (const w of watches) w.stop();
      watches = [];
      folderWatch?.close();
      folderWatch = undefined;
      await services?.stop();
    },
  };

  const statusModule: AgentModule = {
    name: 'network-status',
    async start(ctx: AgentContext) {
      if (!services) throw new Error('the services module did not start');
      const s = services;
      if (isKubeClient(ctx.kube)) {
        publisher = new NetworkStatusPublisher({
          kube: ctx.kube as unknown as StatusKube,
          namespace: ctx.kube.namespace,
          services: s,
          onError: (message) => ctx.events.record('Warning', 'StatusError', message),
        });
        await publisher.start();
      } else {
        // Local site: the folder is ctx.namespace.
        // Like the Kubernetes publisher: write when something other than the timestamps changed, or
        // every 30 s (lastSeen times); whole, through a rename, so a reader never sees half a file.
        let last: { status: ReturnType<typeof buildSnapshot>; events: string; at: number } | undefined;
        const write = () => {
          try {
            const status = buildSnapshot(s);
            const list = ctx.events.events();
            const events = JSON.stringify(list);
            if (last && sameStatus(last.status, status) && last.events === events && Date.now() - last.at < LOCAL_REPUBLISH_MS) return;
            const file = join(ctx.namespace, NETWORK_KEY);
            writeFileSync(`${file}.tmp`, JSON.stringify({ ...status, events: list }, null, 2));
            renameSync(`${file}.tmp`, file);
            last = { status, events, at: Date.now() };
          } catch {
            // The folder may be gone (site deleted).
          }
        };
        localTimer = setInterval(write, 5000);
        localTimer.unref?.();
        s.on('changed', write);
        write();
      }
    },
    async stop() {
      if (localTimer) clearInterval(localTimer);
      await publisher?.stop();
    },
  };

  return [eventsModule, servicesModule, statusModule];
}

function buildSnapshot(s: ServicesModule) {
  return new NetworkStatusPublisher({ kube: undefined as unknown as StatusKube, namespace: '', services: s }).snapshot();
}

/** Calls `onChange` when a laptop site's services.json or forwards.json changes (the 5 s poll is the safety net). */
function watchFolder(dir: string, onChange: () => void): FSWatcher | undefined {
  try {
    const w = watch(dir, (_event, file) => {
      const name = String(file ?? '');
      if (name === LOCAL_SERVICES_FILE || name === LOCAL_FORWARDS_FILE || name === '') onChange();
    });
    w.on('error', () => undefined);
    return w;
  } catch {
    return undefined;
  }
}
