/**
 * The node catalogue: a serialisable description of every node type, produced by the engine
 * (`steer nodes --json`, protocol `catalogue`) and read by the renderer to draw nodes and widgets.
 */
import type { SocketType } from './sockets.ts';

export type ParamKind = 'int' | 'float' | 'string' | 'boolean' | 'enum' | 'seed' | 'path' | 'json';

export interface ParamUi {
  kind: ParamKind;
  label: string;
  description?: string;
  default: unknown;
  min?: number;
  max?: number;
  step?: number;
  choices?: readonly string[];
  /** Widget the editor should draw: number, slider, text, textarea, toggle, select, seed, file, json. */
  widget: string;
  /** For seed params: the editor may offer "randomize"; the value used is always reported. */
  optional?: boolean;
}

export interface SocketSpec {
  id: string;
  label: string;
  type: SocketType;
  optional?: boolean;
  description?: string;
}

export interface NodeTypeInfo {
  type: string;
  version: number;
  title: string;
  category: string;
  description: string;
  inputs: SocketSpec[];
  outputs: SocketSpec[];
  params: Record<string, ParamUi>;
  deterministic: boolean;
}

export interface Catalogue {
  nodes: NodeTypeInfo[];
  sockets: Record<string, { color: string; description: string }>;
}
