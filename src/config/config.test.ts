import { describe, expect, it } from 'vitest';
import { ConfigError, helpText, options, parseConfig, parseDuration } from './config.ts';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['15s', 15_000],
    ['10m', 600_000],
    ['1h30m', 5_400_000],
    ['1.5s', 1500],
  ])('%s is %i ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '15', 's', '1d', '-1s', '1h 30m'])('rejects %j', (text) => expect(() => parseDuration(text)).toThrow());
});

describe('parseConfig', () => {
  it('applies the documented defaults', () => {
    const c = parseConfig([], {});
    expect(c).toMatchObject({
      namespaces: [],
      workers: 4,
      leaderElect: true,
      leaderElectId: 'aimodel-operator-leader',
      leaseDuration: 15_000,
      renewDeadline: 10_000,
      retryPeriod: 2_000,
      metricsBindAddress: ':8080',
      healthProbeBindAddress: ':8081',
      defaultImage: 'openai/chatgpt-local:latest',
      logLevel: 'info',
      syncPeriod: 36_000_000,
      help: false,
    });
    expect(c.kubeconfig).toBeUndefined();
  });

  it('reads the environment and lets flags win', () => {
    const c = parseConfig(['--workers=8', '--namespaces', 'a, b'], { AIMODEL_WORKERS: '2', AIMODEL_LOG_LEVEL: 'debug' });
    expect(c.workers).toBe(8);
    expect(c.logLevel).toBe('debug');
    expect(c.namespaces).toEqual(['a', 'b']);
  });

  it('takes boolean flags with or without a value', () => {
    expect(parseConfig(['--leader-elect=false'], {}).leaderElect).toBe(false);
    expect(parseConfig(['--leader-elect', '--workers', '3'], { AIMODEL_LEADER_ELECT: 'false' }).leaderElect).toBe(true);
  });

  it('reads per-engine images, from a flag or the environment', () => {
    expect(parseConfig([], {}).engineImages).toEqual({});
    expect(parseConfig(['--engine-images', 'vllm=registry.local/vllm-openai:v0.11.0, ollama=registry.local/ollama:0.12.6'], {}).engineImages).toEqual({
      vllm: 'registry.local/vllm-openai:v0.11.0',
      ollama: 'registry.local/ollama:0.12.6',
    });
    expect(parseConfig([], { AIMODEL_ENGINE_IMAGES: 'tgi=mirror.local/tgi:3.3.4' }).engineImages).toEqual({ tgi: 'mirror.local/tgi:3.3.4' });
  });

  it.each([
    ['triton=nvcr.io/nvidia/tritonserver:25.01', 'is not an engine'],
    ['vllm', 'expected vllm=<image reference>'],
    ['vllm=a:1,vllm=b:2', 'vllm is given twice'],
    ['openai-compatible=x:1', '--default-image'],
  ])('refuses --engine-images %s', (value, message) => {
    expect(() => parseConfig([`--engine-images=${value}`], {})).toThrow(message);
  });

  it('reports every bad value with its name and the accepted form', () => {
    let error: unknown;
    try {
      parseConfig(['--workers=0', '--metrics-bind-address=localhost', '--bogus'], { AIMODEL_SYNC_PERIOD: 'often' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toContain('--workers: "0"');
    expect(problems).toContain('--metrics-bind-address: "localhost": expected host:port');
    expect(problems).toContain('environment variable AIMODEL_SYNC_PERIOD: "often": expected a duration');
    expect(problems).toContain('--bogus: unknown flag');
  });

  it('rejects leader election timings that cannot work', () => {
    expect(() => parseConfig(['--leader-elect-renew-deadline=20s'], {})).toThrow(/renew-deadline must be shorter/);
    expect(() => parseConfig(['--leader-elect-retry-period=10s'], {})).toThrow(/retry-period must be shorter/);
  });

  it('takes a lease name with dots and rejects one with capitals', () => {
    expect(parseConfig(['--leader-elect-id=aimodel.example.com'], {}).leaderElectId).toBe('aimodel.example.com');
    expect(() => parseConfig(['--leader-elect-id=Leader'], {})).toThrow(/DNS-1123 subdomain/);
  });

  it('keeps plain metrics by default and takes secure metrics with a certificate directory', () => {
    const defaults = parseConfig([], {});
    expect(defaults).toMatchObject({ metricsSecure: false, metricsCertName: 'tls.crt', metricsCertKey: 'tls.key' });
    expect(defaults.metricsCertPath).toBeUndefined();
    expect(parseConfig(['--metrics-secure', '--metrics-cert-path=/certs', '--metrics-cert-name=cert.pem'], {})).toMatchObject({ metricsSecure: true, metricsCertPath: '/certs', metricsCertName: 'cert.pem' });
    expect(() => parseConfig(['--metrics-cert-path=/certs'], {})).toThrow(/--metrics-cert-path needs --metrics-secure/);
    expect(() => parseConfig(['--metrics-secure', '--metrics-cert-key=../key'], {})).toThrow(/expected a file name/);
  });

  it('finds PodMonitors and the cluster domain by default, and names a bad value of either', () => {
    expect(parseConfig([], {})).toMatchObject({ podMonitors: 'auto', podMetricsAnnotations: true, clusterDomain: 'cluster.local' });
    expect(parseConfig(['--pod-monitors=false', '--pod-metrics-annotations=false', '--cluster-domain=corp.internal'], {})).toMatchObject({
      podMonitors: 'false',
      podMetricsAnnotations: false,
      clusterDomain: 'corp.internal',
    });
    expect(() => parseConfig(['--pod-monitors=maybe'], {})).toThrow(/--pod-monitors: "maybe"/);
    expect(() => parseConfig(['--cluster-domain=Cluster Local'], {})).toThrow(/--cluster-domain: "Cluster Local": must be a DNS domain/);
  });

  it('finds ScaledObjects by default, takes the Prometheus address, KEDA intervals and CPU request, and names a bad value of each', () => {
    const defaults = parseConfig([], {});
    expect(defaults).toMatchObject({ scaledObjects: 'auto', kedaPollingInterval: 15_000, kedaCooldownPeriod: 300_000, defaultCpuRequest: '1' });
    expect(defaults.prometheusAddress).toBeUndefined();
    expect(
      parseConfig(['--scaled-objects=false', '--prometheus-address=http://prometheus-operated.monitoring.svc:9090', '--keda-polling-interval=2s', '--keda-cooldown-period=10s', '--default-cpu-request=250m'], {}),
    ).toMatchObject({ scaledObjects: 'false', prometheusAddress: 'http://prometheus-operated.monitoring.svc:9090', kedaPollingInterval: 2000, kedaCooldownPeriod: 10_000, defaultCpuRequest: '250m' });
    expect(parseConfig([], { AIMODEL_PROMETHEUS_ADDRESS: 'https://prom.example.com/prometheus' }).prometheusAddress).toBe('https://prom.example.com/prometheus');
    expect(() => parseConfig(['--scaled-objects=maybe'], {})).toThrow(/--scaled-objects: "maybe"/);
    expect(() => parseConfig(['--prometheus-address=prometheus:9090'], {})).toThrow(/--prometheus-address: "prometheus:9090": expected an http\(s\) URL/);
    expect(() => parseConfig(['--keda-polling-interval=1500ms'], {})).toThrow(/--keda-polling-interval: "1500ms": must be whole seconds/);
    expect(() => parseConfig(['--default-cpu-request=0m'], {})).toThrow(/--default-cpu-request: "0m": must be more than 0/);
    expect(() => parseConfig(['--default-cpu-request=lots'], {})).toThrow(/--default-cpu-request: "lots": expected a CPU quantity/);
  });

  it('rejects invalid namespace names', () => {
    expect(() => parseConfig(['--namespaces=Team_A'], {})).toThrow(/namespace names/);
  });

  it('documents every flag and its environment variable in --help', () => {
    const text = helpText();
    for (const spec of Object.values(options)) {
      expect(text).toContain(`--${spec.flag}`);
      expect(text).toContain(spec.env);
    }
  });
});
