// Every `van` verb, in the order `van --help` lists them.
import { type CliCommand, notYet } from '../command';

export const commands: CliCommand[] = [
  notYet(['init'], 'init [--site-name N] [--ingress loadbalancer|nodeport|none] [--routers K] [--platform kubernetes|local]', 'install a site in the namespace (or on this machine)'),
  notYet(['delete'], 'delete', 'remove the site and everything it created'),
  notYet(['status'], 'status', 'show the site: enabled, ready, name, id, links, services'),
  notYet(['site', 'start'], 'site start', 'start the local site\'s router (local platform)'),
  notYet(['site', 'stop'], 'site stop', 'stop the local site\'s router (local platform)'),
  notYet(['token', 'create'], 'token create FILE [--expiry 15m] [--uses 1] [--token-type claim|cert] [--name N]', 'write a token that lets another site link to this one'),
  notYet(['token', 'inspect'], 'token inspect FILE', 'show a token\'s type, issuer, expiry, uses and endpoint'),
  notYet(['link', 'create'], 'link create FILE [--name N] [--cost C]', 'link this site to the site that issued the token'),
  notYet(['link', 'delete'], 'link delete NAME', 'remove a link'),
  notYet(['link', 'status'], 'link status [NAME]', 'show links, outgoing and incoming, with their last error'),
  notYet(['expose'], 'expose deployment|statefulset|service/NAME --port P [--target-port T] [--protocol tcp|http|http2] [--address A]', 'make a workload reachable from every linked site'),
  notYet(['unexpose'], 'unexpose deployment|statefulset|service/NAME [--address A]', 'stop exposing a workload'),
  notYet(['service', 'status'], 'service status', 'list the services of the network and where they are'),
  notYet(['network', 'status'], 'network status', 'the whole network: sites, links, services'),
  notYet(['revoke-access'], 'revoke-access', 'new site CA: every link made with this site\'s tokens drops'),
  notYet(['debug', 'events'], 'debug events', 'recent events of the site'),
  notYet(['router'], 'router --config FILE', 'run a router in the foreground from a JSON config file'),
];
