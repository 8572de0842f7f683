// Cluster-local name resolution for node processes run by the test kubelet (loaded with
// NODE_OPTIONS=--require). `<svc>`, `<svc>.<ns>`, `<svc>.<ns>.svc` and `<svc>.<ns>.svc.cluster.local`
// resolve to the Service's ClusterIP (proxied by the test kubelet) or, for headless Services, to a
// ready endpoint, from the file the test kubelet keeps (VAN_TEST_RESOLVE). Other names go to the
// system resolver.
'use strict';
const dns = require('dns');
const fs = require('fs');

const file = process.env.VAN_TEST_RESOLVE;
const namespace = process.env.VAN_TEST_NAMESPACE || 'default';

function clusterLookup(hostname) {
  if (!file || typeof hostname !== 'string' || !hostname) return undefined;
  let h = hostname.toLowerCase().replace(/\.$/, '');
  if (h.endsWith('.svc.cluster.local')) h = h.slice(0, -'.svc.cluster.local'.length);
  else if (h.endsWith('.svc')) h = h.slice(0, -'.svc'.length);
  const parts = h.split('.');
  let key;
  if (parts.length === 1) key = `${h}.${namespace}`;
  else if (parts.length === 2) key = h;
  else return undefined;
  let names;
  try {
    names = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
  const e = names[key];
  if (!e) return undefined;
  if (e.clusterIP) return e.clusterIP;
  if (e.endpoints && e.endpoints.length) return e.endpoints[Math.floor(Math.random() * e.endpoints.length)];
  return undefined;
}

const originalLookup = dns.lookup;
dns.lookup = function lookup(hostname, options, callback) {
  if (typeof options === 'function') {
    callback = options;
    options = {};
  }
  const ip = clusterLookup(hostname);
  if (!ip) return originalLookup.call(dns, hostname, options, callback);
  const all = options && typeof options === 'object' && options.all;
  process.nextTick(() => (all ? callback(null, [{ address: ip, family: 4 }]) : callback(null, ip, 4)));
  return {};
};

const originalPromise = dns.promises.lookup;
dns.promises.lookup = function lookup(hostname, options) {
  const ip = clusterLookup(hostname);
  if (!ip) return originalPromise.call(dns.promises, hostname, options);
  const all = options && typeof options === 'object' && options.all;
  return Promise.resolve(all ? [{ address: ip, family: 4 }] : { address: ip, family: 4 });
};

// A pod's own network, as far as node processes go: a server listening on every interface (or on
// localhost) listens on the pod IP instead, and connections to localhost go to the pod IP, so pods
// on one host do not collide on ports and containers of one pod reach each other on localhost.
const podIP = process.env.VAN_TEST_POD_IP;
if (podIP && process.env.VAN_TEST_HOST_NETWORK !== '1') {
  const net = require('net');
  const local = new Set(['', '0.0.0.0', '::', '127.0.0.1', 'localhost', '::1', '::ffff:127.0.0.1']);
  const isPort = (v) => typeof v === 'number' || (typeof v === 'string' && /^\d+$/.test(v));
  const originalListen = net.Server.prototype.listen;
  net.Server.prototype.listen = function listen(...args) {
    const a0 = args[0];
    if (isPort(a0)) {
      if (typeof args[1] === 'string') {
        if (local.has(args[1])) args[1] = podIP;
      } else args.splice(1, 0, podIP);
    } else if (
      a0 &&
      typeof a0 === 'object' &&
      !a0.path &&
      a0.fd === undefined &&
      !a0._handle &&
      !a0.handle &&
      (a0.port !== undefined || a0.host !== undefined)
    ) {
      if (a0.host === undefined || local.has(a0.host)) args[0] = { ...a0, host: podIP, ipv6Only: false };
    }
    return originalListen.apply(this, args);
  };
  const originalConnect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function connect(...args) {
    const a0 = args[0];
    if (Array.isArray(a0)) {
      // internal normalized form [options, cb]
      const o = a0[0];
      if (o && typeof o === 'object' && !o.path && o.port !== undefined && (o.host === undefined || local.has(o.host)))
        a0[0] = { ...o, host: podIP };
    } else if (isPort(a0)) {
      if (typeof args[1] === 'string') {
        if (local.has(args[1])) args[1] = podIP;
      } else args.splice(1, 0, podIP);
    } else if (a0 && typeof a0 === 'object' && !a0.path && a0.port !== undefined && (a0.host === undefined || local.has(a0.host))) {
      args[0] = { ...a0, host: podIP };
    }
    return originalConnect.apply(this, args);
  };
}
