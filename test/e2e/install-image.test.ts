// Issue 6, the Dockerfile without a container engine: it is linted (any finding fails) and has
// the shape the chart relies on. The image itself is built from it with buildah and started as
// the chart runs it by test/image/image.test.ts (`npm run test:image`, issue 15), which replaced
// this file's imitation of the image from dist/.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, run } from '../support/install.ts';

let work: string;
const dockerfile = join(repoRoot, 'Dockerfile');
const npm = (args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) => run('npm', args, { cwd, env, timeoutMs: 300_000 });

/** The linter's findings: dockerfile-utils prints one block per finding and exits 0 on warnings. */
function findings(result: { code: number; stdout: string; stderr: string }): string {
  return result.code !== 0 || result.stdout.trim() !== '' ? `exit ${result.code}\n${result.stdout}${result.stderr}` : '';
}

/** The JSON array of the last instruction `name` in the Dockerfile (exec form), or undefined for shell form. */
function execForm(text: string, name: string): string[] | undefined {
  const lines = text.split('\n').filter((l) => new RegExp(`^${name}\\s`, 'i').test(l));
  const last = lines.at(-1);
  if (!last) return undefined;
  try {
    return JSON.parse(last.replace(new RegExp(`^${name}\\s+`, 'i'), '')) as string[];
  } catch {
    return undefined;
  }
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'aimodel-dockerfile-'));
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('Dockerfile', () => {
  it('npm run lint:dockerfile reports no findings', async () => {
    const result = await npm(['run', '-s', 'lint:dockerfile'], repoRoot);
    expect(findings(result)).toBe('');
  });

  it('the lint check fails on findings (a Dockerfile with known problems)', async () => {
    const bad = join(work, 'Dockerfile.bad');
    await writeFile(bad, 'FROM node:24\nMAINTAINER someone\nCMD node a.js\nCMD ["node", "b.js"]\n');
    const warnings = await run(join(repoRoot, 'node_modules', '.bin', 'dockerfile-utils'), ['lint', bad]);
    expect(findings(warnings)).toMatch(/MAINTAINER has been deprecated/);
    await writeFile(bad, 'RUN echo no FROM\n');
    const errors = await run(join(repoRoot, 'node_modules', '.bin', 'dockerfile-utils'), ['lint', bad]);
    expect(findings(errors)).toMatch(/^exit 1/);
  });

  it('is multi-stage on Node 24, installs production dependencies only, runs as non-root, exec-form, with OCI labels', async () => {
    const text = await readFile(dockerfile, 'utf8');
    const froms = text.split('\n').filter((l) => /^FROM\s/i.test(l));
    expect(froms.length).toBeGreaterThanOrEqual(2);
    expect(text).toMatch(/NODE_IMAGE=node:24[-\w.]*/);
    expect(text).toMatch(/nodejs24/);
    expect(text).toMatch(/npm ci --omit=dev/);
    const user = text.split('\n').filter((l) => /^USER\s/i.test(l)).at(-1);
    expect(user).toMatch(/^USER\s+65532(:65532)?\s*$/);
    for (const key of ['title', 'version', 'revision', 'created', 'source', 'licenses']) expect(text).toContain(`org.opencontainers.image.${key}=`);
    // Exec form, so node is PID 1 and gets SIGTERM (checked on the built image by test/image/). The
    // script is in the entry point and there is no CMD: a pod's args replace the CMD.
    const entrypoint = execForm(text, 'ENTRYPOINT')!;
    expect(entrypoint[0]).toBe('/nodejs/bin/node');
    expect(entrypoint.at(-1)).toBe('dist/src/main.js');
    expect(execForm(text, 'CMD')).toBeUndefined();
    expect(text.split('\n').filter((l) => /^WORKDIR\s/i.test(l)).at(-1)).toMatch(/^WORKDIR\s+\/app\s*$/);
  });
});
