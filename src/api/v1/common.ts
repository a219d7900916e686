import { z } from 'zod';
import {
  DNS1123_LABEL,
  DNS1123_SUBDOMAIN,
  DNS1123_SUBDOMAIN_MAX_LENGTH,
  isQualifiedName,
  LABEL_VALUE,
  LABEL_VALUE_MAX_LENGTH,
  QUALIFIED_NAME,
  QUALIFIED_NAME_MAX_LENGTH,
  QUANTITY,
  quantityValue,
} from './formats.ts';
import { withRules } from './rules.ts';

export const INT_OR_STRING_KEY = 'x-kubernetes-int-or-string';
export const PRESERVE_UNKNOWN_KEY = 'x-kubernetes-preserve-unknown-fields';

/** Quantities above this are typos (an exbibyte of memory), and would lose precision as floats. */
const MAX_QUANTITY_VALUE = 1e18;

/** A non-negative resource quantity, written as an integer or a string such as `500m` or `16Gi`. */
export function quantity(description: string) {
  return z
    .union([z.int().min(0), z.string().min(1).max(64).regex(QUANTITY)], {
      error: 'must be a non-negative integer or a quantity such as 500m, 2, 16Gi',
    })
    .refine((value) => (quantityValue(value) ?? Infinity) <= MAX_QUANTITY_VALUE, {
      message: 'quantity is too large',
    })
    .meta({ description, [INT_OR_STRING_KEY]: true });
}

export type Quantity = z.output<ReturnType<typeof quantity>>;

const PERCENT_UP_TO_100 = /^(100|[1-9]?[0-9])%$/;
const PERCENT = /^(0|[1-9][0-9]{0,3})%$/;

/** An absolute count or a percentage string (`25%`), as Deployments and PDBs take them. */
export function countOrPercent(description: string, options: { percentAtMost100: boolean }) {
  return z
    .union([z.int().min(0).max(1_000_000), z.string().max(5).regex(options.percentAtMost100 ? PERCENT_UP_TO_100 : PERCENT)], {
      error: options.percentAtMost100
        ? 'must be a non-negative integer or a percentage between 0% and 100%'
        : 'must be a non-negative integer or a percentage such as 25%',
    })
    .meta({ description, [INT_OR_STRING_KEY]: true });
}

/** Whether an int-or-percent value means zero; the patterns rule out spellings such as `00%`. */
export function isZeroCountOrPercent(value: number | string): boolean {
  return value === 0 || value === '0%';
}

export function dns1123Subdomain(description: string) {
  return z.string().min(1).max(DNS1123_SUBDOMAIN_MAX_LENGTH).regex(DNS1123_SUBDOMAIN).describe(description);
}

export function dns1123Label(description: string) {
  return z.string().min(1).max(63).regex(DNS1123_LABEL).describe(description);
}

export function labelValue(description: string) {
  return z.string().max(LABEL_VALUE_MAX_LENGTH).regex(LABEL_VALUE).describe(description);
}

export function qualifiedName(description: string) {
  return z
    .string()
    .min(1)
    .max(QUALIFIED_NAME_MAX_LENGTH)
    .regex(QUALIFIED_NAME)
    .refine(isQualifiedName, { message: 'the name part after the optional prefix must be at most 63 characters' })
    .describe(description);
}

/**
 * A string-keyed map with a bound on its size. The CRD cannot constrain map keys (structural
 * schemas have no propertyNames, and CEL over keys of unbounded length is too costly), so keys
 * are checked here only, and the description says so.
 */
export function boundedMap<V extends z.ZodType>(
  key: z.ZodType<string>,
  value: V,
  options: { maxProperties: number; description: string },
) {
  return z
    .record(key, value)
    .refine((map) => Object.keys(map).length <= options.maxProperties, {
      message: `must have at most ${options.maxProperties} entries`,
    })
    .meta({ description: options.description, maxProperties: options.maxProperties });
}

export function labelMap(options: { maxProperties: number; description: string }) {
  return boundedMap(
    z.string().refine(isQualifiedName, { message: 'must be a valid label key: [prefix/]name' }),
    labelValue('A label value: at most 63 characters, alphanumerics with - _ . inside.'),
    options,
  );
}

export function annotationMap(options: { maxProperties: number; description: string }) {
  return boundedMap(
    z.string().refine(isQualifiedName, { message: 'must be a valid annotation key: [prefix/]name' }),
    z.string().max(4096).describe('An annotation value (at most 4096 characters).'),
    options,
  );
}

/** A schema-less object the API server keeps verbatim; used where typing the field buys little. */
export function preservedObject(description: string) {
  return z.record(z.string(), z.unknown()).meta({ description, [PRESERVE_UNKNOWN_KEY]: true });
}

const LabelSelectorRequirementSchema = withRules(
  z
    .object({
      key: qualifiedName('The label key the selector applies to.'),
      operator: z
        .enum(['In', 'NotIn', 'Exists', 'DoesNotExist'])
        .describe('How the key relates to the values: In, NotIn, Exists or DoesNotExist.'),
      values: z
        .array(labelValue('A label value.'))
        .max(32)
        .optional()
        .describe('Label values: non-empty for In and NotIn, empty or absent for Exists and DoesNotExist.'),
    })
    .describe('A label selector requirement: a key, an operator and values.'),
  [
    {
      rule: "self.operator in ['In', 'NotIn'] ? (has(self.values) && size(self.values) > 0) : (!has(self.values) || size(self.values) == 0)",
      message:
        'spec.autoscaling.metrics[] selector: matchExpressions[].values must be non-empty for In and NotIn, and empty for Exists and DoesNotExist',
      fieldPath: '.values',
      holds: (self) =>
        self.operator === 'In' || self.operator === 'NotIn'
          ? (self.values?.length ?? 0) > 0
          : (self.values?.length ?? 0) === 0,
    },
  ],
);

export const LabelSelectorSchema = z
  .object({
    matchLabels: labelMap({ maxProperties: 16, description: 'Labels that must all be present with these values.' }).optional(),
    matchExpressions: z
      .array(LabelSelectorRequirementSchema)
      .max(16)
      .optional()
      .describe('Requirements that must all hold.'),
  })
  .describe('A Kubernetes label selector (matchLabels and matchExpressions are ANDed).');
