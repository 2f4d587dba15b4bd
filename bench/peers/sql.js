// The temporal-table peer's data model, shared by PostgreSQL and SQLite: what a careful user would build
// instead of Strata. Entities with a lifetime [created, terminated), facts with validity [from_off, to_off),
// and the tx log; the statements below are the same text for both databases where SQL allows.

/** Open-ended validity: `to_off` of a current fact (a sentinel instead of NULL keeps `to_off > T` indexable). */
export const OPEN = '9223372036854775807';

export const SCHEMA = [
  `CREATE TABLE txs (off BIGINT PRIMARY KEY, body TEXT NOT NULL)`,
  `CREATE TABLE entities (id TEXT PRIMARY KEY, kind TEXT NOT NULL, type TEXT NOT NULL, src TEXT, dst TEXT,
     created BIGINT NOT NULL, terminated BIGINT)`,
  `CREATE INDEX entities_src ON entities (src) WHERE src IS NOT NULL`,
  `CREATE INDEX entities_dst ON entities (dst) WHERE dst IS NOT NULL`,
  `CREATE INDEX entities_type ON entities (type, id)`,
  `CREATE INDEX entities_created ON entities (created)`,
  `CREATE INDEX entities_terminated ON entities (terminated) WHERE terminated IS NOT NULL`,
  `CREATE TABLE facts (entity TEXT NOT NULL, attr TEXT NOT NULL, value TEXT NOT NULL,
     from_off BIGINT NOT NULL, to_off BIGINT NOT NULL)`,
  `CREATE INDEX facts_entity ON facts (entity, attr, from_off)`,
  `CREATE INDEX facts_from ON facts (from_off)`,
  `CREATE INDEX facts_to ON facts (to_off) WHERE to_off < ${OPEN}`,
];

/**
 * The statements of one workload tx at offset `off`, as [sql, params] with `$n` placeholders, in op
 * order. The peers do not validate (Strata checks every op against the slice): this favours them.
 */
export function txStatements(off, body) {
  const out = [[`INSERT INTO txs (off, body) VALUES ($1, $2)`, [off, JSON.stringify(body)]]];
  for (const op of body.ops) {
    switch (op.op) {
      case 'create':
        out.push([`INSERT INTO entities (id, kind, type, created) VALUES ($1, 'node', $2, $3)`, [op.id, op.type, off]]);
        break;
      case 'link':
        out.push([`INSERT INTO entities (id, kind, type, src, dst, created) VALUES ($1, 'edge', $2, $3, $4, $5)`, [op.id, op.type, op.from, op.to, off]]);
        break;
      case 'set':
        out.push([`UPDATE facts SET to_off = $1 WHERE entity = $2 AND attr = $3 AND to_off = ${OPEN}`, [off, op.id, op.attr]]);
        out.push([`INSERT INTO facts (entity, attr, value, from_off, to_off) VALUES ($1, $2, $3, $4, ${OPEN})`, [op.id, op.attr, JSON.stringify(op.value), off]]);
        break;
      case 'terminate':
        // A node's edges end with it, and so do the facts of everything that ended.
        out.push([`UPDATE entities SET terminated = $1 WHERE (id = $2 OR src = $2 OR dst = $2) AND terminated IS NULL`, [off, op.id]]);
        out.push([`UPDATE facts SET to_off = $1 WHERE to_off = ${OPEN} AND entity IN (SELECT id FROM entities WHERE terminated = $1 AND (id = $2 OR src = $2 OR dst = $2))`, [off, op.id]]);
        break;
      default:
        break; // schema ops: the peers keep no schema
    }
  }
  return out;
}

/** Entity as of T in one statement: header row, attribute rows, out-edge rows, in-edge rows. */
export const ENTITY_AT = `
SELECT 0 AS k, type AS a, kind AS b, src AS c, dst AS d FROM entities
  WHERE id = $1 AND created <= $2 AND (terminated IS NULL OR terminated > $2)
UNION ALL SELECT 1, attr, value, NULL, NULL FROM facts WHERE entity = $1 AND from_off <= $2 AND to_off > $2
UNION ALL SELECT 2, id, type, dst, NULL FROM entities WHERE src = $1 AND created <= $2 AND (terminated IS NULL OR terminated > $2)
UNION ALL SELECT 3, id, type, src, NULL FROM entities WHERE dst = $1 AND created <= $2 AND (terminated IS NULL OR terminated > $2)`;

/** Rows of ENTITY_AT → the same view shape Strata returns (attrs sorted, edges by id), or null. */
export function entityFromRows(id, rows) {
  let head = null;
  const attrs = {};
  const out = [];
  const inn = [];
  for (const r of rows) {
    if (r.k === 0) head = r;
    else if (r.k === 1) attrs[r.a] = JSON.parse(r.b);
    else if (r.k === 2) out.push({ id: r.a, type: r.b, to: r.c });
    else inn.push({ id: r.a, type: r.b, from: r.c });
  }
  if (head === null) return null;
  if (head.b === 'edge') return { id, kind: 'edge', type: head.a, from: head.c, to: head.d, attrs };
  out.sort(byId);
  inn.sort(byId);
  return { id, kind: 'node', type: head.a, attrs, out, in: inn };
}

function byId(a, b) {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** A page of a type listing as of T with the members' attributes and edges (what Strata's listing returns). */
export const LIST_AT = `
WITH page AS (SELECT id FROM entities WHERE type = $1 AND created <= $2 AND (terminated IS NULL OR terminated > $2) ORDER BY id LIMIT $3)
SELECT 0 AS k, page.id AS e, NULL AS a, NULL AS b, NULL AS c FROM page
UNION ALL SELECT 1, f.entity, f.attr, f.value, NULL FROM facts f JOIN page ON f.entity = page.id WHERE f.from_off <= $2 AND f.to_off > $2
UNION ALL SELECT 2, x.src, x.id, x.type, x.dst FROM entities x JOIN page ON x.src = page.id WHERE x.created <= $2 AND (x.terminated IS NULL OR x.terminated > $2)
UNION ALL SELECT 3, x.dst, x.id, x.type, x.src FROM entities x JOIN page ON x.dst = page.id WHERE x.created <= $2 AND (x.terminated IS NULL OR x.terminated > $2)`;

/**
 * Net changes over (A, B]: entities created / terminated in the span (not both), and for each
 * (entity, attr) touched in the span its value at A and at B. Same content as Strata's diff.
 */
export const DIFF = `
SELECT 'created' AS kind, id AS e, type AS a, NULL AS o, NULL AS n FROM entities
  WHERE created > $1 AND created <= $2 AND (terminated IS NULL OR terminated > $2)
UNION ALL SELECT 'terminated', id, NULL, NULL, NULL FROM entities WHERE terminated > $1 AND terminated <= $2 AND created <= $1
UNION ALL SELECT 'set', t.entity, t.attr,
  (SELECT value FROM facts a WHERE a.entity = t.entity AND a.attr = t.attr AND a.from_off <= $1 AND a.to_off > $1),
  (SELECT value FROM facts b WHERE b.entity = t.entity AND b.attr = t.attr AND b.from_off <= $2 AND b.to_off > $2)
  FROM (SELECT DISTINCT entity, attr FROM facts WHERE (from_off > $1 AND from_off <= $2) OR (to_off > $1 AND to_off <= $2)) t`;
