// What every resilience scenario sets up and tears down: a control plane of its own, the
// namespaces it works in, a kubeconfig with the operator's identity (the Helm chart's RBAC), and
// the operator processes it starts, all stopped after the file's tests. Plus the one delay a
// scenario may use: the fault's own timing.
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { OperatorProcess } from '../operator-process.ts';
import type { OperatorProcessOptions } from '../operator-process.ts';
import { operatorNamespace, ResilienceCluster } from './cluster.ts';
import type { ResilienceClusterOptions } from './cluster.ts';

export interface ResilienceScenarioOptions extends ResilienceClusterOptions {
  /** Prefixes of the namespaces to create, in this order (each gets a random suffix). */
  namespaces?: string[];
  /** Labels of those namespaces (a Pod Security level). */
  namespaceLabels?: Record<string, string>;
  /**
   * What the operator's kubeconfig may do, as the chart grants it: 'cluster' (a ClusterRole, the
   * default), 'namespaces' (a Role in each of the scenario's namespaces, the chart's
   * watchNamespaces), or 'none' when the test makes its own (a server behind a proxy).
   */
  operatorAccess?: 'cluster' | 'namespaces' | 'none';
}

export class ResilienceScenario {
  /** Every operator process started through startOperator, in order. */
  readonly operators: OperatorProcess[] = [];
  private startedCluster: ResilienceCluster | undefined;
  private createdNamespaces: string[] = [];
  private operatorKubeconfig: string | undefined;

  /** Registers the hooks (use useResilienceScenario at the top level of a test file). */
  constructor(options: ResilienceScenarioOptions = {}) {
    beforeAll(async () => {
      const cluster = (this.startedCluster = await ResilienceCluster.start({ apiServerArgs: options.apiServerArgs }));
      for (const prefix of options.namespaces ?? []) this.createdNamespaces.push(await cluster.newNamespace(prefix, options.namespaceLabels));
      const access = options.operatorAccess ?? 'cluster';
      if (access !== 'none') this.operatorKubeconfig = await cluster.operatorKubeconfig(access === 'namespaces' ? { watchNamespaces: this.createdNamespaces } : {});
    });
    // vitest runs afterAll hooks in reverse order of registration: the file's own clean-up
    // (registered after this) runs first, then this.
    afterAll(async () => {
      await Promise.all(this.operators.map((p) => p.kill('SIGTERM')));
      await this.startedCluster?.stop();
    });
  }

  get cluster(): ResilienceCluster {
    if (!this.startedCluster) throw new Error('the scenario\'s cluster is not started yet (it starts in beforeAll)');
    return this.startedCluster;
  }

  /** The first of the scenario's namespaces. */
  get namespace(): string {
    const [first] = this.namespaces;
    if (first === undefined) throw new Error('the scenario has no namespace');
    return first;
  }

  get namespaces(): string[] {
    return this.createdNamespaces;
  }

  /** A kubeconfig that authenticates as the operator's ServiceAccount. */
  get kubeconfig(): string {
    if (!this.operatorKubeconfig) throw new Error('the scenario made no operator kubeconfig (operatorAccess: none, or not started yet)');
    return this.operatorKubeconfig;
  }

  /**
   * Starts the operator as a process: by default with the scenario's kubeconfig, watching its
   * namespaces, its leader Lease in the operator's namespace, logging to operator.log in the
   * cluster's folder. It is stopped with SIGTERM after the file's tests.
   */
  async startOperator(options: Partial<OperatorProcessOptions> = {}): Promise<OperatorProcess> {
    const op = await OperatorProcess.start({
      ...options,
      kubeconfig: options.kubeconfig ?? this.kubeconfig,
      namespaces: options.namespaces ?? this.namespaces,
      leaderElectNamespace: options.leaderElectNamespace ?? operatorNamespace,
      logFile: options.logFile ?? join(this.cluster.dir, 'operator.log'),
    });
    this.operators.push(op);
    return op;
  }
}

/**
 * The scenario of a test file: call at its top level (vitest drops hooks registered later). Its
 * beforeAll runs before the file's own, its afterAll after the file's own.
 */
export function useResilienceScenario(options: ResilienceScenarioOptions = {}): ResilienceScenario {
  return new ResilienceScenario(options);
}

/** A delay that is the fault itself (how long an outage lasts, when to kill), never a wait for state. */
export function faultDelay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
