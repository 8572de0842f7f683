// A local demo network for `npm start`: two laptop sites (router processes on this machine) linked
// together, under a demo data folder (VAN_LOCAL_HOME) so nothing touches the user's own sites.
// Idempotent: reuses sites that exist, restarts routers that stopped. Prints one JSON line at the end.
// With --stop: stops both demo routers (what `npm start` does on Ctrl+C); the sites stay for next time.
import { createLink, waitForLink } from '../../src/core/link/link';
import { LocalLinkSite } from '../../src/core/link/localSite';
import { initLocalSite, localSiteDir, readLocalSite, startLocalSite, stopLocalSite } from '../../src/core/site/local';
import { createToken } from '../../src/core/token/issue';
import { tokenYaml } from '../../src/core/token/token';

async function ensure(name: string, ingress: 'loadbalancer' | 'none') {
  const dir = localSiteDir(name);
  if (!readLocalSite(dir)) await initLocalSite({ siteName: name, ingress });
  const r = await startLocalSite(dir, { timeoutMs: 60_000 });
  console.error(`demo: site ${name} ${r.alreadyRunning ? 'already running' : 'started'} (pid ${r.pid})`);
  return new LocalLinkSite(dir);
}

if (process.argv.includes('--stop')) {
  for (const name of ['demo-laptop', 'demo-hub']) {
    const stopped = readLocalSite(localSiteDir(name)) ? await stopLocalSite(localSiteDir(name)) : false;
    console.error(`demo: site ${name} ${stopped ? 'stopped' : 'was not running'}`);
  }
  process.exit(0);
}

const hub = await ensure('demo-hub', 'loadbalancer');
const laptop = await ensure('demo-laptop', 'none');
const links = await laptop.listLinks();
let name = links[0]?.metadata.name;
if (!name) {
  const token = await createToken(hub, { type: 'claim', expiryMs: 15 * 60_000, uses: 1 });
  const result = await createLink(laptop, tokenYaml(token.secret), { source: 'demo token' });
  name = result.name;
}
const up = await waitForLink(laptop, name, 30_000);
console.error(`demo: link ${name} ${up.connected ? 'is up' : `not up yet${up.error ? `: ${up.error}` : ''}`}`);
console.log(JSON.stringify({ sites: ['demo-hub', 'demo-laptop'], link: name, connected: up.connected }));
