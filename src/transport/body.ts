/**
 * Request bodies: read up to a limit (413 beyond it) and parsed as JSON (400 with a short reason).
 */
import { MAX_BODY_BYTES } from '../protocol/routes.js';
import { HttpError, type Request } from './http.js';

export { MAX_BODY_BYTES };

/** Reads a request body as JSON. */
export async function readJson(req: Request, limit = MAX_BODY_BYTES): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, 'ERR_BAD_JSON', `malformed JSON: ${(error as Error).message}`);
  }
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, 'ERR_TOO_LARGE', `request bodies are limited to ${limit / (1024 * 1024)} MiB`);
}
