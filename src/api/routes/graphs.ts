// Graph routes: list the graphs, describe one (offsets, counts, schema), create one explicitly (PUT).

import type { FastifyInstance } from 'fastify';
import { StrataError } from '../../core/errors.js';
import { BACKUP_NAME_PATTERN } from '../../db/backup.js';
import type { ApiContext } from '../context.js';
import { setBasis } from '../basis.js';
import { graphParamsSchema, readQueryProperties, type GraphParams } from '../schemas.js';

const tags = ['graphs'];

export async function graphRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const { db } = ctx;

  app.get('/v1/graphs', { schema: { tags, summary: 'List graphs' } }, async () => {
    return { graphs: await db.listGraphs() };
  });

  app.get<{ Params: GraphParams; Querystring: { minBasis?: number } }>(
    '/v1/graphs/:graph',
    {
      schema: {
        tags,
        summary: 'Describe a graph: latest and materialized offsets, counts, schema',
        params: graphParamsSchema,
        querystring: { type: 'object', additionalProperties: false, properties: { minBasis: readQueryProperties.minBasis } },
      },
    },
    async (request, reply) => {
      const { graph } = request.params;
      if (request.query.minBasis !== undefined) await db.resolveBasis(graph, { minBasis: request.query.minBasis });
      const info = await db.graphInfo(graph);
      setBasis(reply, info.materializedOffset);
      return { basis: info.materializedOffset, ...info };
    },
  );

  app.put<{ Params: GraphParams }>(
    '/v1/graphs/:graph',
    { schema: { tags, summary: 'Create a graph (idempotent): 201 when created, 200 when it existed', params: graphParamsSchema } },
    async (request, reply) => {
      const { graph } = request.params;
      const existed = await graphExists(ctx, graph);
      const info = await db.createGraph(graph);
      return reply.code(existed ? 200 : 201).send(info);
    },
  );

  app.post<{ Params: GraphParams; Body: { name?: string; checksum?: boolean } | undefined }>(
    '/v1/graphs/:graph/backup',
    {
      schema: {
        tags,
        summary: 'Back up the graph\'s state online, with its offset, into the server\'s backup directory (admin scope)',
        description:
          'Copies every key of the graph\'s RocksDB state as of one snapshot into `<backup-dir>/<name>/state/<graph>` and writes ' +
          '`<backup-dir>/<name>/backup.json`; the graph keeps folding meanwhile. The copy holds its materialized offset: a replica ' +
          'started on it with a log that reaches that offset resumes folding at offset + 1 (docs/operations.md). Answers when the ' +
          'copy is complete. One backup at a time per process (409 backup_in_progress); an existing non-empty target is refused ' +
          '(409 backup_target_exists); a write failure (disk full, permissions) is 507 backup_failed and leaves no partial copy.',
        params: graphParamsSchema,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            name: {
              type: 'string',
              pattern: BACKUP_NAME_PATTERN.source,
              description: 'directory name under the backup directory (--backup-dir); default `<graph>-<UTC time>`',
            },
            checksum: { type: 'boolean', default: true, description: 'also compute the copy\'s slice checksum at its offset (reads every live entity of the copy once)' },
          },
        },
        response: {
          201: {
            description: 'the backup is complete',
            type: 'object',
            properties: {
              dir: { type: 'string', description: 'absolute path of the backup on the server host' },
              graph: { type: 'string' },
              offset: { type: 'integer', description: 'materialized offset held by the copy (-1: nothing materialized)' },
              materializedTime: { type: 'string', nullable: true },
              transactions: { type: 'integer' },
              viewsOffset: { type: 'integer', description: 'the views\' maintained offset in the copy (-1: none)' },
              keyLayoutVersion: { type: 'integer' },
              keys: { type: 'integer' },
              bytes: { type: 'integer', description: 'bytes of keys and values copied' },
              diskBytes: { type: 'integer', description: 'size of the copy on disk' },
              checksum: {
                type: 'object',
                nullable: true,
                description: 'the copy\'s slice checksum at `offset`: after a restore, GET …/checksum?at=<offset> answers the same',
                properties: { basis: { type: 'integer' }, algorithm: { type: 'string' }, checksum: { type: 'string' }, entities: { type: 'integer' } },
              },
              ms: { type: 'integer' },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const body = request.body ?? {};
      const info = await db.backup(request.params.graph, { ...(body.name === undefined ? {} : { name: body.name }), checksum: body.checksum ?? true });
      return reply.code(201).send(info);
    },
  );
}

async function graphExists(ctx: ApiContext, graph: string): Promise<boolean> {
  try {
    await ctx.db.graphInfo(graph);
    return true;
  } catch (err) {
    if (err instanceof StrataError && err.code === 'graph_not_found') return false;
    throw err;
  }
}
