import { describe, expect, it } from 'vitest';
import { quantityValue } from './quantity.ts';

describe('quantityValue', () => {
  it.each([
    ['500m', 0.5],
    ['0.5', 0.5],
    ['2', 2],
    ['1Gi', 2 ** 30],
    ['1G', 1e9],
    ['128974848', 128974848],
    ['129e6', 129e6],
    ['1k', 1000],
  ])('%s = %d', (text, value) => expect(quantityValue(text)).toBeCloseTo(value));

  it.each(['abc', '1Xi', '', 'Always', '25%'])('%j is not a quantity', (text) => expect(quantityValue(text)).toBeUndefined());
});
