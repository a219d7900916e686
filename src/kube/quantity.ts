// Kubernetes resource quantities ("500m", "16Gi", "1e3"): the schema validates them and the
// change detection compares them by value, so both read them through this one parser.

/** Non-negative resource.Quantity in its canonical string grammar (no sign accepted). */
export const QUANTITY =
  /^(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$/;

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
