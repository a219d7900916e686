// The API server's audit log, read by the tests: the ground truth of what every client sent,
// including an operator process that was SIGKILLed before it could report anything.
import { open } from 'node:fs/promises';

export interface AuditEvent {
  auditID: string;
  stage: string;
  requestURI: string;
  verb: string;
  user: { username: string; groups?: string[] };
  userAgent?: string;
  /** The client's address first (what a proxy in between connected from). */
  sourceIPs?: string[];
  objectRef?: { resource?: string; namespace?: string; name?: string; apiGroup?: string; subresource?: string };
  responseStatus?: { code?: number; reason?: string; message?: string };
  requestReceivedTimestamp: string;
  stageTimestamp: string;
}

export const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

/** Audit policy: metadata of every request but the admin's reads and the health endpoints. */
export const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: None
    nonResourceURLs: ["/healthz*", "/readyz*", "/livez*", "/version", "/openapi*", "/api", "/apis", "/apis/*"]
  - level: None
    users: ["aimodel-local-admin"]
    verbs: ["get", "list", "watch"]
  - level: Metadata
`;

export class AuditLog {
  readonly path: string;
  private offset = 0;
  private rest = '';
  readonly events: AuditEvent[] = [];
  private readonly recorded = new Set<string>();

  constructor(path: string) {
    this.path = path;
  }

  /** Reads what the API server appended since the last call; returns every event so far. */
  async read(): Promise<AuditEvent[]> {
    const file = await open(this.path, 'r').catch(() => undefined);
    if (!file) return this.events;
    try {
      for (;;) {
        const buffer = Buffer.alloc(4 << 20);
        const { bytesRead } = await file.read(buffer, 0, buffer.length, this.offset);
        if (bytesRead === 0) break;
        this.offset += bytesRead;
        const text = this.rest + buffer.subarray(0, bytesRead).toString('utf8');
        const lines = text.split('\n');
        this.rest = lines.pop() ?? '';
        for (const line of lines) {
          if (!line.trim()) continue;
          try {
            const event = JSON.parse(line) as AuditEvent;
            // Watches log ResponseStarted, then ResponseComplete when they end, which for a
            // stream still open is never: keep the first record of each request.
            if (event.stage === 'RequestReceived' || this.recorded.has(event.auditID)) continue;
            this.recorded.add(event.auditID);
            this.events.push(event);
          } catch {
            // A torn line at the end of a file being written: the rest comes with the next read.
          }
        }
      }
    } finally {
      await file.close();
    }
    return this.events;
  }

  /** Requests of one user (e.g. the operator's ServiceAccount), optionally since a time. */
  async byUser(username: string, since?: Date): Promise<AuditEvent[]> {
    const all = await this.read();
    return all.filter((e) => e.user.username === username && (!since || new Date(e.requestReceivedTimestamp) >= since));
  }

  /**
   * Requests the operator process sent: its ServiceAccount and its user agent (tests that probe
   * with the same identity use another agent).
   */
  async byOperator(username: string, since?: Date): Promise<AuditEvent[]> {
    return (await this.byUser(username, since)).filter((e) => e.userAgent?.startsWith('aimodel-operator/'));
  }
}

export function isWrite(e: AuditEvent): boolean {
  return WRITE_VERBS.has(e.verb);
}

/** Counts by a key, for printing. */
export function countBy<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
}
