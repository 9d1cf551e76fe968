/**
 * A registry of node definitions: lookup by type id, and the serialisable catalogue that the
 * renderer and `steer nodes --json` read. Tests build registries of their own node types.
 */
import type { AnyNodeDefinition } from '../../nodes/api.ts';
import type { Catalogue, NodeTypeInfo, ParamUi } from '../../shared/catalogue.ts';
import { PARAM_INPUT_PREFIX, SOCKET_TYPES } from '../../shared/sockets.ts';

export class NodeRegistry {
  private readonly byType = new Map<string, AnyNodeDefinition>();

  constructor(definitions: Iterable<AnyNodeDefinition>) {
    for (const def of definitions) {
      if (this.byType.has(def.type)) throw new Error(`node type "${def.type}" is registered twice`);
      checkDefinition(def);
      this.byType.set(def.type, def);
    }
  }

  get(type: string): AnyNodeDefinition | undefined {
    return this.byType.get(type);
  }

  types(): string[] {
    return [...this.byType.keys()];
  }

  definitions(): AnyNodeDefinition[] {
    return [...this.byType.values()];
  }

  catalogue(): Catalogue {
    return {
      nodes: this.definitions().map(describe),
      sockets: Object.fromEntries(Object.entries(SOCKET_TYPES).map(([k, v]) => [k, { ...v }])),
    };
  }
}

function describe(def: AnyNodeDefinition): NodeTypeInfo {
  return {
    type: def.type,
    version: def.version,
    title: def.title,
    category: def.category,
    description: def.description,
    inputs: def.inputs.map((s) => ({ ...s })),
    outputs: def.outputs.map((s) => ({ ...s })),
    params: Object.fromEntries(Object.entries(def.params).map(([k, p]) => [k, { ...p.ui } as ParamUi])),
    // per-params determinism (e.g. a randomize switch) shows as not deterministic in the catalogue
    deterministic: def.deterministic === undefined || def.deterministic === true,
  };
}

/** Catch authoring mistakes in node files at start-up, with the node type in the message. */
function checkDefinition(def: AnyNodeDefinition): void {
  const where = `node type "${def.type}"`;
  if (!/^[a-z][a-z0-9-]*(\.[a-z0-9-]+)+$/.test(def.type)) throw new Error(`${where}: type ids look like "category.name"`);
  if (!Number.isInteger(def.version) || def.version < 1) throw new Error(`${where}: version must be a positive integer`);
  for (const [kind, sockets] of [['input', def.inputs], ['output', def.outputs]] as const) {
    const seen = new Set<string>();
    for (const s of sockets) {
      if (seen.has(s.id)) throw new Error(`${where}: ${kind} id "${s.id}" is declared twice`);
      if (s.id.startsWith(PARAM_INPUT_PREFIX)) throw new Error(`${where}: ${kind} id "${s.id}" starts with "${PARAM_INPUT_PREFIX}", which names params fed by edges`);
      if (!(s.type in SOCKET_TYPES)) throw new Error(`${where}: ${kind} "${s.id}" has unknown socket type "${s.type}"`);
      seen.add(s.id);
    }
  }
  for (const [name, p] of Object.entries(def.params)) {
    const r = p.schema.safeParse(p.ui.default);
    if (!r.success) throw new Error(`${where}: the default of param "${name}" does not pass its own schema`);
  }
}
