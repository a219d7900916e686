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

export { QUANTITY, quantityValue } from '../../kube/quantity.ts';
