import { describe, expect, it } from 'vitest';
import type { NodeContext } from '../../src/nodes/api.ts';
import promptParse from '../../src/nodes/prompt-parse.ts';
import type { Preview } from '../../src/shared/events.ts';
import type { ParsedPrompt } from '../../src/shared/prompt.ts';

function fakeContext() {
  const previews: Preview[] = [];
  const warnings: string[] = [];
  const ctx: NodeContext = {
    nodeId: 'parse1',
    signal: new AbortController().signal,
    progress: () => {},
    preview: (p) => void previews.push(p),
    log: { info: () => {}, warn: (m) => void warnings.push(m), error: () => {} },
    cacheDir: () => Promise.reject(new Error('not used')),
    outputDir: () => Promise.reject(new Error('not used')),
    baseDir: '.',
    graph: {},
  };
  return { ctx, previews, warnings };
}

async function run(inputs: Record<string, unknown>, params: Record<string, unknown>) {
  const f = fakeContext();
  const out = (await promptParse.execute(f.ctx, inputs, params)) as { prompt: ParsedPrompt };
  return { ...f, prompt: out.prompt };
}

describe('prompt.parse node', () => {
  it('declares its sockets and params', () => {
    expect(promptParse).toMatchObject({ type: 'prompt.parse', version: 1, title: 'Prompt Parse', category: 'Prompt' });
    expect(promptParse.inputs).toEqual([
      { id: 'text', label: 'Text', type: 'STRING', optional: true, description: 'Overrides the text param when connected' },
    ]);
    expect(promptParse.outputs).toEqual([{ id: 'prompt', label: 'Prompt', type: 'PROMPT' }]);
    const text = promptParse.params['text']!;
    expect(text.ui).toMatchObject({ kind: 'string', widget: 'textarea', default: 'a photo of a dog to the right of a teddy bear' });
    expect(text.schema.safeParse('a cat').success).toBe(true);
  });

  it('parses the text param, previews the relations table, returns the prompt', async () => {
    const { prompt, previews, warnings } = await run({}, { text: 'a photo of a dog to the right of a teddy bear' });
    expect(prompt.objects.map((o) => o.text)).toEqual(['dog', 'teddy bear']);
    expect(previews).toEqual([
      {
        kind: 'table',
        label: 'Relations',
        columns: ['subject', 'relation', 'object', 'directional'],
        rows: [['dog', 'right', 'teddy bear', true]],
      },
    ]);
    expect(warnings).toEqual([]);
  });

  it('the connected text input overrides the param', async () => {
    const { prompt, previews } = await run({ text: 'a cat next to a bird' }, { text: 'a dog above a cat' });
    expect(prompt.text).toBe('a cat next to a bird');
    expect((previews[0] as Extract<Preview, { kind: 'table' }>).rows).toEqual([['cat', 'near', 'bird', false]]);
  });

  it('logs every warning', async () => {
    const { prompt, warnings, previews } = await run({ text: undefined }, { text: 'left of a dog' });
    expect(warnings).toEqual(prompt.warnings);
    expect(warnings[0]).toMatch(/^relation "left of" at characters 0-7 has no subject before it/);
    expect((previews[0] as Extract<Preview, { kind: 'table' }>).rows).toEqual([]);
  });
});
