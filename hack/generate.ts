// Writes the generated artefacts: the AIModel CRD, from the zod schema in src/api/v1.
// Run with `npm run generate`; src/api/v1/crd.test.ts fails while the committed copy is stale.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CRD_FILE, renderCRDYaml } from '../src/api/v1/crd.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = join(root, CRD_FILE);
await mkdir(dirname(target), { recursive: true });
await writeFile(target, renderCRDYaml());
console.log(`wrote ${CRD_FILE}`);
