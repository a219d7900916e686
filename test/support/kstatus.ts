// Flux's and kpt's view of an object: the status sigs.k8s.io/cli-utils' kstatus computes for it,
// from the pinned checker in hack/components/kstatus (built by hack/build-components.sh).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot, run } from './install.ts';
import type { TestCluster } from './cluster.ts';

export type KstatusStatus = 'InProgress' | 'Current' | 'Failed' | 'Terminating' | 'NotFound' | 'Unknown';

export interface KstatusResult {
  status: KstatusStatus;
  message: string;
  /** metadata.generation and resourceVersion of the object the status was computed for. */
  generation: number;
  resourceVersion: string;
}

let checker: Promise<string> | undefined;

/**
 * The checker's path. Asks the build script for it rather than trusting the bin directory, so
 * a cluster started before the checker existed (npm run cluster:up) still gets the pinned one;
 * when it is cached this costs a fraction of a second.
 */
export function kstatusChecker(): Promise<string> {
  checker ??= run('bash', [join(repoRoot, 'hack', 'build-components.sh'), 'kstatus'], { timeoutMs: 600_000 }).then((built) => {
    if (built.code !== 0) throw new Error(`building the kstatus checker failed (exit ${built.code}):\n${built.stderr}`);
    return join(built.stdout.trim().split('\n').pop()!, 'kstatus');
  });
  return checker;
}

function runChecker(args: string[], input?: string): Promise<KstatusResult> {
  return kstatusChecker().then(
    (binary) =>
      new Promise((resolve, reject) => {
        const child = execFile(binary, args, { timeout: 60_000 }, (err, stdout, stderr) => {
          if (err) reject(new Error(`kstatus ${args.join(' ')} failed: ${String(stderr).trim() || err.message}`));
          else resolve(JSON.parse(String(stdout)) as KstatusResult);
        });
        child.stdin?.end(input ?? '');
      }),
  );
}

/** kstatus of an object as given (for example one version from a watch). */
export function kstatusOf(object: object): Promise<KstatusResult> {
  return runChecker([], JSON.stringify(object));
}

/** kstatus of the live object, read by the checker itself through the cluster's kubeconfig. */
export function kstatusOfLive(cluster: TestCluster, namespace: string, name: string, type = 'aimodels.ai.openai.com'): Promise<KstatusResult> {
  return runChecker([`--kubeconfig=${cluster.kubeconfigPath}`, `--namespace=${namespace}`, `${type}/${name}`]);
}
