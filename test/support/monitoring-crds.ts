// Minimal monitoring.coreos.com/v1 CRDs (ServiceMonitor, PrometheusRule, PodMonitor) for server-side
// dry-runs of the chart's monitoring objects and for the operator's PodMonitors, where no
// Prometheus Operator is installed.
//
// Written for these tests, not copied from the Prometheus Operator: each schema is structural
// and closed (no x-kubernetes-preserve-unknown-fields where the chart writes), with the field
// names, types, enums and duration patterns of the Prometheus Operator v1 API for the fields the
// chart renders, so a misspelt or mistyped field is refused by strict field validation instead
// of silently accepted. Fields the chart never writes are left out (or kept open where they
// would only hold nested configuration).

const duration = { type: 'string', pattern: '^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$' };
const stringMap = { type: 'object', additionalProperties: { type: 'string' } };
const open = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };

const relabelConfig = {
  type: 'object',
  properties: {
    action: {
      type: 'string',
      default: 'replace',
      enum: ['replace', 'Replace', 'keep', 'Keep', 'drop', 'Drop', 'hashmod', 'HashMod', 'labelmap', 'LabelMap', 'labeldrop', 'LabelDrop', 'labelkeep', 'LabelKeep', 'lowercase', 'Lowercase', 'uppercase', 'Uppercase', 'keepequal', 'KeepEqual', 'dropequal', 'DropEqual'],
    },
    modulus: { type: 'integer', format: 'int64' },
    regex: { type: 'string' },
    replacement: { type: 'string' },
    separator: { type: 'string' },
    sourceLabels: { type: 'array', items: { type: 'string', pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$' } },
    targetLabel: { type: 'string' },
  },
};

const secretKeySelector = { type: 'object', required: ['key'], properties: { name: { type: 'string' }, key: { type: 'string' }, optional: { type: 'boolean' } } };
const secretOrConfigMap = { type: 'object', properties: { secret: secretKeySelector, configMap: secretKeySelector } };

const labelSelector = {
  type: 'object',
  'x-kubernetes-map-type': 'atomic',
  properties: {
    matchLabels: stringMap,
    matchExpressions: {
      type: 'array',
      items: {
        type: 'object',
        required: ['key', 'operator'],
        properties: { key: { type: 'string' }, operator: { type: 'string' }, values: { type: 'array', items: { type: 'string' } } },
      },
    },
  },
};

const serviceMonitorSpec = {
  type: 'object',
  required: ['selector'],
  properties: {
    jobLabel: { type: 'string' },
    targetLabels: { type: 'array', items: { type: 'string' } },
    podTargetLabels: { type: 'array', items: { type: 'string' } },
    sampleLimit: { type: 'integer', format: 'int64' },
    namespaceSelector: { type: 'object', properties: { any: { type: 'boolean' }, matchNames: { type: 'array', items: { type: 'string' } } } },
    selector: labelSelector,
    endpoints: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          port: { type: 'string' },
          targetPort: { anyOf: [{ type: 'integer' }, { type: 'string' }], 'x-kubernetes-int-or-string': true },
          path: { type: 'string' },
          scheme: { type: 'string', enum: ['http', 'https', 'HTTP', 'HTTPS'] },
          params: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
          interval: duration,
          scrapeTimeout: duration,
          honorLabels: { type: 'boolean' },
          honorTimestamps: { type: 'boolean' },
          followRedirects: { type: 'boolean' },
          enableHttp2: { type: 'boolean' },
          filterRunning: { type: 'boolean' },
          proxyUrl: { type: 'string' },
          bearerTokenFile: { type: 'string' },
          relabelings: { type: 'array', items: relabelConfig },
          metricRelabelings: { type: 'array', items: relabelConfig },
          tlsConfig: {
            type: 'object',
            properties: {
              ca: secretOrConfigMap,
              cert: secretOrConfigMap,
              keySecret: secretKeySelector,
              serverName: { type: 'string' },
              insecureSkipVerify: { type: 'boolean' },
              caFile: { type: 'string' },
              certFile: { type: 'string' },
              keyFile: { type: 'string' },
            },
          },
          authorization: open,
          basicAuth: open,
          oauth2: open,
        },
      },
    },
  },
};

const prometheusRuleSpec = {
  type: 'object',
  properties: {
    groups: {
      type: 'array',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
      items: {
        type: 'object',
        required: ['name'],
        properties: {
          name: { type: 'string', minLength: 1 },
          interval: duration,
          query_offset: duration,
          limit: { type: 'integer' },
          labels: stringMap,
          partial_response_strategy: { type: 'string', pattern: '^(?i)(abort|warn)?$' },
          rules: {
            type: 'array',
            items: {
              type: 'object',
              required: ['expr'],
              properties: {
                alert: { type: 'string' },
                record: { type: 'string' },
                expr: { anyOf: [{ type: 'integer' }, { type: 'string' }], 'x-kubernetes-int-or-string': true },
                for: duration,
                keep_firing_for: { ...duration, minLength: 1 },
                labels: stringMap,
                annotations: stringMap,
              },
            },
          },
        },
      },
    },
  },
};

const podMonitorSpec = {
  type: 'object',
  required: ['selector'],
  properties: {
    selector: { type: 'object', properties: { matchLabels: stringMap, matchExpressions: { type: 'array', items: open } } },
    namespaceSelector: open,
    jobLabel: { type: 'string' },
    podMetricsEndpoints: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          port: { type: 'string' },
          path: { type: 'string' },
          scheme: { type: 'string', enum: ['http', 'https'] },
          interval: duration,
          scrapeTimeout: duration,
          honorLabels: { type: 'boolean' },
          relabelings: { type: 'array', items: relabelConfig },
          metricRelabelings: { type: 'array', items: relabelConfig },
        },
      },
    },
  },
};

function crd(kind: string, plural: string, spec: object, label: string) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.monitoring.coreos.com`, labels: { 'aimodel-operator.test/stub': label } },
    spec: {
      group: 'monitoring.coreos.com',
      scope: 'Namespaced',
      names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase() },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              required: ['spec'],
              properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' }, spec },
            },
          },
        },
      ],
    },
  };
}

/** The two stub CRDs, labelled with `label` so that only their creator deletes them. */
export function monitoringStubCrds(label: string): object[] {
  return [crd('ServiceMonitor', 'servicemonitors', serviceMonitorSpec, label), crd('PrometheusRule', 'prometheusrules', prometheusRuleSpec, label)];
}

/** The PodMonitor stub, for the operator's own PodMonitor children. */
export function podMonitorStubCrd(label: string): object {
  return crd('PodMonitor', 'podmonitors', podMonitorSpec, label);
}

export const monitoringApiVersions = ['monitoring.coreos.com/v1/ServiceMonitor', 'monitoring.coreos.com/v1/PrometheusRule'];
