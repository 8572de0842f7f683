// Fails when a command declared in package.json has no handler in src/, or a handler is registered
// for a command package.json does not declare. Handlers are found as string literals 'skupper.x'
// passed to registerCommand (directly or through the command table in src/extension/commands.ts).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const declared = new Set(manifest.contributes.commands.map((c) => c.command));

function sources(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}
const registered = new Set();
for (const file of sources(join(root, 'src/extension'))) {
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/(?:registerCommand\(\s*|command:\s*)'(skupper\.[A-Za-z]+)'/g)) registered.add(m[1]);
}
const missing = [...declared].filter((c) => !registered.has(c));
const undeclared = [...registered].filter((c) => !declared.has(c));
for (const c of missing) console.error(`declared in package.json but never registered: ${c}`);
for (const c of undeclared) console.error(`registered but not declared in package.json: ${c}`);
if (missing.length || undeclared.length) process.exit(1);
console.log(`commands ok: ${declared.size} declared, all registered`);
