import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  Logger,
  type INestApplication,
} from '@nestjs/common';
import express, { type NextFunction, type Request, type Response } from 'express';

/** The inbox reads its own raw bytes (the signature covers them); everything else gets a 16 KiB JSON parser. */
const RAW_BODY_PATH = '/api/v1/signals';
/**
 * The dashboard parses its own bodies (form-encoded or JSON), after its session and Origin checks,
 * so a cross-site form post is refused as such (403) rather than as bad JSON.
 */
const DASHBOARD_PATH_PREFIX = '/dashboard/';

/**
 * Whatever escapes a handler: known HTTP errors keep their status and body; anything else is a
 * 500 with no internals, logged with context. The process never dies on input.
 */
@Catch()
export class LastResortExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('http');

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const request = host.switchToHttp().getRequest<Request>();
    if (response.headersSent) return;
    if (exception instanceof HttpException) {
      const body = exception.getResponse();
      response
        .status(exception.getStatus())
        .json(typeof body === 'string' ? { status: 'refused', message: body } : body);
      return;
    }
    this.logger.error(
      { err: exception, method: request.method, url: request.url },
      'unhandled error in a request',
    );
    response.status(500).json({ status: 'error', reason: 'internal_error' });
  }
}

export function configureApp(app: INestApplication): void {
  const json = express.json({ limit: '16kb', type: () => true });
  app.use((req: Request, res: Response, next: NextFunction) => {
    if (req.path === RAW_BODY_PATH || req.path.startsWith(DASHBOARD_PATH_PREFIX)) return next();
    if (req.method === 'GET' || req.method === 'HEAD') return next();
    json(req, res, next);
  });
  // Parser errors (bad JSON, too large) become JSON answers instead of express's HTML page.
  app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (err === undefined || err === null) return next();
    const status =
      typeof err === 'object' && 'status' in err && typeof err.status === 'number' ? err.status : 400;
    res
      .status(status >= 400 && status < 500 ? status : 400)
      .json({ status: 'refused', reason: status === 413 ? 'too_large' : 'invalid_json' });
  });
  app.useGlobalFilters(new LastResortExceptionFilter());
}
