import { crc32, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Canvas, encodePng } from './png.ts';

/** The chunks of a PNG, each with its CRC checked against the type and data. */
function chunks(png: Buffer): { type: string; data: Buffer; crcOk: boolean }[] {
  const out: { type: string; data: Buffer; crcOk: boolean }[] = [];
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + length);
    out.push({ type, data, crcOk: png.readUInt32BE(at + 8 + length) === crc32(png.subarray(at + 4, at + 8 + length)) });
    at += 12 + length;
  }
  return out;
}

describe('encodePng', () => {
  it('writes a signature, IHDR, IDAT and IEND with valid CRCs, and the pixels decode back unchanged', () => {
    const width = 7;
    const height = 3;
    const rgba = new Uint8Array(width * height * 4).map((_, i) => (i * 37) % 256);
    const png = encodePng(width, height, rgba);
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const cs = chunks(png);
    expect(cs.map((c) => c.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
    expect(cs.every((c) => c.crcOk)).toBe(true);
    const ihdr = cs[0]!.data;
    expect([ihdr.readUInt32BE(0), ihdr.readUInt32BE(4), ihdr[8], ihdr[9], ihdr[10], ihdr[11], ihdr[12]]).toEqual([width, height, 8, 6, 0, 0, 0]);
    const raw = inflateSync(cs[1]!.data);
    expect(raw.length).toBe((width * 4 + 1) * height);
    const decoded = new Uint8Array(width * height * 4);
    for (let y = 0; y < height; y++) {
      expect(raw[y * (width * 4 + 1)]).toBe(0);
      decoded.set(raw.subarray(y * (width * 4 + 1) + 1, (y + 1) * (width * 4 + 1)), y * width * 4);
    }
    expect(decoded).toEqual(rgba);
  });

  it('detects a corrupted chunk by its CRC', () => {
    const png = encodePng(2, 2, new Uint8Array(16).fill(200));
    png[16] = png[16]! ^ 1; // a byte of IHDR's width
    expect(chunks(png)[0]!.crcOk).toBe(false);
  });

  it('refuses a buffer of the wrong size', () => {
    expect(() => encodePng(2, 2, new Uint8Array(15))).toThrow(/expected 16 bytes/);
  });
});

describe('Canvas', () => {
  it('draws text and lines into its pixels', () => {
    const c = new Canvas(40, 20);
    c.line(0, 19, 39, 19, [255, 0, 0]);
    c.text(0, 0, '1', [0, 0, 0], 1);
    const at = (x: number, y: number) => [...c.rgba.subarray((y * 40 + x) * 4, (y * 40 + x) * 4 + 4)];
    expect(at(20, 19)).toEqual([255, 0, 0, 255]);
    expect(at(2, 0)).toEqual([0, 0, 0, 255]); // the top of '1'
    expect(at(0, 0)).toEqual([255, 255, 255, 255]);
  });
});
