// Entry of the router bundle (dist/router.js): the site agent with its router, in a router pod
// (Kubernetes) or as a local site's process. No vscode import, no package.json read at runtime.
//   Kubernetes: env POD_IP, POD_NAME, POD_NAMESPACE, SKUPPER_SITE_ID, SKUPPER_SITE_NAME,
//               SKUPPER_CERTS_DIR (tls.crt, tls.key, ca.crt), SKUPPER_HEALTH_PORT, SKUPPER_STATUS_PORT;
//               in-cluster API access.
//   Local:      env SKUPPER_PLATFORM=local, SKUPPER_SITE_DIR (see src/core/site/local.ts).
//   The router pod's controller container runs the same bundle with SKUPPER_COMPONENT=controller
//   (controller/run.ts); the router container then reaches the API through it (SKUPPER_GATE_PORT).
import { isIP } from 'node:net';
import { join } from 'node:path';
import { errorMessage } from '../errors';
import { KubeClient } from '../kube/client';
import { GateClient } from '../controller/gateClient';
import { runController } from '../controller/run';
import { runV2Controller } from '../v2/controller';
import { Router } from '../router/router';
import { readLocalSite } from '../site/local';
import { CERTS_DIR, HEALTH_PORT, STATUS_PORT } from '../site/names';
import { type AgentModule, type AgentOptions, SiteAgent } from './agent';
import { KubeSiteStore } from './kubeStore';
import { sharesHostLoopback } from './hosts';
import { LocalSiteStore, localAgentSite } from './localStore';
import { annotationsModule } from './modules/annotations';
import { linkAgentModules } from './modules/links';
import { serviceModules, siteEventRecorder } from './modules/services';

export function agentOptions(env: NodeJS.ProcessEnv = process.env): AgentOptions<Router> {
  const startRouter = (config: Parameters<typeof Router.start>[0]) => Router.start(config);
  if (env.SKUPPER_PLATFORM === 'local') {
    const dir = env.SKUPPER_SITE_DIR;
    if (!dir) throw new Error('SKUPPER_SITE_DIR is not set');
    const site = readLocalSite(dir);
    if (!site) throw new Error(`no site.json in ${dir}`);
    return {
      store: new LocalSiteStore(dir),
      startRouter,
      namespace: dir,
      health: { host: '127.0.0.1', port: site.ports.health },
      site: localAgentSite(dir, site),
    };
  }
  const podIp = env.POD_IP && isIP(env.POD_IP) ? env.POD_IP : undefined;
  const certs = env.SKUPPER_CERTS_DIR || CERTS_DIR;
  // In a router pod the API is reached through the controller container's gate: this container has no token.
  const client = env.SKUPPER_GATE_PORT ? GateClient.fromEnv(env, podIp) : KubeClient.inCluster({ namespace: env.POD_NAMESPACE });
  return {
    store: new KubeSiteStore(client),
    startRouter,
    namespace: client.namespace,
    kube: client,
    // The kubelet probes the pod IP. Pods of the test control plane share the host's network with
    // their own 127.x address each: bind that address, never 0.0.0.0 or 127.0.0.1, to stay apart.
    health: { host: podIp ?? '0.0.0.0', port: Number(env.SKUPPER_HEALTH_PORT) || HEALTH_PORT },
    // Not on the pod IP: whoever reaches the pod would read the site, its links and its events.
    status: { host: sharesHostLoopback(podIp) ? podIp! : '127.0.0.1', port: Number(env.SKUPPER_STATUS_PORT) || STATUS_PORT },
    site: {
      routerId: env.POD_NAME || `${env.SKUPPER_SITE_NAME ?? 'router'}-${process.pid}`,
      listenHost: podIp ?? '0.0.0.0',
      localHost: sharesHostLoopback(podIp) ? podIp! : '127.0.0.1',
      serverTls: { ca: join(certs, 'ca.crt'), cert: join(certs, 'tls.crt'), key: join(certs, 'tls.key') },
    },
  };
}

function logEvent(line: string): void {
  process.stderr.write(`${JSON.stringify({ ts: new Date().toISOString(), component: 'agent', msg: line })}\n`);
}

export async function runAgent(env: NodeJS.ProcessEnv = process.env): Promise<SiteAgent<Router>> {
  const options = agentOptions(env);
  // The recorder keeps the bounded event log (events.json) and writes Kubernetes Events; on a laptop the
  // agent's in-memory recorder is kept.
  const recorder = options.kube instanceof KubeClient ? siteEventRecorder(options.kube, env.POD_NAME || 'site-agent', logEvent) : undefined;
  const agent = new SiteAgent<Router>(recorder ? { ...options, events: recorder } : options);
  // The agent's modules (src/core/agent/modules/), composed here and nowhere else: the claims endpoint
  // and the link status publisher; services, network status and events; exposure by annotation.
  const modules: AgentModule[] = [...linkAgentModules(), ...serviceModules(recorder), annotationsModule()];
  for (const module of modules) agent.addModule(module);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${JSON.stringify({ ts: new Date().toISOString(), component: 'agent', msg: `stopping on ${signal}` })}\n`);
    const force = setTimeout(() => process.exit(0), 5000);
    force.unref();
    agent.stop().finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  await agent.start();
  return agent;
}

const component = process.env.SKUPPER_COMPONENT;
// The same bundle is the router pod's two containers and the Skupper 2.x controller's Deployment.
(component === 'controller' ? runController() : component === 'v2-controller' ? runV2Controller() : runAgent()).catch((error) => {
  process.stderr.write(
    `${JSON.stringify({ ts: new Date().toISOString(), level: 'error', component: 'agent', msg: `the site agent cannot start: ${errorMessage(error)}` })}\n`,
  );
  process.exit(1);
});
