// Issue 6, the container image without a container engine: the Dockerfile is linted (any
// finding fails), and the built dist/ runs from a clean folder laid out as the image's /app
// (package.json, production node_modules only, dist/) exactly as Kubernetes runs the image (its
// ENTRYPOINT, then the container's args: the flags the chart passes), against the local
// cluster: it becomes ready, reconciles the seed model, and stops cleanly on SIGTERM.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AIModels } from '../../src/controllers/aimodel/setup.ts';
import { Leases } from '../../src/kube/resources.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { useTestCluster } from '../support/cluster.ts';
import type { TestCluster } from '../support/cluster.ts';
import { chartDir, freePort, helm, node24, onLoopback, operatorArgs, ownNamespaces, parseManifests, repoRoot, run, samplesDir } from '../support/install.ts';
import { waitForObject } from '../support/wait.ts';

type Model = KubeObject & { status?: { phase?: string; observedGeneration?: number; conditions?: { type: string; status: string }[] } };
type Lease = KubeObject & { spec?: { holderIdentity?: string } };

let cluster: TestCluster;
let work: string;
/** The image's /app: package.json, dist/ (with dist/package.json) and production node_modules. */
let app: string;
const dockerfile = join(repoRoot, 'Dockerfile');
const namespaces = ownNamespaces('install-image');
const npm = (args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) => run('npm', args, { cwd, env, timeoutMs: 300_000 });
const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string>; devDependencies: Record<string, string> };

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
  cluster = await useTestCluster();
  work = await mkdtemp(join(tmpdir(), 'aimodel-image-'));
  app = join(work, 'app');
  // npm run build, emitting into the clean folder instead of the shared dist/ (same tsc, same config).
  const build = await npm(['run', '-s', 'build', '--', '--outDir', join(app, 'dist')], repoRoot);
  expect(build.code, build.stdout + build.stderr).toBe(0);
  // As the Dockerfile's build stage: no test files in the image.
  for (const entry of await readdir(join(app, 'dist'), { recursive: true })) {
    if (/\.test\.js(\.map)?$/.test(entry)) await rm(join(app, 'dist', entry));
  }
  // As the Dockerfile's deps and runtime stages.
  await cp(join(repoRoot, 'package.json'), join(app, 'package.json'));
  await cp(join(repoRoot, 'package-lock.json'), join(app, 'package-lock.json'));
  await cp(join(repoRoot, 'package.json'), join(app, 'dist', 'package.json'));
  const install = await npm(['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], app, { ...process.env, NODE_ENV: 'production' });
  expect(install.code, install.stderr).toBe(0);
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
  await namespaces.deleteAll();
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
    // Exec form, so node is PID 1 and gets SIGTERM (checked below on the real process). The
    // script is in the entry point and there is no CMD: a pod's args replace the CMD.
    const entrypoint = execForm(text, 'ENTRYPOINT')!;
    expect(entrypoint[0]).toBe('/nodejs/bin/node');
    expect(entrypoint.at(-1)).toBe('dist/src/main.js');
    expect(execForm(text, 'CMD')).toBeUndefined();
    expect(text.split('\n').filter((l) => /^WORKDIR\s/i.test(l)).at(-1)).toMatch(/^WORKDIR\s+\/app\s*$/);
  });
});

describe('the built dist/ from a clean folder with production dependencies only', () => {
  let child: ChildProcess | undefined;
  let exited: Promise<number | null>;
  let stdout = '';
  let stderr = '';
  let health = 0;
  let metrics = 0;
  let releaseNs = '';
  let watchNs = '';
  let leaseName = '';

  afterAll(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });

  it('holds dist/ and the production dependencies, none of the development ones', async () => {
    expect((await stat(join(app, 'dist', 'src', 'main.js'))).isFile()).toBe(true);
    expect((await readdir(join(app, 'dist'), { recursive: true })).filter((f) => f.endsWith('.ts') || /\.test\.js$/.test(f))).toEqual([]);
    const installed = new Set(await readdir(join(app, 'node_modules')));
    for (const dep of Object.keys(pkg.dependencies)) expect(installed.has(dep.split('/')[0]!), dep).toBe(true);
    for (const dep of ['node', 'typescript', 'vitest', 'fast-check', 'pino-pretty', 'dockerfile-utils']) expect(installed.has(dep), `devDependency ${dep}`).toBe(false);
    // There is no node in the folder: the Node 24 binary comes from outside, like the base image's.
    expect(installed.has('.bin') ? (await readdir(join(app, 'node_modules', '.bin'))).includes('node') : false).toBe(false);
  });

  it("starts as Kubernetes runs the image with the chart's flags and becomes ready (GET /readyz = 200)", async () => {
    releaseNs = await namespaces.create(cluster);
    watchNs = await namespaces.create(cluster);
    const rendered = await helm(cluster, ['template', 'aimodel-operator', chartDir, '--namespace', releaseNs, '--set', `watchNamespaces={${watchNs}}`]);
    expect(rendered.code, rendered.stderr).toBe(0);
    const deployment = parseManifests(rendered.stdout).find((o) => o.kind === 'Deployment')!;
    health = await freePort();
    metrics = await freePort();
    const args = onLoopback(operatorArgs(deployment), { metrics, health });
    leaseName = args.find((a) => a.startsWith('--leader-elect-id='))!.split('=')[1]!;
    const text = await readFile(dockerfile, 'utf8');
    const [, ...nodeArgs] = execForm(text, 'ENTRYPOINT')!;
    // As Kubernetes runs the image: WORKDIR /app, NODE_ENV=production, the ENTRYPOINT (Node, its
    // flags, the script) followed by the container's args, the chart's flags; outside the cluster
    // the credentials come from KUBECONFIG instead of the pod's token.
    child = spawn(node24, [...nodeArgs, ...args], {
      cwd: app,
      env: { NODE_ENV: 'production', KUBECONFIG: cluster.kubeconfigPath, HOME: work, PATH: '/usr/bin:/bin' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    exited = new Promise((resolve) => child!.once('exit', (code) => resolve(code)));

    const readyz = async () => {
      if (child!.exitCode !== null) throw new Error(`the operator exited with ${child!.exitCode}:\n${stdout}\n${stderr}`);
      return fetch(`http://127.0.0.1:${health}/readyz`).then(
        (r) => r.status,
        () => 0,
      );
    };
    await expect.poll(readyz, { timeout: 60_000, interval: 250 }).toBe(200);
    expect((await fetch(`http://127.0.0.1:${health}/healthz`)).status).toBe(200);
    const metricsText = await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text();
    expect(metricsText).toContain('controller_runtime_');
    // The chart's flags are in force: it leads through the Lease in the release namespace.
    const lease = await waitForObject<Lease>(cluster.client, Leases, releaseNs, leaseName, (l) => !!l?.spec?.holderIdentity);
    expect(lease?.spec?.holderIdentity).toBeTruthy();
    const started = stdout.split('\n').find((l) => l.includes('starting aimodel-operator'));
    expect(started, stdout).toContain(`"version":"${pkg.version}"`);
  });

  it('reconciles the seed AIModel to Ready', async () => {
    expect(child?.exitCode, 'the operator is not running').toBeNull();
    const applied = await cluster.kubectl(['apply', '-n', watchNs, '-f', join(samplesDir, 'aimodel-seed.yaml')]);
    expect(applied.code, applied.stderr).toBe(0);
    await waitForObject<Model>(
      cluster.client,
      AIModels,
      watchNs,
      'gpt-4o-agent',
      (m) => !!m && m.status?.observedGeneration === m.metadata.generation && !!m.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      { timeoutMs: 120_000, description: 'the seed Ready' },
    );
  });

  it('stops on SIGTERM with exit code 0 and hands back the Lease', async () => {
    expect(child?.exitCode, 'the operator is not running').toBeNull();
    child!.kill('SIGTERM');
    expect(await exited, `${stdout}\n${stderr}`).toBe(0);
    expect(stdout).toContain('shutting down');
    const lease = await cluster.client.get<Lease>(Leases, releaseNs, leaseName);
    expect(lease.spec?.holderIdentity ?? '').toBe('');
  });
});
