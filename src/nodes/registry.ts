/**
 * The node registry: every node type the product ships. Add a node by writing one file in
 * src/nodes/ and listing it here; the catalogue (`steer nodes --json`, the renderer's palette)
 * and validation are derived from these definitions.
 */
import type { AnyNodeDefinition } from './api.ts';

export const BUILTIN_NODES: readonly AnyNodeDefinition[] = [];
