// Issue 15: the container image, really built and really started. hack/image.sh builds it from
// the Dockerfile with buildah on local stand-ins for the two bases (no registry is reachable
// here); `npm run test:image` builds it, then runs this file. The image is started by
// hack/image-run.sh as the chart's Deployment runs it: its ENTRYPOINT with the chart's args
// (which replace CMD, as Kubernetes does), its WORKDIR and ENV, as the chart's runAsUser/Group,
// with the root file system read-only and the chart's emptyDir volumes as tmpfs, against the
// local cluster on loopback.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chown, lstat, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AIModels } from '../../src/controllers/aimodel/setup.ts';
import { Leases } from '../../src/kube/resources.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { useTestCluster } from '../support/cluster.ts';
import type { TestCluster } from '../support/cluster.ts';
import { chartDir, freePort, helm, onLoopback, operatorArgs, ownNamespaces, parseManifests, repoRoot, run, seedFile } from '../support/install.ts';
import type { Manifest } from '../support/install.ts';
import { waitForObject } from '../support/wait.ts';

type Model = KubeObject & { status?: { phase?: string; observedGeneration?: number; conditions?: { type: string; status: string }[] } };
type Lease = KubeObject & { spec?: { holderIdentity?: string } };
type Container = {
  name: string;
  args?: string[];
  env?: { name: string; value?: string }[];
  securityContext?: { runAsUser?: number; runAsGroup?: number; readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean };
  volumeMounts?: { name: string; mountPath: string }[];
};
type PodSpec = { containers: Container[]; volumes?: { name: string; emptyDir?: object }[] };
type ImageConfig = { User?: string; WorkingDir?: string; Entrypoint?: string[] | null; Cmd?: string[] | null; Env?: string[]; Labels?: Record<string, string> };

const image = process.env.AIMODEL_IMAGE ?? 'localhost/aimodel-operator:dev';
const runner = join(repoRoot, 'hack', 'image-run.sh');
const namespaces = ownNamespaces('image');
const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string> };
const lock = JSON.parse(await readFile(join(repoRoot, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { dev?: boolean; optional?: boolean; devOptional?: boolean }>;
};

const buildah = (args: string[]) => run('buildah', args, { timeoutMs: 120_000 });

let cluster: TestCluster;
let work: string;
let config: ImageConfig;
/** The image's root file system, mounted read-only through a working container. */
let rootfs: string;
let inspector = '';
let releaseNs = '';
let watchNs = '';
let manager: Container;
let podSpec: PodSpec;

/** hack/image-run.sh's options for running the chart's manager container as its securityContext and volumes say. */
function asTheChartRunsIt(container: Container, pod: PodSpec): string[] {
  const sc = container.securityContext ?? {};
  if (sc.runAsUser === undefined || sc.runAsGroup === undefined) throw new Error('the chart sets no runAsUser/runAsGroup');
  const options = ['--user', `${sc.runAsUser}:${sc.runAsGroup}`];
  if (sc.readOnlyRootFilesystem) options.push('--read-only');
  for (const mount of container.volumeMounts ?? []) {
    const volume = pod.volumes?.find((v) => v.name === mount.name);
    if (!volume?.emptyDir) throw new Error(`the chart mounts volume ${mount.name}, which this test cannot stand in for`);
    options.push('--tmpfs', mount.mountPath);
  }
  return options;
}

/** Every path under dir, relative to it (no following of symbolic links). */
async function walk(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String);
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

beforeAll(async () => {
  const inspected = await buildah(['inspect', '--type', 'image', image]);
  if (inspected.code !== 0) throw new Error(`no image ${image} in buildah's storage: build it with npm run image (npm run test:image builds it, then runs this file)\n${inspected.stderr}`);
  config = (JSON.parse(inspected.stdout) as { OCIv1: { config: ImageConfig } }).OCIv1.config;
  cluster = await useTestCluster();
  work = await mkdtemp(join(tmpdir(), 'aimodel-image-test-'));
  const from = await buildah(['from', '--quiet', '--pull=never', image]);
  expect(from.code, from.stderr).toBe(0);
  inspector = from.stdout.trim();
  const mounted = await buildah(['mount', inspector]);
  expect(mounted.code, mounted.stderr).toBe(0);
  rootfs = mounted.stdout.trim();

  releaseNs = await namespaces.create(cluster);
  watchNs = await namespaces.create(cluster);
  const rendered = await helm(cluster, ['template', 'aimodel-operator', chartDir, '--namespace', releaseNs, '--set', `watchNamespaces={${watchNs}}`]);
  expect(rendered.code, rendered.stderr).toBe(0);
  const deployment = parseManifests(rendered.stdout).find((o) => o.kind === 'Deployment') as Manifest & { spec: { template: { spec: PodSpec } } };
  podSpec = deployment.spec.template.spec;
  manager = podSpec.containers.find((c) => c.name === 'manager')!;
  expect(operatorArgs(deployment)).toEqual(manager.args);
});

afterAll(async () => {
  if (inspector) await buildah(['rm', inspector]);
  if (work) await rm(work, { recursive: true, force: true });
  await namespaces.deleteAll();
});

describe('the built image', () => {
  it('runs the operator from /app as 65532:65532 in production mode, labelled with its version', () => {
    expect(config.User).toBe('65532:65532');
    expect(config.WorkingDir).toBe('/app');
    expect(config.Env).toContain('NODE_ENV=production');
    expect(config.Labels?.['org.opencontainers.image.version']).toBe(pkg.version);
    expect(config.Entrypoint?.[0]).toBe('/nodejs/bin/node');
  });

  it('holds the compiled operator and its production dependencies, and no dev dependency, test file or TypeScript source', async () => {
    const app = join(rootfs, 'app');
    expect(await exists(join(app, 'dist', 'src', 'main.js'))).toBe(true);
    expect(await exists(join(app, 'src')), 'TypeScript sources under /app/src').toBe(false);
    const own = (await walk(app)).filter((f) => !f.startsWith('node_modules/'));
    expect(own.filter((f) => /\.(c|m)?ts$/.test(f) && !f.endsWith('.d.ts')), 'TypeScript sources').toEqual([]);
    expect(own.filter((f) => /\.test\.js(\.map)?$|(^|\/)__snapshots__(\/|$)|(^|\/)test\//.test(f)), 'test files').toEqual([]);
    // package-lock.json says which packages only development needs (dev: true); none may be there,
    // and every package production needs must be.
    const devOnly = Object.entries(lock.packages).filter(([path, p]) => path !== '' && p.dev);
    const production = Object.entries(lock.packages).filter(([path, p]) => path !== '' && !p.dev && !p.optional && !p.devOptional);
    expect(devOnly.length).toBeGreaterThan(0);
    expect(production.length).toBeGreaterThan(0);
    const present = async (paths: [string, unknown][]) => (await Promise.all(paths.map(async ([path]) => ((await exists(join(app, path))) ? path : undefined)))).filter(Boolean);
    expect(await present(devOnly), 'development-only packages in /app').toEqual([]);
    expect((await present(production)).length, 'production packages in /app').toBe(production.length);
    for (const dep of Object.keys(pkg.dependencies)) expect(await exists(join(app, 'node_modules', dep)), dep).toBe(true);
    // (@types/* may be there: production dependencies such as @kubernetes/client-node depend on some.)
    for (const dep of ['typescript', 'vitest', 'node', 'fast-check', 'pino-pretty', 'dockerfile-utils']) expect(await exists(join(app, 'node_modules', dep)), dep).toBe(false);
  });

  it('has no shell, no package manager and no npm, and node where the entry point says', async () => {
    expect(await exists(join(rootfs, 'nodejs', 'bin', 'node'))).toBe(true);
    for (const path of ['bin/sh', 'bin/bash', 'bin/dash', 'usr/bin/apt', 'usr/bin/apt-get', 'usr/bin/dpkg', 'usr/local/bin/npm', 'usr/local/lib/node_modules/npm']) {
      expect(await exists(join(rootfs, path)), path).toBe(false);
    }
  });

  it('answers --help from the image (the entry point with the argument --help, as `docker run <image> --help`)', async () => {
    const help = await run('bash', [runner, ...asTheChartRunsIt(manager, podSpec), image, '--help'], { timeoutMs: 60_000 });
    expect(help.code, help.stdout + help.stderr).toBe(0);
    expect(help.stdout).toContain('--leader-elect');
    expect(help.stdout).toContain('AIMODEL_');
  });
});

describe("started as the chart's Deployment runs it", () => {
  let child: ChildProcess | undefined;
  let exited: Promise<number | null>;
  let stdout = '';
  let stderr = '';
  let health = 0;
  let leaseName = '';
  const output = () => `--- stdout\n${stdout}\n--- stderr\n${stderr}`;

  afterAll(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });

  it('becomes ready (GET /readyz = 200), as uid/gid 65532 with a read-only root file system', async () => {
    health = await freePort();
    const metrics = await freePort();
    const args = onLoopback(manager.args!, { metrics, health });
    leaseName = args.find((a) => a.startsWith('--leader-elect-id='))!.split('=')[1]!;
    // The test's kubeconfig, self-contained, readable by the container's user only, mounted
    // read-only; in a pod the same credentials come from the ServiceAccount token.
    const flat = await cluster.kubectl(['config', 'view', '--raw', '--flatten', '--minify']);
    expect(flat.code, flat.stderr).toBe(0);
    const kubeconfig = join(work, 'kubeconfig');
    await writeFile(kubeconfig, flat.stdout, { mode: 0o600 });
    await chown(kubeconfig, manager.securityContext!.runAsUser!, manager.securityContext!.runAsGroup!);
    const podEnv = ['--env', `POD_NAMESPACE=${releaseNs}`, '--env', 'POD_NAME=aimodel-operator-image-test'];
    expect(manager.env?.map((e) => e.name)).toEqual(expect.arrayContaining(['POD_NAMESPACE', 'POD_NAME']));
    child = spawn(
      'bash',
      [runner, ...asTheChartRunsIt(manager, podSpec), '--mount', `${kubeconfig}:/etc/aimodel-operator/kubeconfig`, '--env', 'KUBECONFIG=/etc/aimodel-operator/kubeconfig', ...podEnv, image, ...args],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    exited = new Promise((resolve) => child!.once('exit', (code) => resolve(code)));

    const readyz = async () => {
      if (child!.exitCode !== null) throw new Error(`the image exited with ${child!.exitCode}:\n${output()}`);
      return fetch(`http://127.0.0.1:${health}/readyz`).then(
        (r) => r.status,
        () => 0,
      );
    };
    // An image that cannot start fails here at once, not when the poll gives up.
    const died = exited.then((code) => Promise.reject(new Error(`the image exited with ${code}:\n${output()}`)));
    await Promise.race([expect.poll(readyz, { timeout: 90_000, interval: 250 }).toBe(200), died]);
    died.catch(() => undefined);
    expect((await fetch(`http://127.0.0.1:${metrics}/metrics`)).status).toBe(200);
    const started = stdout.split('\n').find((l) => l.includes('starting aimodel-operator'));
    expect(started, output()).toContain(`"version":"${pkg.version}"`);

    // The process serving those ports: the image's node, as 65532 with no groups, no
    // capabilities and no_new_privs, in the image's root, mounted read-only.
    const pid = await listenerPid(health);
    expect(pid, 'no process listens on the health port').toBeDefined();
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => status.match(new RegExp(`^${name}:[ \\t]*(.*)$`, 'm'))?.[1]?.trim().split(/\s+/).filter(Boolean);
    expect(field('Uid')).toEqual(Array(4).fill(String(manager.securityContext!.runAsUser)));
    expect(field('Gid')).toEqual(Array(4).fill(String(manager.securityContext!.runAsGroup)));
    expect(field('Groups') ?? []).toEqual([]);
    expect(field('CapEff')).toEqual(['0000000000000000']);
    expect(field('NoNewPrivs')).toEqual(['1']);
    expect((await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0')[0]).toBe('/nodejs/bin/node');
    const rootMount = (await readFile(`/proc/${pid}/mountinfo`, 'utf8')).split('\n').find((l) => l.split(' ')[4] === '/');
    expect(rootMount?.split(' ')[5]?.split(',')).toContain('ro');
  });

  it('reconciles the seed AIModel to Ready', async () => {
    expect(child?.exitCode, `the image is not running\n${output()}`).toBeNull();
    const applied = await cluster.kubectl(['apply', '-n', watchNs, '-f', seedFile]);
    expect(applied.code, applied.stderr).toBe(0);
    await waitForObject<Model>(
      cluster.client,
      AIModels,
      watchNs,
      'gpt-4o-agent',
      (m) => !!m && m.status?.observedGeneration === m.metadata.generation && !!m.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      { timeoutMs: 120_000, description: 'the seed Ready' },
    );
    const lease = await cluster.client.get<Lease>(Leases, releaseNs, leaseName);
    expect(lease.spec?.holderIdentity).toBeTruthy();
  });

  it('stops on SIGTERM with exit code 0 and hands back the Lease', async () => {
    expect(child?.exitCode, `the image is not running\n${output()}`).toBeNull();
    child!.kill('SIGTERM');
    expect(await exited, output()).toBe(0);
    expect(stdout).toContain('shutting down');
    const lease = await cluster.client.get<Lease>(Leases, releaseNs, leaseName);
    expect(lease.spec?.holderIdentity ?? '').toBe('');
  });
});

/** The pid of the process with a listening TCP socket on 127.0.0.1:port (from /proc/net/tcp and each process's fds). */
async function listenerPid(port: number): Promise<string | undefined> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set(
    (await readFile('/proc/net/tcp', 'utf8'))
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A')
      .map((f) => f[9]!),
  );
  for (const pid of (await readdir('/proc')).filter((p) => /^\d+$/.test(p))) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const inode = target.match(/^socket:\[(\d+)\]$/)?.[1];
      if (inode && inodes.has(inode)) return pid;
    }
  }
  return undefined;
}
