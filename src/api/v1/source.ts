// spec.source: where the weights come from, as one URI. The patterns below are shared by the CRD
// (CEL `matches`, RE2) and by parseAIModel (JavaScript); they stay inside the common subset.
import { z } from 'zod';
import { dns1123Subdomain } from './common.ts';
import { withRules } from './rules.ts';

const DNS1123_SUBDOMAIN_BODY = '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*';
/** A path segment with at least one character that is not a dot, so `.` and `..` cannot climb out of the claim. */
const PATH_SEGMENT = '[A-Za-z0-9._-]*[A-Za-z0-9_-][A-Za-z0-9._-]*';
const HF_NAME = '[A-Za-z0-9][A-Za-z0-9._-]{0,95}';

export const PVC_URI = new RegExp(`^pvc://(${DNS1123_SUBDOMAIN_BODY})((/${PATH_SEGMENT})*)$`);
export const HF_URI = new RegExp(`^hf://((${HF_NAME}/)?${HF_NAME})(:([A-Za-z0-9._-]{1,64}))?(@([A-Za-z0-9][A-Za-z0-9._/-]{0,127}))?$`);
const OCI_COMPONENT = '[a-z0-9]+([._-]+[a-z0-9]+)*';
export const OCI_URI = new RegExp(
  `^oci://([a-z0-9]([-a-z0-9.]*[a-z0-9])?(:[0-9]{1,5})?(/${OCI_COMPONENT})+(:[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?(@sha256:[a-f0-9]{64})?)$`,
);

export type ModelSource =
  | { scheme: 'pvc'; claimName: string; subPath?: string }
  | { scheme: 'hf'; repository: string; quantization?: string; revision?: string }
  | { scheme: 'oci'; reference: string };

/** The parts of a source URI that passed the schema; undefined for anything else. */
export function parseSourceUri(uri: string): ModelSource | undefined {
  const pvc = PVC_URI.exec(uri);
  if (pvc) {
    const subPath = pvc[5]!.slice(1);
    return subPath === '' ? { scheme: 'pvc', claimName: pvc[1]! } : { scheme: 'pvc', claimName: pvc[1]!, subPath };
  }
  const hf = HF_URI.exec(uri);
  if (hf) {
    const source: ModelSource = { scheme: 'hf', repository: hf[1]! };
    if (hf[4] !== undefined) source.quantization = hf[4];
    if (hf[6] !== undefined) source.revision = hf[6];
    return source;
  }
  const oci = OCI_URI.exec(uri);
  if (oci) return { scheme: 'oci', reference: oci[1]! };
  return undefined;
}

const SCHEME_MESSAGE =
  'spec.source.uri must be pvc://<claim>[/<sub/path>], hf://[<org>/]<name>[:<quantization>][@<revision>] or oci://<registry>/<repository>[:<tag>][@sha256:<digest>]';

const celString = (pattern: RegExp) => pattern.source.replace(/\\/g, '\\\\');

export const SourceSchema = withRules(
  z
    .object({
      uri: z
        .string()
        .min(1)
        .max(512)
        .describe(
          [
            'Where the weights mounted at /models come from:',
            'pvc://<claim>[/<sub/path>] mounts an existing PersistentVolumeClaim (at the sub-path, if given) in place of spec.storage;',
            'hf://[<org>/]<name>[@<revision>] downloads a Hugging Face repository into the spec.storage volume before the engine starts, with the engine image\'s own downloader (llama.cpp downloads at start with -hf; Ollama pulls hf.co/<org>/<name>; :<quantization> picks one GGUF quantisation for those two);',
            'oci://<registry>/<repository>[:<tag>|@sha256:<digest>] mounts an OCI model artifact read-only as an image volume (Kubernetes 1.35 or later) in place of spec.storage.',
          ].join(' '),
        ),
      tokenSecretRef: z
        .object({
          name: dns1123Subdomain('Name of a Secret in the model\'s namespace.'),
          key: z
            .string()
            .min(1)
            .max(253)
            .regex(/^[-._a-zA-Z0-9]+$/)
            .describe('The key of the Secret that holds the token.'),
        })
        .describe(
          'hf:// only: the Secret key whose value the downloader gets as HF_TOKEN, for gated or private repositories. The kubelet reads the Secret; the operator only names it.',
        )
        .optional(),
      pullPolicy: z
        .enum(['Always', 'IfNotPresent', 'Never'])
        .optional()
        .describe('oci:// only: pull policy of the image volume; absent lets Kubernetes decide (Always for :latest, else IfNotPresent).'),
    })
    .describe('The model\'s weights, as one URI. Absent: /models is whatever spec.storage provides.'),
  [
    {
      rule: `self.uri.matches('${celString(PVC_URI)}') || self.uri.matches('${celString(HF_URI)}') || self.uri.matches('${celString(OCI_URI)}')`,
      message: SCHEME_MESSAGE,
      fieldPath: '.uri',
      holds: (self) => parseSourceUri(self.uri) !== undefined,
    },
    {
      rule: "!has(self.tokenSecretRef) || self.uri.startsWith('hf://')",
      message: 'spec.source.tokenSecretRef is only for hf:// sources',
      fieldPath: '.tokenSecretRef',
      holds: (self) => self.tokenSecretRef === undefined || self.uri.startsWith('hf://'),
    },
    {
      rule: "!has(self.pullPolicy) || self.uri.startsWith('oci://')",
      message: 'spec.source.pullPolicy is only for oci:// sources',
      fieldPath: '.pullPolicy',
      holds: (self) => self.pullPolicy === undefined || self.uri.startsWith('oci://'),
    },
  ],
);

export type Source = z.output<typeof SourceSchema>;
