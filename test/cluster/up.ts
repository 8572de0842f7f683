// npm run cluster:up — starts the test control plane (or reuses the running one) and prints the
// kubeconfig path. Clusters: VAN_TEST_CLUSTERS (comma list), default public,private,east.
import { ensureControlPlane, restartApiServers, restartKubelets, stopControlPlane } from './controlplane';

const t0 = Date.now();
const restart = process.argv.includes('--restart-kubelets')
  ? restartKubelets
  : process.argv.includes('--restart-apiservers')
    ? restartApiServers
    : undefined;
let done = false;
let stopping = false;
const onSignal = () => {
  if (done || restart) process.exit(130);
  if (stopping) return;
  stopping = true;
  process.stderr.write('\ncluster:up interrupted: stopping what was started\n');
  void stopControlPlane().finally(() => process.exit(130));
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

if (restart) {
  // Development aids: pick up a changed kubelet.ts (or API server flags) without restarting the rest.
  restart().then(
    () => {
      process.stderr.write(`cluster:up: restarted in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
      process.exit(0);
    },
    (e) => {
      process.stderr.write(`cluster:up: restart failed: ${(e as Error).message}\n`);
      process.exit(1);
    },
  );
} else
  ensureControlPlane({ owner: 'none' })
    .then((cp) => {
      done = true;
      process.stderr.write(`cluster:up: ready in ${((Date.now() - t0) / 1000).toFixed(1)} s; contexts: ${cp.contexts.join(', ')}\n`);
      process.stdout.write(`${cp.kubeconfigPath}\n`);
      process.exit(0);
    })
    .catch((e) => {
      process.stderr.write(`cluster:up failed: ${(e as Error).message}\n`);
      process.exit(1);
    });
