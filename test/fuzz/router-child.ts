// Runs one router from a config file (argv[2]) and prints, on its first stdout line, the ports it bound
// (listeners may ask for port 0): {"pid", "listeners": {name: port}, "management"}.
import { readFileSync } from 'node:fs';
import { parseRouterConfig } from '../../src/core/router/config.js';
import { Router } from '../../src/core/router/router.js';

const config = parseRouterConfig(JSON.parse(readFileSync(process.argv[2], 'utf8')));
Router.start(config).then(
  (router) => {
    const listeners = Object.fromEntries(router.status().listeners.map((l) => [l.name, l.port]));
    process.stdout.write(JSON.stringify({ pid: process.pid, listeners, management: router.managementPort() }) + '\n');
    const stop = () => void router.stop().then(() => process.exit(0));
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  },
  (e) => {
    process.stderr.write(`router failed: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
