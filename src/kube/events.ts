// Kubernetes Events about an object, aggregated like client-go's recorder: the same
// (object, type, reason, message) within the window bumps the count of the existing Event
// instead of creating another, so a repeating failure costs one small patch, not a new object.
// Recording never throws: an Event that cannot be written must not fail a reconcile.
import { randomBytes } from 'node:crypto';
import type { KubeClient } from './client.ts';
import { CoreEvents } from './resources.ts';
import type { KubeObject } from './types.ts';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorder {
  record(object: KubeObject, type: EventType, reason: string, message: string): void;
}

interface Seen {
  name: string;
  namespace: string;
  count: number;
  firstTimestamp: string;
  lastSeen: number;
}

export interface KubeEventRecorderOptions {
  component: string;
  host?: string;
  /** Window in which repeats are folded into one Event (client-go uses 10 minutes). */
  windowMs?: number;
  maxTracked?: number;
  now?: () => number;
  onError?: (err: unknown) => void;
}

const maxMessage = 1024;

export class KubeEventRecorder implements EventRecorder {
  private readonly client: KubeClient;
  private readonly options: Required<Omit<KubeEventRecorderOptions, 'host'>> & { host?: string };
  private readonly seen = new Map<string, Seen>();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(client: KubeClient, options: KubeEventRecorderOptions) {
    this.client = client;
    this.options = { windowMs: 600_000, maxTracked: 4096, now: Date.now, onError: () => {}, ...options };
  }

  record(object: KubeObject, type: EventType, reason: string, message: string): void {
    const text = message.length > maxMessage ? `${message.slice(0, maxMessage - 3)}...` : message;
    const write: Promise<void> = this.write(object, type, reason, text)
      .catch((err: unknown) => this.options.onError(err))
      .finally(() => this.inFlight.delete(write));
    this.inFlight.add(write);
  }

  /** Resolves when every Event recorded so far has been written (or failed). */
  async flush(): Promise<void> {
    await Promise.all(this.inFlight);
  }

  private async write(object: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const namespace = object.metadata.namespace ?? 'default';
    const key = `${object.metadata.uid}\0${type}\0${reason}\0${message}`;
    const nowMs = this.options.now();
    const now = new Date(nowMs).toISOString();
    const previous = this.seen.get(key);
    if (previous && nowMs - previous.lastSeen < this.options.windowMs) {
      previous.count += 1;
      previous.lastSeen = nowMs;
      try {
        await this.client.patch(CoreEvents, previous.namespace, previous.name, { count: previous.count, lastTimestamp: now }, { kind: 'merge' });
        return;
      } catch {
        // The Event expired or was deleted: fall through and create a new one.
      }
    }
    const name = `${object.metadata.name}.${randomBytes(8).toString('hex')}`;
    await this.client.create({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: {
        apiVersion: object.apiVersion,
        kind: object.kind,
        name: object.metadata.name,
        namespace: object.metadata.namespace,
        uid: object.metadata.uid,
        resourceVersion: object.metadata.resourceVersion,
      },
      type,
      reason,
      message,
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
      source: { component: this.options.component, ...(this.options.host ? { host: this.options.host } : {}) },
      reportingComponent: this.options.component,
      reportingInstance: this.options.host ?? this.options.component,
    } as KubeObject);
    if (this.seen.size >= this.options.maxTracked) this.seen.delete(this.seen.keys().next().value!);
    this.seen.set(key, { name, namespace, count: 1, firstTimestamp: now, lastSeen: nowMs });
  }
}
