/**
 * Character offsets for tokenizers.js, which returns ids and tokens but no offsets.
 *
 * We re-walk the tokenizer's own pipeline, keeping track of where every piece came from:
 *
 * 1. Added tokens ("<bos>", "<|endoftext|>") typed in the text are split off first, as
 *    tokenizers.js does (unnormalised contents in the original text, normalised contents
 *    in the normalised text).
 * 2. Normalisation with an alignment map: the text is cut into clusters (a code point and
 *    its combining marks); each cluster is normalised on its own with the tokenizer's own
 *    normalizer and the pieces are laid onto the normalised whole text left to right. A
 *    whitespace piece that the whole-text normalisation collapsed or stripped (CLIP's
 *    `\s+` -> " ", Strip) maps to nothing. Lowercase, NFC/NFKC, whitespace replacement and
 *    stripping align exactly; a normalizer that cannot be aligned this way (one that
 *    rewrites across clusters) makes the offsets unavailable, never wrong.
 * 3. Pre-tokens: the tokenizer's pre-tokenizer runs on the normalised section; each
 *    pre-token is decoded back to normalised characters (byte-level: bytes -> UTF-8;
 *    Metaspace: "▁" -> " ") and found left to right in the normalised text. Pre-tokenizers
 *    only drop text (whitespace), never reorder it, so the search is exact.
 * 4. Model tokens: the model runs on one pre-token at a time (models encode pre-tokens
 *    independently), so every token belongs to a known pre-token. Inside it, tokens are
 *    laid left to right by their surface (end-of-word suffix "</w>" and WordPiece "##"
 *    removed; byte-level tokens count bytes). Unknown tokens (<unk>, byte fallback) fill
 *    the gap up to the next known token: exact for one <unk> (the word-level and
 *    WordPiece case), one code point each when the gap has as many code points as there
 *    are unknown tokens (BPE), else all share the gap.
 * 5. The tokens found this way must equal tokenizers.js's own `tokenize(text)`; if they do
 *    not, the offsets are reported unavailable ([0, 0] and a warning) rather than guessed.
 */
import type { Tokenizer } from '@huggingface/tokenizers';

export type Offset = [number, number];

export interface ContentTokens {
  /** Tokens as the model produced them, without special tokens added by post-processing. */
  tokens: string[];
  /** [start, end) in the original text, one per token. */
  offsets: Offset[];
}

interface AddedTokenLike {
  content: string;
  normalized: boolean;
  lstrip: boolean;
  rstrip: boolean;
}

/** The parts of a tokenizer.json the offset walk needs to know about. */
export interface PipelineInfo {
  byteLevel: boolean;
  metaspace?: { replacement: string };
  modelType: string;
  /** WordPiece continuing-subword prefix ("##"). */
  wordpiecePrefix?: string;
  /** BPE end-of-word suffix ("</w>"). */
  endOfWordSuffix?: string;
  /** BPE continuing-subword suffix. */
  continuingSubwordSuffix?: string;
  unkToken?: string;
  addedTokens: AddedTokenLike[];
}

/** Walks a tokenizer.json's pre_tokenizer for the types that change how pre-tokens map to text. */
export function pipelineInfo(json: Record<string, any>): PipelineInfo {
  const types: Record<string, any>[] = [];
  const walk = (node: any): void => {
    if (!node || typeof node !== 'object') return;
    types.push(node);
    for (const child of node.pretokenizers ?? []) walk(child);
  };
  walk(json.pre_tokenizer);
  const meta = types.find((t) => t.type === 'Metaspace');
  const model = json.model ?? {};
  const modelType: string = typeof model.type === 'string' ? model.type : 'unknown';
  const addedTokens = (Array.isArray(json.added_tokens) ? json.added_tokens : []).map((t: any) => ({
    content: String(t.content),
    normalized: t.normalized === true,
    lstrip: t.lstrip === true,
    rstrip: t.rstrip === true,
  }));
  return {
    byteLevel: types.some((t) => t.type === 'ByteLevel'),
    ...(meta ? { metaspace: { replacement: typeof meta.replacement === 'string' ? meta.replacement : '\u2581' } } : {}),
    modelType,
    ...(modelType === 'WordPiece' ? { wordpiecePrefix: typeof model.continuing_subword_prefix === 'string' ? model.continuing_subword_prefix : '##' } : {}),
    ...(typeof model.end_of_word_suffix === 'string' && model.end_of_word_suffix !== '' ? { endOfWordSuffix: model.end_of_word_suffix } : {}),
    ...(typeof model.continuing_subword_suffix === 'string' && model.continuing_subword_suffix !== '' ? { continuingSubwordSuffix: model.continuing_subword_suffix } : {}),
    ...(typeof model.unk_token === 'string' ? { unkToken: model.unk_token } : {}),
    addedTokens,
  };
}

// ---------------------------------------------------------------------------------------
// Byte-level alphabet (the GPT-2 / CLIP byte <-> unicode table, a fact of the format)

let byteDecoder: Map<string, number> | undefined;
function bytesOfByteLevel(chars: string): number[] | undefined {
  if (!byteDecoder) {
    byteDecoder = new Map();
    let extra = 0;
    for (let b = 0; b < 256; b++) {
      const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
      byteDecoder.set(String.fromCharCode(printable ? b : 256 + extra++), b);
    }
  }
  const out: number[] = [];
  for (const ch of chars) {
    const b = byteDecoder.get(ch);
    if (b === undefined) return undefined;
    out.push(b);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Normalisation with an alignment map

interface Aligned {
  text: string;
  /** For each UTF-16 unit of `text`: [from, to) in the original string. */
  from: number[];
  to: number[];
}

function alignNormalization(original: string, normalize: ((s: string) => string) | null): Aligned | undefined {
  if (normalize === null) {
    return { text: original, from: Array.from(original, (_, i) => i), to: Array.from(original, (_, i) => i + 1) };
  }
  const whole = normalize(original);
  const from: number[] = [];
  const to: number[] = [];
  let j = 0;
  for (const m of original.matchAll(/\P{M}\p{M}*|\p{M}+/gu)) {
    const a = m.index;
    const b = a + m[0].length;
    const piece = normalize(m[0]);
    if (piece === '') continue;
    if (whole.startsWith(piece, j)) {
      for (let k = 0; k < piece.length; k++) {
        from.push(a);
        to.push(b);
      }
      j += piece.length;
    } else if (/^\s+$/u.test(piece) && (j === 0 || j === whole.length || /\s/u.test(whole[j - 1]!))) {
      continue; // collapsed or stripped whitespace
    } else {
      return undefined;
    }
  }
  return j === whole.length ? { text: whole, from, to } : undefined;
}

// ---------------------------------------------------------------------------------------
// Splitting on added tokens

interface Section {
  text: string;
  /** Offset of `text` in the string it was cut from. */
  base: number;
  added: boolean;
}

function splitOnAdded(text: string, contents: readonly string[], all: readonly AddedTokenLike[]): Section[] {
  const sorted = [...new Set(contents)].filter((c) => c.length > 0).sort((a, b) => b.length - a.length);
  const sections: Section[] = [];
  let last = 0;
  let i = 0;
  while (i < text.length && sorted.length > 0) {
    const hit = sorted.find((c) => text.startsWith(c, i));
    if (hit === undefined) {
      i++;
      continue;
    }
    if (i > last) sections.push({ text: text.slice(last, i), base: last, added: false });
    sections.push({ text: hit, base: i, added: true });
    i += hit.length;
    last = i;
  }
  if (last < text.length) sections.push({ text: text.slice(last), base: last, added: false });
  // lstrip / rstrip remove whitespace from the neighbouring sections.
  sections.forEach((s, k) => {
    if (!s.added) return;
    const t = all.find((x) => x.content === s.text);
    const prev = sections[k - 1];
    const next = sections[k + 1];
    if (t?.lstrip && prev && !prev.added) prev.text = prev.text.trimEnd();
    if (t?.rstrip && next && !next.added) {
      const trimmed = next.text.trimStart();
      next.base += next.text.length - trimmed.length;
      next.text = trimmed;
    }
  });
  return sections;
}

// ---------------------------------------------------------------------------------------
// Pre-tokens and model tokens

interface UnitSpan {
  /** [start, end) in the normalised section text, or undefined for a character the pre-tokenizer added. */
  s?: number;
  e?: number;
}

/** Per raw unit of a pre-token, where it sits in the decoded pre-token (relative). */
function preTokenUnits(raw: string, info: PipelineInfo): { decoded: string; units: UnitSpan[] } | undefined {
  if (info.byteLevel) {
    const bytes = bytesOfByteLevel(raw);
    if (!bytes) return undefined;
    let decoded: string;
    try {
      decoded = new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(bytes));
    } catch {
      return undefined;
    }
    const units: UnitSpan[] = [];
    let at = 0;
    for (const ch of decoded) {
      const n = new TextEncoder().encode(ch).length;
      for (let k = 0; k < n; k++) units.push({ s: at, e: at + ch.length });
      at += ch.length;
    }
    return { decoded, units };
  }
  const decoded = info.metaspace ? raw.split(info.metaspace.replacement).join(' ') : raw;
  return { decoded, units: Array.from(raw, (_, i) => ({ s: i, e: i + 1 })) };
}

/** Lays a pre-token's model tokens onto its raw units. Returns [u0, u1) per token, or undefined. */
function layTokens(raw: string, tokens: readonly string[], info: PipelineInfo): Offset[] | undefined {
  const surface = (t: string, k: number): string | undefined => {
    if (t === info.unkToken || /^<0x[0-9A-Fa-f]{2}>$/u.test(t)) return undefined;
    let s = t;
    if (info.endOfWordSuffix && s.endsWith(info.endOfWordSuffix) && s !== info.endOfWordSuffix) s = s.slice(0, -info.endOfWordSuffix.length);
    if (info.continuingSubwordSuffix && s.endsWith(info.continuingSubwordSuffix) && s !== info.continuingSubwordSuffix) {
      s = s.slice(0, -info.continuingSubwordSuffix.length);
    }
    if (info.wordpiecePrefix && k > 0 && s.startsWith(info.wordpiecePrefix) && s !== info.wordpiecePrefix) s = s.slice(info.wordpiecePrefix.length);
    return s;
  };
  const out: Offset[] = [];
  let u = 0;
  let pending: number[] = [];
  const fill = (end: number): void => {
    if (pending.length === 0) return;
    const gap = raw.slice(u, end);
    const points = [...gap];
    if (points.length === pending.length) {
      let at = u;
      pending.forEach((k, n) => {
        out[k] = [at, at + points[n]!.length];
        at += points[n]!.length;
      });
    } else {
      for (const k of pending) out[k] = [u, end];
    }
    pending = [];
    u = end;
  };
  for (let k = 0; k < tokens.length; k++) {
    const s = surface(tokens[k]!, k);
    if (s === undefined) {
      pending.push(k);
      continue;
    }
    let p = u;
    if (pending.length > 0) {
      p = raw.indexOf(s, u + 1);
      if (p < 0) return undefined;
      fill(p);
    } else if (!raw.startsWith(s, u)) {
      return undefined;
    }
    out[k] = [p, p + s.length];
    u = p + s.length;
  }
  fill(raw.length);
  return u === raw.length ? out : undefined;
}

/**
 * The content tokens of `text` with character offsets into `text`, or undefined where the
 * tokenizer's pipeline cannot be re-walked exactly (see the file comment).
 */
export function contentTokenOffsets(tok: Tokenizer, info: PipelineInfo, text: string): ContentTokens | undefined {
  const normalize = tok.normalizer ? (s: string): string => tok.normalizer!(s) : null;
  const unnormalized = info.addedTokens.filter((t) => !t.normalized || normalize === null);
  const normalizedAdded = normalize === null ? [] : info.addedTokens.filter((t) => t.normalized).map((t) => normalize(t.content));
  const tokens: string[] = [];
  const offsets: Offset[] = [];

  const sections = splitOnAdded(text, unnormalized.map((t) => t.content), info.addedTokens);
  for (const [sectionIndex, section] of sections.entries()) {
    if (section.text.length === 0) continue;
    if (section.added) {
      tokens.push(section.text);
      offsets.push([section.base, section.base + section.text.length]);
      continue;
    }
    const aligned = alignNormalization(section.text, normalize);
    if (!aligned) return undefined;
    const toOriginal = (s: number, e: number): Offset => {
      if (e <= s) {
        const at = s < aligned.from.length ? aligned.from[s]! : section.text.length;
        return [section.base + at, section.base + at];
      }
      return [section.base + aligned.from[s]!, section.base + aligned.to[e - 1]!];
    };
    for (const sub of splitOnAdded(aligned.text, normalizedAdded, [])) {
      if (sub.text.length === 0) continue;
      if (sub.added) {
        const t = info.addedTokens.find((x) => x.normalized && normalize!(x.content) === sub.text);
        tokens.push(t ? t.content : sub.text);
        offsets.push(toOriginal(sub.base, sub.base + sub.text.length));
        continue;
      }
      const pre = tok.pre_tokenizer ? tok.pre_tokenizer.pre_tokenize(sub.text, { section_index: sectionIndex }) : [sub.text];
      let cursor = 0;
      for (const raw of pre) {
        const located = preTokenUnits(raw, info);
        if (!located) return undefined;
        let { decoded } = located;
        const units = located.units.map((x) => ({ ...x }));
        let pos = sub.text.indexOf(decoded, cursor);
        if (pos < 0 && decoded.startsWith(' ')) {
          // A prefix space the pre-tokenizer added (Metaspace, ByteLevel add_prefix_space).
          decoded = decoded.slice(1);
          pos = sub.text.indexOf(decoded, cursor);
          // The added space is one raw unit (one byte, or one "▁").
          for (let k = 0; k < units.length; k++) {
            if (k === 0) units[k] = {};
            else units[k] = { s: units[k]!.s! - 1, e: units[k]!.e! - 1 };
          }
        }
        if (pos < 0) return undefined;
        cursor = pos + decoded.length;
        const pieces = tok.model!([raw]);
        const laid = layTokens(raw, pieces, info);
        if (!laid) return undefined;
        pieces.forEach((piece, k) => {
          const [u0, u1] = laid[k]!;
          let s = Infinity;
          let e = -Infinity;
          for (let u = u0; u < u1; u++) {
            const span = units[u];
            if (span?.s === undefined) continue;
            s = Math.min(s, span.s);
            e = Math.max(e, span.e!);
          }
          tokens.push(piece);
          offsets.push(s === Infinity ? toOriginal(sub.base + pos, sub.base + pos) : toOriginal(sub.base + pos + s, sub.base + pos + e));
        });
      }
    }
  }
  return { tokens, offsets };
}
