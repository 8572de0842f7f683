// Entry of the controller container (the router bundle with SKUPPER_COMPONENT=controller).
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { KubeClient } from '../kube/client';
import { CHANNEL_DIR, GATE_PORT } from '../site/names';
import { Controller, GATE_TOKEN_FILE } from './controller';
import { gateHost } from './gateClient';

export async function runController(env: NodeJS.ProcessEnv = process.env): Promise<Controller> {
  const podIp = env.POD_IP && isIP(env.POD_IP) ? env.POD_IP : undefined;
  const client = KubeClient.inCluster({ namespace: env.POD_NAMESPACE });
  const controller = new Controller({
    client,
    host: gateHost(podIp),
    port: Number(env.SKUPPER_GATE_PORT) || GATE_PORT,
    channelDir: env.SKUPPER_CHANNEL_DIR || CHANNEL_DIR,
  });
  const port = await controller.start();
  process.stderr.write(
    `${JSON.stringify({ ts: new Date().toISOString(), component: 'controller', msg: `gate on ${gateHost(podIp)}:${port} for namespace ${client.namespace}` })}\n`,
  );
  // The pod stops both containers at once: keep the gate open until the router has stopped (it
  // removes the channel token on exit), at most 8 s, so that its last requests still pass.
  const channel = join(env.SKUPPER_CHANNEL_DIR || CHANNEL_DIR, GATE_TOKEN_FILE);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    for (const deadline = Date.now() + 8000; existsSync(channel) && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 100));
    await controller.stop().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  return controller;
}
