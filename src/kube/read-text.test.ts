import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readText } from './client.ts';

async function* chunks(bytes: Uint8Array, cuts: number[]): AsyncGenerator<Uint8Array> {
  let start = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    yield bytes.subarray(start, cut);
    start = cut;
  }
  yield bytes.subarray(start);
}

describe('readText', () => {
  it('decodes a body however its bytes are split, multi-byte characters included', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme' }), fc.array(fc.nat()), async (text, rawCuts) => {
        const bytes = new TextEncoder().encode(text);
        const cuts = rawCuts.map((c) => c % (bytes.length + 1));
        expect(await readText(chunks(bytes, cuts))).toBe(text);
      }),
    );
  });

  it('gives an empty string for an empty body', async () => {
    expect(await readText(chunks(new Uint8Array(0), []))).toBe('');
  });
});
