// Writes crds/*.yaml from src/core/v2/crds.ts (`npx tsx scripts/gen-crds.ts`); a unit test fails when they differ.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crdFileName, crdYaml } from '../src/core/v2/crds';
import { V2_KINDS } from '../src/core/v2/types';

const dir = join(__dirname, '..', 'crds');
for (const kind of V2_KINDS) writeFileSync(join(dir, crdFileName(kind)), crdYaml(kind));
process.stdout.write(`wrote ${V2_KINDS.length} CRDs to ${dir}\n`);
