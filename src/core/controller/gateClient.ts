// The router container's side of the controller: a KubeClient whose server is the controller's gate
// on the pod's loopback (the router container has no token of its own), and claim redemptions handed
// to the controller. The router makes the channel token at start and writes it into the folder both
// containers share; the controller answers only callers that present it.
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { sharesHostLoopback } from '../agent/hosts';
import { KubeClient } from '../kube/client';
import { CHANNEL_DIR, GATE_PORT } from '../site/names';
import type { Redeem, Redeemed } from '../token/redeem';
import { GATE_TOKEN_FILE, REDEEM_PATH } from './controller';

/** Where the gate listens: the pod's loopback; in the test control plane, where pods share the host's, the pod IP. */
export function gateHost(podIp: string | undefined): string {
  return podIp && sharesHostLoopback(podIp) ? podIp : '127.0.0.1';
}

export class GateClient extends KubeClient {
  constructor(
    private readonly token: string,
    private readonly gate: { host: string; port: number },
    namespace: string,
  ) {
    const server = `http://${gate.host.includes(':') ? `[${gate.host}]` : gate.host}:${gate.port}`;
    const kc = new KubeConfig();
    kc.loadFromOptions({
      // Plain HTTP inside the pod (client-node wants skipTLSVerify set for it): the channel token authenticates.
      clusters: [{ name: 'gate', server, skipTLSVerify: true }],
      users: [{ name: 'router', token }],
      contexts: [{ name: 'gate', cluster: 'gate', user: 'router', namespace }],
      currentContext: 'gate',
    });
    super(kc, 'the site controller', server, namespace, 20_000);
  }

  /** The router container's client: a fresh channel token, written where the controller reads it. */
  static fromEnv(env: NodeJS.ProcessEnv, podIp: string | undefined): GateClient {
    const token = randomBytes(32).toString('hex');
    const dir = env.SKUPPER_CHANNEL_DIR || CHANNEL_DIR;
    const file = join(dir, GATE_TOKEN_FILE);
    writeFileSync(`${file}.tmp`, token, { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
    // Gone with us: the controller, told to stop with the pod, serves until then (a last status, the
    // check whether the site is being deleted, the bye to other sites all go through it).
    process.once('exit', () => rmSync(file, { force: true }));
    return new GateClient(
      token,
      { host: gateHost(podIp), port: Number(env.SKUPPER_GATE_PORT) || GATE_PORT },
      env.POD_NAMESPACE || 'default',
    );
  }

  /** A claim redemption, done by the controller (the claim records and the CA are its, not ours). */
  readonly redeem: Redeem = (claim, password, who) => {
    const body = JSON.stringify({ claim, password, siteId: who.siteId, siteName: who.siteName });
    return new Promise<Redeemed>((resolve, reject) => {
      const req = request(
        {
          host: this.gate.host,
          port: this.gate.port,
          path: REDEEM_PATH,
          method: 'POST',
          timeout: 20_000,
          headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            try {
              const answer = JSON.parse(text);
              if (res.statusCode === 200 && typeof answer?.ok === 'boolean') return resolve(answer as Redeemed);
              reject(new Error(`the site controller answered ${res.statusCode}: ${String(answer?.message ?? '').slice(0, 200)}`));
            } catch {
              reject(new Error(`the site controller answered ${res.statusCode} without JSON`));
            }
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('the site controller did not answer within 20 s')));
      req.on('error', reject);
      req.end(body);
    });
  };
}
