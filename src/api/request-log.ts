// Fastify's per-request log lines at debug level. By default fastify writes two info lines per request
// ("incoming request", "request completed"): at the default level (info) that is two JSON
// serializations and stdout writes per read, more than the read itself. Here they are written only
// when the level is debug or lower (`--log-level debug`); at info a read logs nothing. Failures are not
// affected: the error handler (errors.ts) logs every 500 at error level (`internal error`) and other
// 5xx at warn (`request failed`), and a response that fails while being sent is still logged at error.

import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';

export class RequestLogController extends Fastify.LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(error: Error | null | undefined, _request: FastifyRequest, reply: FastifyReply): void {
    if (error) reply.log.error({ res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    else reply.log.debug({ res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}
