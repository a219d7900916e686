// Kubernetes string formats, mirrored from k8s.io/apimachinery/pkg/util/validation and
// k8s.io/apimachinery/pkg/api/resource. The CRD carries the patterns (Go RE2 and JavaScript agree
// on this subset: no lookaround, no backreferences) and parseAIModel checks the same rules, so a
// value the schema accepts never makes the API server reject a child object.

const DNS1123_LABEL_BODY = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN_BODY = `${DNS1123_LABEL_BODY}(\\.${DNS1123_LABEL_BODY})*`;
const LABEL_NAME_BODY = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';

export const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
export const DNS1035_LABEL_MAX_LENGTH = 63;
export const DNS1123_LABEL = new RegExp(`^${DNS1123_LABEL_BODY}$`);
export const DNS1123_SUBDOMAIN = new RegExp(`^${DNS1123_SUBDOMAIN_BODY}$`);
export const DNS1123_SUBDOMAIN_MAX_LENGTH = 253;

/** A label value: empty, or up to 63 alphanumerics with '-', '_' and '.' inside. */
export const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
export const LABEL_VALUE_MAX_LENGTH = 63;
/** A qualified name (label and annotation keys, toleration keys): `[prefix/]name`. */
export const QUALIFIED_NAME = new RegExp(`^(${DNS1123_SUBDOMAIN_BODY}/)?${LABEL_NAME_BODY}$`);
export const QUALIFIED_NAME_MAX_LENGTH = DNS1123_SUBDOMAIN_MAX_LENGTH + 1 + 63;

/** Non-negative resource.Quantity in its canonical string grammar (no sign accepted). */
export const QUANTITY =
  /^(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$/;

/** Environment variable names as accepted before the 1.34 relaxation, which every server accepts. */
export const ENV_VAR_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/** metav1.Condition type and reason formats (apimachinery/pkg/apis/meta/v1/types.go). */
export const CONDITION_TYPE = new RegExp(`^(${DNS1123_SUBDOMAIN_BODY}/)?${LABEL_NAME_BODY}$`);
export const CONDITION_REASON = /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/;

export function isDns1035Label(value: string): boolean {
  return value.length <= DNS1035_LABEL_MAX_LENGTH && DNS1035_LABEL.test(value);
}

export function isDns1123Subdomain(value: string): boolean {
  return value.length <= DNS1123_SUBDOMAIN_MAX_LENGTH && DNS1123_SUBDOMAIN.test(value);
}

export function isLabelValue(value: string): boolean {
  return value.length <= LABEL_VALUE_MAX_LENGTH && LABEL_VALUE.test(value);
}

/** Label keys and annotation keys share this rule: name part <= 63, prefix a DNS-1123 subdomain. */
export function isQualifiedName(value: string): boolean {
  if (!QUALIFIED_NAME.test(value)) return false;
  const slash = value.lastIndexOf('/');
  const prefix = slash === -1 ? '' : value.slice(0, slash);
  const name = slash === -1 ? value : value.slice(slash + 1);
  return name.length <= 63 && prefix.length <= DNS1123_SUBDOMAIN_MAX_LENGTH;
}

const SUFFIX_MULTIPLIER: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/**
 * The numeric value of a quantity as a float, or undefined when it is not a quantity. Precise
 * enough to compare requests with limits and to tell whole numbers apart; never used to
 * re-serialise a quantity, which is always passed through as the user wrote it.
 */
export function quantityValue(quantity: number | string): number | undefined {
  if (typeof quantity === 'number') return Number.isFinite(quantity) ? quantity : undefined;
  if (!QUANTITY.test(quantity)) return undefined;
  const match = /^([0-9.]+)(.*)$/.exec(quantity);
  if (!match) return undefined;
  const mantissa = Number(match[1]);
  const suffix = match[2] ?? '';
  const multiplier = SUFFIX_MULTIPLIER[suffix];
  const value = multiplier === undefined ? Number(`${match[1]}${suffix}`) : mantissa * multiplier;
  return Number.isFinite(value) ? value : undefined;
}
