/** Model folders (diffusers ONNX layout), prompt tokenizers and token alignment. */
export * from './align.ts';
export * from './folder.ts';
export * from './tokenizer.ts';
export * from './wordlevel.ts';
