// Where the test control plane keeps its state, and where its binary is cached.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here: string = typeof __dirname !== 'undefined' ? __dirname : dirname(fileURLToPath(import.meta.url));

/** test/cluster (this folder). */
export const clusterDir = here;
/** The project root (two levels up from test/cluster). */
export const projectRoot = resolve(here, '..', '..');
/** All state of the running control plane: pids, data, certificates, logs, kubeconfig. */
export const stateDir = join(projectRoot, '.van-test');
export const kubeconfigPath = join(stateDir, 'kubeconfig');
export const stateFile = join(stateDir, 'state.json');

/** The Kubernetes version pinned by test/cluster/go/go.mod. */
export function kubernetesVersion(): string {
  const mod = readFileSync(join(here, 'go', 'go.mod'), 'utf8');
  const m = /^\s*k8s\.io\/kubernetes\s+(v\S+)/m.exec(mod);
  if (!m) throw new Error('test/cluster/go/go.mod does not pin k8s.io/kubernetes');
  return m[1];
}

/** Path of the cached control plane binary (built by test/cluster/build-controlplane.sh). */
export function controlPlaneBinary(): string {
  if (process.env.VAN_CONTROLPLANE_BIN) return process.env.VAN_CONTROLPLANE_BIN;
  const cache = process.env.VAN_CACHE_DIR || join(homedir(), '.cache', 'vscode-skupper');
  return join(cache, `controlplane-${kubernetesVersion()}`, 'vancp');
}

export function binaryExists(): boolean {
  return existsSync(controlPlaneBinary());
}
