// Reachability over one edge type: breadth-first search on the adjacency index with a visited set and a
// depth bound (never a recursive rule), one level at a time so each level's reads are batched.

import type { Value } from '../../core/types.js';
import type { ReachClause } from './ast.js';
import type { CachedSlice, Side } from './cached-slice.js';
import type { Step } from './plan.js';
import { idOf, idValue, Joiner, type Relation } from './relation.js';

export interface ReachSpec {
  edgeType: string;
  /** Which adjacency sides a step follows: `out` walks from → to. */
  sides: readonly Side[];
  minDepth: number;
  maxDepth: number;
}

const SIDES: Record<ReachClause['direction'], readonly Side[]> = { out: ['out'], in: ['in'], both: ['out', 'in'] };
const REVERSED: Record<ReachClause['direction'], readonly Side[]> = { out: ['in'], in: ['out'], both: ['out', 'in'] };

/** Searches run at once: each waits on its own level's reads, so running several keeps RocksDB busy. */
const PARALLEL_SEARCHES = 16;

/**
 * Nodes whose shortest distance from `start` (a live node) over `edgeType` edges lies in
 * [minDepth, maxDepth], with that distance. `start` itself is found at 0 when minDepth is 0, else only
 * through a cycle.
 */
export async function reachFrom(slice: CachedSlice, start: string, spec: ReachSpec): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  const expanded = new Set([start]);
  let frontier = [start];
  for (let depth = 1; depth <= spec.maxDepth && frontier.length > 0; depth++) {
    await slice.loadAdjacency(frontier, spec.sides);
    const next: string[] = [];
    for (const node of frontier) {
      for (const side of spec.sides) {
        for (const e of slice.adjacencyNow(node, side)) {
          if (e.type !== spec.edgeType) continue;
          const peer = side === 'out' ? e.to : e.from;
          if (found.has(peer)) continue;
          found.set(peer, depth);
          if (!expanded.has(peer)) {
            expanded.add(peer);
            next.push(peer);
          }
        }
      }
      slice.budget.tick();
    }
    frontier = next;
  }
  if (spec.minDepth === 0) found.set(start, 0);
  for (const [node, depth] of found) if (depth < spec.minDepth) found.delete(node);
  return found;
}

/** Searches from every source (a few at a time); sources that are not live nodes reach nothing. */
async function reachAll(slice: CachedSlice, sources: string[], spec: ReachSpec): Promise<Map<string, Map<string, number>>> {
  const reached = new Map<string, Map<string, number>>();
  for (let i = 0; i < sources.length; i += PARALLEL_SEARCHES) {
    const chunk = sources.slice(i, i + PARALLEL_SEARCHES);
    const results = await Promise.all(chunk.map((s) => reachFrom(slice, s, spec)));
    chunk.forEach((s, k) => reached.set(s, results[k]!));
  }
  return reached;
}

/** Possible sources when neither end is bound: every node with an edge of the type on the walked side. */
async function allSources(slice: CachedSlice, c: ReachClause): Promise<string[]> {
  const edges = await slice.allEdges();
  if (c.minDepth === 0) {
    // Every live node reaches itself; the type index lists edges too, so drop those.
    const edgeIds = new Set(edges.map((e) => e.id));
    return (await slice.allEntities()).filter((e) => !edgeIds.has(e.id)).map((e) => e.id);
  }
  const sources = new Set<string>();
  for (const e of edges) {
    if (e.type !== c.edgeType) continue;
    if (c.direction !== 'in') sources.add(e.from);
    if (c.direction !== 'out') sources.add(e.to);
  }
  return [...sources];
}

/** Bound anchors that are live nodes: anything else reaches nothing. */
async function liveNodes(slice: CachedSlice, ids: string[]): Promise<string[]> {
  await slice.loadEntities(ids);
  return ids.filter((id) => slice.entityNow(id)?.kind === 'node');
}

function constantOf(t: ReachClause['from']): Value | null {
  return t.t === 'const' ? t.value : null;
}

export async function evalReach(step: Step, rel: Relation, slice: CachedSlice): Promise<Relation> {
  const c = step.clause as ReachClause;
  const j = new Joiner(rel, [c.from, c.to, c.depth], [constantOf(c.from), constantOf(c.to), null], slice.budget, true);
  if (j.impossible) return j.result();
  const backward = step.access === 'reachBackward';
  const spec: ReachSpec = { edgeType: c.edgeType, sides: backward ? REVERSED[c.direction] : SIDES[c.direction], minDepth: c.minDepth, maxDepth: c.maxDepth };
  const anchor = backward ? c.to : c.from;
  const anchorAt = anchor.t === 'var' ? rel.vars.indexOf(anchor.name) : -1;
  const anchorOf = (row: Value[]): string | null => (anchor.t === 'const' ? idOf(anchor.value) : anchorAt >= 0 ? idOf(row[anchorAt]!) : null);
  let sources: string[];
  if (step.access === 'reachAll') {
    sources = await allSources(slice, c);
    await slice.loadAllAdjacency(); // a search from every source reads most of the index anyway
  } else {
    sources = await liveNodes(slice, [...new Set(rel.rows.map(anchorOf).filter((s): s is string => s !== null))]);
  }
  const reached = await reachAll(slice, sources, spec);
  for (const row of rel.rows) {
    const anchored = anchorOf(row);
    for (const source of anchored === null ? sources : [anchored]) {
      for (const [node, depth] of reached.get(source) ?? []) {
        const depthValue: Value = { t: 'n', v: depth };
        j.emit(row, backward ? [idValue(node), idValue(source), depthValue] : [idValue(source), idValue(node), depthValue]);
      }
    }
  }
  return j.result();
}
