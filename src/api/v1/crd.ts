// Generates the AIModel CustomResourceDefinition from the zod schema. zod emits OpenAPI 3.0 JSON
// Schema; the walker below turns it into a structural schema the API server accepts and fails
// loudly on any keyword it does not know, so a schema change cannot slip an unsupported construct
// (anyOf, $ref, const, propertyNames...) into the CRD unnoticed.
import { dump } from 'js-yaml';
import { z } from 'zod';
import {
  AIModelSpecSchema,
  AIModelStatusSchema,
  CATEGORIES,
  GROUP,
  KIND,
  LIST_KIND,
  PLURAL,
  ROOT_VALIDATIONS,
  SHORT_NAMES,
  SINGULAR,
  VERSION,
} from './aimodel.ts';
import { INT_OR_STRING_KEY, PRESERVE_UNKNOWN_KEY } from './common.ts';
import { VALIDATIONS_KEY } from './rules.ts';

export type JsonSchema = { [key: string]: unknown };

/** Keys in the order they are written, so the generated YAML reads top-down like kubectl explain. */
const KEY_ORDER = [
  'description',
  'type',
  'format',
  'enum',
  'default',
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'anyOf',
  INT_OR_STRING_KEY,
  PRESERVE_UNKNOWN_KEY,
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'required',
  'properties',
  'additionalProperties',
  'items',
  VALIDATIONS_KEY,
] as const;

const ALLOWED_KEYS = new Set<string>(KEY_ORDER);
/** zod's bounds for an unbounded z.int(); they say nothing, so they are dropped. */
const SAFE_INTEGER_BOUNDS = new Set([Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]);

/** Converts zod's JSON Schema output into a structural OpenAPI v3 schema for a CRD. */
export function toStructuralSchema(node: JsonSchema, path = '<root>'): JsonSchema {
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    switch (key) {
      case '$schema':
      case 'id':
      case 'propertyNames': // Structural schemas cannot constrain map keys; zod checks them.
        break;
      case 'additionalProperties':
        if (value === false) break; // Unknown fields are pruned by the API server instead.
        if (node[PRESERVE_UNKNOWN_KEY] === true) break; // `{}`: any value, already preserved.
        out[key] = toStructuralSchema(value as JsonSchema, `${path}.*`);
        break;
      case 'properties':
        out[key] = Object.fromEntries(
          Object.entries(value as Record<string, JsonSchema>).map(([name, child]) => [
            name,
            toStructuralSchema(child, `${path}.${name}`),
          ]),
        );
        break;
      case 'items':
        out[key] = toStructuralSchema(value as JsonSchema, `${path}[]`);
        break;
      case 'anyOf':
        if (node[INT_OR_STRING_KEY] !== true) throw new Error(`${path}: anyOf is only supported for int-or-string`);
        Object.assign(out, liftIntOrStringBounds(value as JsonSchema[], path));
        out.anyOf = [{ type: 'integer' }, { type: 'string' }];
        break;
      case 'minimum':
      case 'maximum':
        if (!SAFE_INTEGER_BOUNDS.has(value as number)) out[key] = value;
        break;
      case 'required':
        if ((value as string[]).length > 0) out[key] = value;
        break;
      default:
        if (!ALLOWED_KEYS.has(key)) throw new Error(`${path}: JSON Schema keyword ${key} is not supported in a CRD`);
        out[key] = value;
    }
  }
  return ordered(out);
}

/** An int-or-string node may carry bounds for either branch at its top level; each applies to its own type. */
function liftIntOrStringBounds(branches: JsonSchema[], path: string): JsonSchema {
  const lifted: JsonSchema = {};
  for (const branch of branches) {
    for (const [key, value] of Object.entries(branch)) {
      if (key === 'type') continue;
      if ((key === 'minimum' || key === 'maximum') && SAFE_INTEGER_BOUNDS.has(value as number)) continue;
      if (!['minimum', 'maximum', 'minLength', 'maxLength', 'pattern'].includes(key)) {
        throw new Error(`${path}: ${key} inside an int-or-string branch is not supported`);
      }
      lifted[key] = value;
    }
  }
  return lifted;
}

function ordered(node: JsonSchema): JsonSchema {
  const rank = (key: string) => KEY_ORDER.indexOf(key as (typeof KEY_ORDER)[number]);
  return Object.fromEntries(Object.entries(node).sort(([a], [b]) => rank(a) - rank(b)));
}

function jsonSchemaOf(schema: z.ZodType): JsonSchema {
  // io 'input': a field with a default is optional to the user, and the default goes in the CRD.
  return z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', reused: 'inline', unrepresentable: 'throw' }) as JsonSchema;
}

export function aimodelOpenAPISchema(): JsonSchema {
  return toStructuralSchema({
    description:
      'AIModel runs an inference server for one model: a Deployment, a Service, and as configured a HorizontalPodAutoscaler, a PodDisruptionBudget and a PersistentVolumeClaim for the weights.',
    type: 'object',
    required: ['spec'],
    properties: {
      apiVersion: {
        description: 'APIVersion defines the versioned schema of this representation of an object.',
        type: 'string',
      },
      kind: {
        description: 'Kind is a string value representing the REST resource this object represents.',
        type: 'string',
      },
      // The API server forbids anything but `type` on metadata (and restrictions of name and
      // generateName); the name rules are CEL at the root instead, for readable messages.
      metadata: {
        type: 'object',
      },
      spec: jsonSchemaOf(AIModelSpecSchema),
      status: jsonSchemaOf(AIModelStatusSchema),
    },
    [VALIDATIONS_KEY]: ROOT_VALIDATIONS,
  });
}

export type CustomResourceDefinition = {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string };
  spec: JsonSchema;
};

/** The AIModel CRD; a pure function of the zod schema. */
export function aimodelCRD(): CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${PLURAL}.${GROUP}` },
    spec: {
      group: GROUP,
      names: {
        kind: KIND,
        listKind: LIST_KIND,
        plural: PLURAL,
        singular: SINGULAR,
        shortNames: [...SHORT_NAMES],
        categories: [...CATEGORIES],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: aimodelOpenAPISchema() },
          subresources: {
            status: {},
            scale: {
              specReplicasPath: '.spec.replicas',
              statusReplicasPath: '.status.replicas',
              labelSelectorPath: '.status.selector',
            },
          },
          additionalPrinterColumns: [
            { name: 'Model', type: 'string', jsonPath: '.spec.model', description: 'The served model.' },
            { name: 'Engine', type: 'string', jsonPath: '.spec.engine', description: 'The inference engine.' },
            { name: 'Desired', type: 'integer', jsonPath: '.status.desiredReplicas', description: 'Pods wanted now.' },
            { name: 'Ready', type: 'integer', jsonPath: '.status.readyReplicas', description: 'Pods ready to serve.' },
            { name: 'Status', type: 'string', jsonPath: '.status.phase', description: 'Summary phase.' },
            // The Ready condition's reason names the root cause (InsufficientGPU, ImagePullFailed, ...).
            { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason', description: 'Why the model is or is not Ready.' },
            { name: 'Endpoint', type: 'string', jsonPath: '.status.endpoint', description: 'In-cluster URL.', priority: 0 },
            { name: 'Min', type: 'integer', jsonPath: '.spec.autoscaling.minReplicas', description: 'Autoscaling floor.', priority: 1 },
            { name: 'Max', type: 'integer', jsonPath: '.spec.autoscaling.maxReplicas', description: 'Autoscaling ceiling.', priority: 1 },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
        },
      ],
    },
  };
}

export const CRD_FILE = 'crds/ai.openai.com_aimodels.yaml';

const HEADER = '# Generated by hack/generate.ts from src/api/v1/aimodel.ts (npm run generate). Do not edit.\n';

/** The CRD as committed in CRD_FILE. */
export function renderCRDYaml(): string {
  return HEADER + dump(aimodelCRD(), { lineWidth: -1, noRefs: true });
}
