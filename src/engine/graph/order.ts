/**
 * Graph walks shared by validation and the executor: cycle search, ancestors, topological order.
 * All iterative (explicit stacks and a heap), so a 100,000-node chain costs time linear in its size
 * and never the call stack. Nodes are named by id; edges are [from, to] pairs.
 */

export type Edge = readonly [from: string, to: string];

/**
 * One cycle per group of nodes that form cycles (depth-first search; a back edge closes a cycle,
 * reported unless one of its nodes is already in a reported cycle). Each cycle lists its nodes in
 * edge order, starting at the node the search reached first.
 */
export function findCycles(ids: readonly string[], edges: readonly Edge[]): string[][] {
  const next = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const [from, to] of edges) next.get(from)?.push(to);
  const done = new Set<string>();
  const onPath = new Map<string, number>(); // id -> position in `path`
  const path: string[] = [];
  const cursor: number[] = []; // per path entry: the next child to look at
  const cycles: string[][] = [];
  const reported = new Set<string>();
  for (const root of ids) {
    if (done.has(root)) continue;
    onPath.set(root, 0);
    path.push(root);
    cursor.push(0);
    while (path.length > 0) {
      const top = path.length - 1;
      const id = path[top]!;
      const kids = next.get(id)!;
      const k = cursor[top]!++;
      if (k >= kids.length) {
        path.pop();
        cursor.pop();
        onPath.delete(id);
        done.add(id);
        continue;
      }
      const to = kids[k]!;
      const at = onPath.get(to);
      if (at !== undefined) {
        const cycle = path.slice(at);
        if (!cycle.some((c) => reported.has(c))) {
          cycles.push(cycle);
          for (const c of cycle) reported.add(c);
        }
      } else if (!done.has(to) && next.has(to)) {
        onPath.set(to, path.length);
        path.push(to);
        cursor.push(0);
      }
    }
  }
  return cycles;
}

/** `targets` and every node they depend on. */
export function ancestors(targets: readonly string[], parents: ReadonlyMap<string, readonly string[]>): Set<string> {
  const needed = new Set<string>();
  const stack = [...targets];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (needed.has(id)) continue;
    needed.add(id);
    for (const p of parents.get(id) ?? []) stack.push(p);
  }
  return needed;
}

/**
 * Kahn's algorithm over the nodes in `needed`, ties broken by position in `ids` (file order) so
 * runs are reproducible. Returns fewer ids than `needed` holds when the nodes form a cycle.
 */
export function topologicalOrder(ids: readonly string[], edges: readonly Edge[], needed: ReadonlySet<string>): string[] {
  const position = new Map(ids.map((id, i) => [id, i]));
  const indegree = new Map<string, number>();
  for (const id of ids) if (needed.has(id)) indegree.set(id, 0);
  const children = new Map<string, string[]>();
  for (const [from, to] of edges) {
    if (!needed.has(to) || !needed.has(from)) continue;
    indegree.set(to, indegree.get(to)! + 1);
    (children.get(from) ?? children.set(from, []).get(from)!).push(to);
  }
  const ready = new MinHeap();
  for (const [id, d] of indegree) if (d === 0) ready.push(position.get(id)!);
  const order: string[] = [];
  while (ready.size > 0) {
    const id = ids[ready.pop()]!;
    order.push(id);
    for (const c of children.get(id) ?? []) {
      const d = indegree.get(c)! - 1;
      indegree.set(c, d);
      if (d === 0) ready.push(position.get(c)!);
    }
  }
  return order;
}

/** A binary min-heap of integers (node positions). */
class MinHeap {
  private readonly a: number[] = [];
  get size(): number {
    return this.a.length;
  }
  push(v: number): void {
    const a = this.a;
    let i = a.push(v) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]! <= v) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = v;
  }
  pop(): number {
    const a = this.a;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= a.length) break;
        const c = l + 1 < a.length && a[l + 1]! < a[l]! ? l + 1 : l;
        if (a[c]! >= last) break;
        a[i] = a[c]!;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}
