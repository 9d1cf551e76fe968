import { describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import {
  PngFormatError,
  addPngText,
  crc32,
  createImage,
  decodePng,
  encodePng,
  fromCHW,
  readPngChunks,
  readPngText,
  toCHW,
} from '../../src/engine/image/index.ts';
import type { ImageRGB } from '../../src/engine/image/index.ts';

function randomImage(w: number, h: number, seed = 1): ImageRGB {
  const img = createImage(w, h);
  let s = seed;
  for (let i = 0; i < img.data.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    img.data[i] = s >>> 24;
  }
  return img;
}

describe('ImageRGB tensors', () => {
  it('maps 0 and 255 to the ends of each range and round-trips', () => {
    const img = createImage(2, 1, [0, 128, 255]);
    const a = toCHW(img, '-1..1');
    expect(a[0]).toBe(-1);
    expect(a[2]).toBeCloseTo(128 / 127.5 - 1, 6);
    expect(a[4]).toBe(1);
    const b = toCHW(img, '0..1');
    expect(b[4]).toBe(1);
    const r = randomImage(7, 5);
    expect(fromCHW(toCHW(r), 7, 5).data).toEqual(r.data);
    expect(fromCHW(toCHW(r, '0..1'), 7, 5, '0..1').data).toEqual(r.data);
  });

  it('clamps out-of-range floats and checks sizes', () => {
    const img = fromCHW(new Float32Array([-3, 3, 0]), 1, 1);
    expect(Array.from(img.data)).toEqual([0, 255, 128]);
    expect(() => fromCHW(new Float32Array(5), 1, 1)).toThrow(/expected 3\*1\*1/);
  });
});

describe('PNG pixels', () => {
  it('round-trips RGB pixels exactly', () => {
    const img = randomImage(33, 17, 7);
    const png = encodePng(img);
    const back = decodePng(png);
    expect(back.width).toBe(33);
    expect(back.height).toBe(17);
    expect(back.data).toEqual(img.data);
    // colour type 2 (RGB), 8 bits, in IHDR
    const ihdr = readPngChunks(png)[0]!;
    expect(ihdr.type).toBe('IHDR');
    expect(ihdr.data[8]).toBe(8);
    expect(ihdr.data[9]).toBe(2);
  });

  it('decodes a greyscale PNG written elsewhere into RGB', () => {
    const p = new PNG({ width: 2, height: 1 });
    p.data.set([10, 10, 10, 255, 200, 200, 200, 255]);
    const bytes = new Uint8Array(PNG.sync.write(p, { colorType: 0 }));
    expect(Array.from(decodePng(bytes).data)).toEqual([10, 10, 10, 200, 200, 200]);
  });
});

describe('PNG text chunks', () => {
  it('computes the standard CRC-32 check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it('writes tEXt for Latin-1 and reads it back, before IEND', () => {
    const json = JSON.stringify({ nodes: [{ id: 'a', label: 'café' }] });
    const png = encodePng(randomImage(4, 4), { text: { steer_graph: json, seed: '123' } });
    expect(readPngText(png)).toEqual({ steer_graph: json, seed: '123' });
    const types = readPngChunks(png).map((c) => c.type);
    expect(types[types.length - 1]).toBe('IEND');
    expect(types.filter((t) => t === 'tEXt')).toHaveLength(2);
    expect(types.indexOf('tEXt')).toBeGreaterThan(types.lastIndexOf('IDAT'));
    // pixels unaffected
    expect(decodePng(png).data).toEqual(randomImage(4, 4).data);
  });

  it('uses iTXt for UTF-8 (non-Latin-1) text, optionally compressed', () => {
    const json = JSON.stringify({ prompt: '猫 left of 🐶', note: 'Ωmega' });
    const plain = encodePng(createImage(2, 2), { text: { steer_graph: json } });
    expect(readPngChunks(plain).some((c) => c.type === 'iTXt')).toBe(true);
    expect(readPngText(plain).steer_graph).toBe(json);

    const big = JSON.stringify({ nodes: Array.from({ length: 200 }, (_, i) => ({ id: i, text: 'ünïcødé ✓' })) });
    const comp = encodePng(createImage(2, 2), { text: { steer_graph: big }, compressAbove: 100 });
    const chunk = readPngChunks(comp).find((c) => c.type === 'iTXt')!;
    expect(chunk.data.length).toBeLessThan(new TextEncoder().encode(big).length / 4);
    expect(readPngText(comp).steer_graph).toBe(big);

    const forced = encodePng(createImage(1, 1), { text: { a: 'plain' }, forceITXt: true });
    expect(readPngChunks(forced).map((c) => c.type)).toContain('iTXt');
    expect(readPngText(forced)).toEqual({ a: 'plain' });
  });

  it('adds text to an existing PNG and lets later chunks win', () => {
    const png = encodePng(createImage(1, 1), { text: { k: 'one' } });
    const more = addPngText(png, { text: { k: 'two', other: 'x' } });
    expect(readPngText(more)).toEqual({ k: 'two', other: 'x' });
  });

  it('rejects invalid keywords', () => {
    expect(() => encodePng(createImage(1, 1), { text: { '': 'x' } })).toThrow(/keyword/);
    expect(() => encodePng(createImage(1, 1), { text: { ' lead': 'x' } })).toThrow(/keyword/);
    expect(() => encodePng(createImage(1, 1), { text: { ['k'.repeat(80)]: 'x' } })).toThrow(/keyword/);
  });
});

describe('corrupt PNG files give clear errors', () => {
  const good = encodePng(randomImage(8, 8), { text: { seed: '42' } });

  it('bad signature', () => {
    const bad = good.slice();
    bad[1] = 0x51;
    expect(() => readPngText(bad)).toThrow(PngFormatError);
    expect(() => readPngText(bad)).toThrow(/bad signature/);
    expect(() => decodePng(new Uint8Array([1, 2, 3]))).toThrow(/shorter than the 8-byte PNG signature/);
  });

  it('CRC mismatch names the chunk and offset', () => {
    const chunks = readPngChunks(good);
    const t = chunks.find((c) => c.type === 'tEXt')!;
    const bad = good.slice();
    bad[t.offset + 8] = bad[t.offset + 8]! ^ 0xff; // first data byte of tEXt
    expect(() => readPngText(bad)).toThrow(new RegExp(`CRC mismatch in chunk 'tEXt' at byte ${t.offset}`));
    const idat = chunks.find((c) => c.type === 'IDAT')!;
    const bad2 = good.slice();
    bad2[idat.offset + 10] = bad2[idat.offset + 10]! ^ 0x01;
    expect(() => decodePng(bad2)).toThrow(/CRC mismatch in chunk 'IDAT'/);
  });

  it('truncation', () => {
    expect(() => readPngText(good.subarray(0, good.length - 12))).toThrow(/without an IEND chunk/);
    expect(() => decodePng(good.subarray(0, 50))).toThrow(/truncated PNG: chunk 'IDAT' .* declares/);
    expect(() => decodePng(good.subarray(0, 35))).toThrow(/truncated PNG/);
  });

  it('broken iTXt payload', () => {
    const bad = addPngText(encodePng(createImage(1, 1)), { text: { k: '✓'.repeat(50) }, compressAbove: 1 });
    const c = readPngChunks(bad).find((x) => x.type === 'iTXt')!;
    // Corrupt the zlib stream and fix the CRC so only the payload is wrong.
    const copy = bad.slice();
    const dataStart = c.offset + 8;
    copy[dataStart + 6] = copy[dataStart + 6]! ^ 0xff; // inside the deflate stream header area ('k',0,1,0,0,0, then zlib)
    const view = new DataView(copy.buffer);
    view.setUint32(dataStart + c.data.length, crc32(copy.subarray(c.offset + 4, dataStart + c.data.length)));
    expect(() => readPngText(copy)).toThrow(/iTXt chunk at byte \d+ \('k'\) has invalid zlib data/);
  });
});
