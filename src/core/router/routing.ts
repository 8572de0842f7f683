// Link-state routing: every router floods a record of its neighbours (with link costs), the addresses it
// serves and the message addresses it has subscribers for. Each router keeps the newest record of every
// router and runs Dijkstra from itself. An edge counts only when both ends list each other, so a router
// that vanishes (its neighbours drop it) becomes unreachable at once, without waiting for a timeout.
// Pure: no sockets, no timers; the router feeds records in and reads routes out.

export interface LinkState {
  id: string;
  siteId: string;
  siteName: string;
  /** Start time of the router process: a restarted router wins over its old records. */
  epoch: number;
  seq: number;
  neighbors: Record<string, number>;
  /** TCP addresses served here, with the number of local targets. */
  addresses: Record<string, number>;
  /** Message addresses with at least one local subscriber. */
  subscriptions: string[];
}

export interface Route {
  id: string;
  nextHop: string;
  cost: number;
}

export function isNewer(a: LinkState, b: LinkState | undefined): boolean {
  if (!b) return true;
  if (a.epoch !== b.epoch) return a.epoch > b.epoch;
  return a.seq > b.seq;
}

/** Routes from `self` to every reachable router (self excluded), from the records in `db`. */
export function computeRoutes(self: string, db: ReadonlyMap<string, LinkState>): Map<string, Route> {
  const dist = new Map<string, number>([[self, 0]]);
  const first = new Map<string, string>();
  const done = new Set<string>();
  // Small meshes: a linear scan for the minimum is fine (O(n^2) with n routers).
  for (;;) {
    let u: string | undefined;
    let best = Infinity;
    for (const [id, d] of dist) {
      if (!done.has(id) && (d < best || (d === best && u !== undefined && id < u))) {
        best = d;
        u = id;
      }
    }
    if (u === undefined) break;
    done.add(u);
    const lsa = db.get(u);
    if (!lsa) continue;
    for (const [v, cost] of Object.entries(lsa.neighbors)) {
      if (v === u) continue;
      const back = db.get(v);
      // One-sided: not (yet) a link. Own keys only: a router id may be "constructor".
      if (!back || !Object.hasOwn(back.neighbors, u)) continue;
      const c = Math.max(cost, back.neighbors[u]);
      const nd = best + c;
      const old = dist.get(v);
      const hop = u === self ? v : first.get(u)!;
      if (old === undefined || nd < old || (nd === old && !done.has(v) && hop < (first.get(v) ?? '\uffff'))) {
        dist.set(v, nd);
        first.set(v, hop);
      }
    }
  }
  const routes = new Map<string, Route>();
  for (const [id, cost] of dist) {
    if (id !== self) routes.set(id, { id, nextHop: first.get(id)!, cost });
  }
  return routes;
}

export interface AddressTarget {
  routerId: string;
  /** Number of targets (tcp connectors or subscribers) there. */
  count: number;
  cost: number;
}

/** Where each address can be reached, from reachable routers only (self has cost 0). */
export function addressTable(
  self: string,
  db: ReadonlyMap<string, LinkState>,
  routes: ReadonlyMap<string, Route>,
  field: 'addresses' | 'subscriptions',
): Map<string, AddressTarget[]> {
  const table = new Map<string, AddressTarget[]>();
  for (const lsa of db.values()) {
    const cost = lsa.id === self ? 0 : routes.get(lsa.id)?.cost;
    if (cost === undefined) continue;
    const entries: [string, number][] =
      field === 'addresses' ? Object.entries(lsa.addresses) : lsa.subscriptions.map((a) => [a, 1] as [string, number]);
    for (const [address, count] of entries) {
      if (count <= 0) continue;
      let list = table.get(address);
      if (!list) table.set(address, (list = []));
      list.push({ routerId: lsa.id, count, cost });
    }
  }
  for (const list of table.values()) list.sort((a, b) => a.cost - b.cost || (a.routerId < b.routerId ? -1 : 1));
  return table;
}

/**
 * Picks the router that gets a new flow. balanced: fewest outstanding flows per target there, plus the
 * path cost (so a busy near target sheds load to a farther idle one); closest: lowest cost, and among
 * equals fewest outstanding. Ties go to the lowest rotation counter, so equal targets take turns.
 */
export function chooseTarget(
  targets: readonly AddressTarget[],
  mode: 'balanced' | 'closest',
  outstanding: (routerId: string) => number,
  turn: number,
): AddressTarget | undefined {
  if (targets.length === 0) return undefined;
  let best: AddressTarget | undefined;
  let bestScore = Infinity;
  const n = targets.length;
  for (let k = 0; k < n; k++) {
    const t = targets[(k + turn) % n];
    const load = outstanding(t.routerId) / Math.max(1, t.count);
    const score = mode === 'closest' ? t.cost * 1e9 + load : load + t.cost;
    if (score < bestScore) {
      best = t;
      bestScore = score;
    }
  }
  return best;
}
