// The agent module of exposure by annotation (Skupper 1.x's): watches the namespace's Deployments,
// StatefulSets and Services, and keeps the definitions made from their skupper.io/proxy annotations
// in skupper-services (`origin: annotation`), where the services module picks them up like any
// other. Removing the annotation removes the definition, and with it the Services elsewhere.
// Decisions are service/annotations.ts; this file reads, patches (with the resourceVersion it read,
// which the controller's gate requires) and times. Kubernetes sites only.
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { errorMessage } from '../../errors';
import type { KubeClient } from '../../kube/client';
import { statusCode } from '../../kube/errors';
import { type WatchHandle, watchWithReconnect } from '../../kube/watch';
import { type AnnotatedObjects, annotatedDefinitions, annotationChanges } from '../../service/annotations';
import { SERVICES_CONFIGMAP } from '../../site/names';
import type { AgentContext, AgentModule } from '../agent';

const POLL_MS = 10_000;
const DEBOUNCE_MS = 150;

type Sink = AgentContext['events'];

/** Reads the annotated objects of the namespace. */
async function readObjects(client: KubeClient): Promise<AnnotatedObjects> {
  const namespace = client.namespace;
  const [deployments, statefulsets, services] = await Promise.all([
    client.apps.listNamespacedDeployment({ namespace }),
    client.apps.listNamespacedStatefulSet({ namespace }),
    client.core.listNamespacedService({ namespace }),
  ]);
  return {
    namespace,
    deployments: deployments.items as AnnotatedObjects['deployments'],
    statefulsets: statefulsets.items as AnnotatedObjects['statefulsets'],
    services: services.items as AnnotatedObjects['services'],
  };
}

/** One pass: the annotations now → skupper-services. Returns what it wrote (for tests and logs). */
export async function syncAnnotations(client: KubeClient, events: Sink, reported: Set<string>): Promise<Record<string, string | null>> {
  const objects = await readObjects(client);
  const { definitions, ignored } = annotatedDefinitions(objects);
  const seen = new Set<string>();
  const report = (key: string, type: 'Normal' | 'Warning', reason: string, message: string) => {
    seen.add(key);
    if (reported.has(key)) return;
    reported.add(key);
    events.record(type, reason, message);
  };
  for (const i of ignored)
    report(
      `ignored/${i.kind}/${i.name}/${i.reason}`,
      'Warning',
      'AnnotationIgnored',
      `${i.kind} ${i.name} is annotated but not exposed: ${i.reason}`,
    );
  for (let attempt = 0; ; attempt++) {
    const cm = await client.core.readNamespacedConfigMap({ name: SERVICES_CONFIGMAP, namespace: client.namespace }).catch((e) => {
      if (statusCode(e) === 404) return undefined;
      throw e;
    });
    if (!cm) return {}; // no site (yet): nothing to record into
    const changes = annotationChanges(cm.data, definitions);
    for (const t of changes.taken)
      report(
        `taken/${t.address}/${t.from.join(',')}`,
        'Warning',
        'AnnotationIgnored',
        `${t.from.join(', ')} annotated as ${t.address}, which is already exposed with expose: the annotation is ignored`,
      );
    for (const key of [...reported]) if (!seen.has(key)) reported.delete(key);
    if (Object.keys(changes.data).length === 0) return {};
    try {
      await client.core.patchNamespacedConfigMap(
        {
          name: SERVICES_CONFIGMAP,
          namespace: client.namespace,
          body: { metadata: { resourceVersion: cm.metadata?.resourceVersion }, data: changes.data },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    } catch (error) {
      // Someone wrote the ConfigMap since it was read: read again.
      if (statusCode(error) === 409 && attempt < 5) continue;
      throw error;
    }
    for (const [address, value] of Object.entries(changes.data)) {
      const from = definitions.find((d) => d.def.address === address)?.from.join(', ');
      events.record(
        'Normal',
        value === null ? 'AnnotationRemoved' : 'AnnotationExposed',
        value === null
          ? `service ${address}: its skupper.io/proxy annotation is gone, unexposed`
          : `service ${address} exposed by annotation on ${from}`,
      );
    }
    return changes.data;
  }
}

/** The module: a pass at start, on every change of the watched objects (debounced), and every 10 s. */
export function annotationsModule(): AgentModule {
  let watches: WatchHandle[] = [];
  let timer: NodeJS.Timeout | undefined;
  let poll: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  let lastError = '';
  const reported = new Set<string>();

  return {
    name: 'annotations',
    async start(ctx: AgentContext) {
      const client = ctx.kube;
      if (ctx.platform !== 'kubernetes' || !client) return;
      const pass = async () => {
        try {
          await syncAnnotations(client, ctx.events, reported);
          lastError = '';
        } catch (error) {
          const message = errorMessage(error).split('\n')[0];
          if (message !== lastError)
            ctx.events.record('Warning', 'AnnotationSyncError', `reading skupper.io annotations failed: ${message}`);
          lastError = message;
        }
      };
      const run = () => {
        if (stopped) return;
        if (running) {
          again = true;
          return;
        }
        running = (async () => {
          do {
            again = false;
            await pass();
          } while (again && !stopped);
        })().finally(() => (running = undefined));
      };
      const soon = () => {
        clearTimeout(timer);
        timer = setTimeout(run, DEBOUNCE_MS);
        timer.unref?.();
      };
      const ns = client.namespace;
      const watch = (path: string, query?: Record<string, string>) =>
        watchWithReconnect(client.kc, path, { ...(query ? { query } : {}), onEvent: soon, onConnect: soon });
      watches = [
        watch(`/apis/apps/v1/namespaces/${ns}/deployments`),
        watch(`/apis/apps/v1/namespaces/${ns}/statefulsets`),
        watch(`/api/v1/namespaces/${ns}/services`),
        watch(`/api/v1/namespaces/${ns}/configmaps`, { fieldSelector: `metadata.name=${SERVICES_CONFIGMAP}` }),
      ];
      poll = setInterval(run, POLL_MS);
      poll.unref?.();
      run();
      await running;
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      if (poll) clearInterval(poll);
      for (const w of watches) w.stop();
      watches = [];
      await running;
    },
  };
}
