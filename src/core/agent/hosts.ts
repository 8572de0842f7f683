// Where the agent's listeners bind.
import { networkInterfaces } from 'node:os';

/**
 * Whether the pod shares the host's loopback: its IP is a 127.x address or sits on an internal
 * (loopback) interface, as with the test control plane's kubelet stand-in, where pods are host
 * processes with their own address aliased on `lo`. Then 127.0.0.1 is shared by every pod and the
 * local listeners bind the pod IP instead; in a real pod (IP on eth0) they stay on 127.0.0.1.
 */
export function sharesHostLoopback(ip: string | undefined, interfaces = networkInterfaces()): boolean {
  if (!ip) return false;
  if (ip.startsWith('127.') || ip === '::1') return true;
  return Object.values(interfaces).some((list) => (list ?? []).some((a) => a.internal && a.address === ip));
}
