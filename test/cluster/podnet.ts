// The pod network of the test control plane: one network namespace for every simulated cluster.
//
//   host namespace                                   pod network namespace (van-<hash>)
//   ─────────────────────────────────────────────    ──────────────────────────────────────────────
//   127.0.0.1:<port>   API servers                   lo: 127.0.0.1, every 127.x (its own loopback)
//   127.<o>.200.x      LoadBalancer proxies (tests)      10.<o>.0.1      node IP (kubelet logs)
//   van<h>h 169.254.k.1/30 ═══════ veth ═══════════  van<h>n 169.254.k.2/30
//   route 10.<o>.0.0/16 via 169.254.k.2                  10.<o>.x.y      pod IPs, ClusterIPs
//   route unreachable 10.<o>.0.0/16 metric 4000          127.<o>.200.x   LoadBalancer proxies (pods)
//                                                        route unreachable 10.0.0.0/8
//
// Every address beyond 127.0.0.0/8 (pod IPs, the node IP, ClusterIPs) exists only inside the pod
// namespace; the pods' processes run there (nsenter --net). The host reaches those ranges through the
// veth alone, whose host end carries a link-local /30 and nothing else; should the veth go, the
// fallback `unreachable` route fails a connection at once instead of sending it anywhere. Inside, an
// address nobody holds answers "host unreachable" at once (forwarding is on in that namespace only,
// and its only route beyond its own addresses is `unreachable`).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';

export interface PodNetwork {
  /** Network namespace name (`ip netns`), also under /run/netns. */
  netns: string;
  /** Host end of the veth pair. */
  hostIf: string;
  /** Pod-namespace end of the veth pair. */
  nsIf: string;
  /** Link-local addresses of the two ends (a /30). */
  hostAddr: string;
  nsAddr: string;
}

/** Thrown when something would put a test address on an interface of the host's namespace. */
export class HostAddressRefused extends Error {}

function ip(args: string[], allowed: RegExp = /^$/): string {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0 && !allowed.test(r.stderr)) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim() || `exit ${r.status}`}`);
  return r.stdout;
}

/** Names derived from the state folder, so two checkouts on one machine never share a namespace. */
export function podNetworkNames(stateDir: string): Pick<PodNetwork, 'netns' | 'hostIf' | 'nsIf'> {
  const h = createHash('sha256').update(stateDir).digest('hex').slice(0, 6);
  return { netns: `van-${h}`, hostIf: `van${h}h`, nsIf: `van${h}n` };
}

/**
 * The one rule for the host's namespace: loopback addresses on `lo`, and the link-local /30 of the
 * harness's own veth. Anything else (pod, node, service ranges: 10.x, or any other range) is refused.
 */
export function hostAddressAllowed(address: string, dev: string, net?: Pick<PodNetwork, 'hostIf'>): boolean {
  if (dev === 'lo') return /^127\./.test(address);
  return !!net && dev === net.hostIf && /^169\.254\.\d+\.\d+$/.test(address);
}

/** Adds an address to an interface of the host's namespace, under the rule above. */
export function addHostAddress(address: string, prefix: number, dev: string, net?: Pick<PodNetwork, 'hostIf'>): void {
  if (!hostAddressAllowed(address, dev, net)) {
    throw new HostAddressRefused(
      `refusing to add ${address} to ${dev} in the host's network namespace: test addresses beyond 127.0.0.0/8 live only in the pod network namespace (see test/cluster/README.md)`,
    );
  }
  ip(['addr', 'add', `${address}/${prefix}`, 'dev', dev], /File exists|already assigned/);
}

/** Every IPv4 address on the host's interfaces, as `dev address`. */
export function hostAddresses(): { dev: string; address: string }[] {
  return ip(['-o', '-4', 'addr', 'show'])
    .split('\n')
    .map((l) => /^\d+:\s+(\S+)\s+inet\s+([\d.]+)\//.exec(l))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => ({ dev: m[1], address: m[2] }));
}

/** Host addresses that break the rule (e.g. left on `lo` by an older harness): cluster:up refuses to run on top of them. */
export function strayHostAddresses(net?: Pick<PodNetwork, 'hostIf'>): { dev: string; address: string }[] {
  return hostAddresses().filter((a) => /^10\./.test(a.address) && !hostAddressAllowed(a.address, a.dev, net));
}

function freeLinkSubnet(h: string): number {
  const used = new Set(
    hostAddresses()
      .filter((a) => a.address.startsWith('169.254.'))
      .map((a) => Number(a.address.split('.')[2])),
  );
  const start = 100 + (parseInt(h, 16) % 100);
  for (let i = 0; i < 150; i++) {
    const k = 100 + ((start - 100 + i) % 150);
    if (!used.has(k)) return k;
  }
  throw new Error('no free 169.254.k.0/30 for the pod network veth');
}

export function podNetworkExists(net: PodNetwork): boolean {
  return existsSync(`/run/netns/${net.netns}`) && spawnSync('ip', ['link', 'show', net.hostIf]).status === 0;
}

/** Creates the namespace, the veth pair and their addresses (removing a half-made one first). */
export function createPodNetwork(stateDir: string): PodNetwork {
  const names = podNetworkNames(stateDir);
  removePodNetwork(names);
  const k = freeLinkSubnet(names.netns.slice(4));
  const net: PodNetwork = { ...names, hostAddr: `169.254.${k}.1`, nsAddr: `169.254.${k}.2` };
  try {
    ip(['netns', 'add', net.netns]);
    ip(['link', 'add', net.hostIf, 'type', 'veth', 'peer', 'name', net.nsIf]);
    ip(['link', 'set', net.nsIf, 'netns', net.netns]);
    addHostAddress(net.hostAddr, 30, net.hostIf, net);
    ip(['link', 'set', net.hostIf, 'up']);
    ip(['-n', net.netns, 'addr', 'add', `${net.nsAddr}/30`, 'dev', net.nsIf]);
    ip(['-n', net.netns, 'link', 'set', net.nsIf, 'up']);
    ip(['-n', net.netns, 'link', 'set', 'lo', 'up']);
    ip(['-n', net.netns, 'route', 'add', 'unreachable', '10.0.0.0/8']);
    // Forwarding inside the pod namespace only: a packet for an address nobody holds there meets the
    // `unreachable` route and is answered at once, instead of being dropped silently.
    const r = spawnSync('ip', ['netns', 'exec', net.netns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`sysctl in ${net.netns}: ${r.stderr.trim()}`);
  } catch (e) {
    removePodNetwork(net);
    throw e;
  }
  return net;
}

/** Removes the namespace and the veth (the routes through it go with it). Safe to call twice. */
export function removePodNetwork(net: Pick<PodNetwork, 'netns' | 'hostIf'>): void {
  spawnSync('ip', ['link', 'del', net.hostIf]);
  spawnSync('ip', ['netns', 'del', net.netns]);
}

/** The host's routes to one cluster's range: through the veth, and `unreachable` should the veth go. */
export function routeCluster(net: PodNetwork, octet: number): void {
  ip(['route', 'replace', `10.${octet}.0.0/16`, 'via', net.nsAddr, 'dev', net.hostIf]);
  ip(['route', 'replace', 'unreachable', `10.${octet}.0.0/16`, 'metric', '4000']);
}

export function unrouteCluster(net: PodNetwork | undefined, octet: number): void {
  if (net) spawnSync('ip', ['route', 'del', `10.${octet}.0.0/16`, 'via', net.nsAddr, 'dev', net.hostIf]);
  spawnSync('ip', ['route', 'del', 'unreachable', `10.${octet}.0.0/16`, 'metric', '4000']);
}

/** Adds / removes an address on the pod namespace's loopback. */
export function addPodAddress(net: Pick<PodNetwork, 'netns'>, address: string): void {
  ip(['-n', net.netns, 'addr', 'add', `${address}/32`, 'dev', 'lo'], /File exists|already assigned/);
}
export function delPodAddress(net: Pick<PodNetwork, 'netns'>, address: string): void {
  spawnSync('ip', ['-n', net.netns, 'addr', 'del', `${address}/32`, 'dev', 'lo']);
}

/** The command prefix that runs a program inside the pod namespace (network only; mounts stay). */
export function inPodNetwork(net: Pick<PodNetwork, 'netns'>): string[] {
  return ['nsenter', `--net=/run/netns/${net.netns}`];
}
