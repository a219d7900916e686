import { z } from 'zod';

/**
 * One validation rule written twice: as CEL for the API server (`x-kubernetes-validations`) and as
 * TypeScript for parseAIModel, which must catch the same mistakes in objects that never went
 * through admission (stored under an older CRD, or applied while the CRD was being replaced).
 * Keeping both halves in one literal is what stops them from drifting apart.
 */
export type CelRule<T> = {
  rule: string;
  /** Shown to the user by kubectl; it names the fields involved, with their full spec path. */
  message: string;
  /** JSONPath, relative to the node, that the API server reports the error at. */
  fieldPath?: string;
  holds: (self: T) => boolean;
};

/** The part of a rule that goes into the CRD. */
export type CelValidation = { rule: string; message: string; fieldPath?: string };

export const VALIDATIONS_KEY = 'x-kubernetes-validations';

/** Attaches rules to a schema: zod checks them at parse time, and the CRD generator emits the CEL. */
export function withRules<S extends z.ZodType>(schema: S, rules: readonly CelRule<z.output<S>>[]): S {
  const checked = schema.superRefine((value, ctx) => {
    for (const rule of rules) {
      if (!rule.holds(value)) {
        ctx.addIssue({ code: 'custom', message: rule.message, path: pathOfFieldPath(rule.fieldPath), input: value });
      }
    }
  });
  // Metadata is inherited from the schema this one was derived from, key by key: concatenate, or
  // rules added to a derived schema would hide the ones of its base.
  const inherited = (schema.meta()?.[VALIDATIONS_KEY] ?? []) as CelValidation[];
  const added: CelValidation[] = rules.map(({ rule, message, fieldPath }) =>
    fieldPath === undefined ? { rule, message } : { rule, message, fieldPath },
  );
  return checked.meta({ [VALIDATIONS_KEY]: [...inherited, ...added] });
}

/** `.autoscaling.minReplicas` → ['autoscaling', 'minReplicas']; the rules only use dotted paths. */
function pathOfFieldPath(fieldPath: string | undefined): string[] {
  if (fieldPath === undefined) return [];
  return fieldPath.split('.').filter((segment) => segment !== '');
}
