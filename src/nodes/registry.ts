/**
 * The node registry: every node type the product ships. Add a node by writing one file in
 * src/nodes/ and listing it here; the catalogue (`steer nodes --json`, the renderer's palette)
 * and validation are derived from these definitions.
 */
import type { AnyNodeDefinition } from './api.ts';
import promptParse from './prompt-parse.ts';
import promptSave from './prompt-save.ts';
import text from './text.ts';

export const BUILTIN_NODES: readonly AnyNodeDefinition[] = [text, promptParse, promptSave];
