/**
 * A response body that is JSON text already (a record as the Redis cache holds it). The API router
 * writes it as it is, instead of parsing it into objects only to serialize them again.
 */
export class RawJson {
  /** @param text serialized JSON, produced by this server (never client input). */
  constructor(readonly text: string) {}
}
