/**
 * Request body limits: each route reads a body only after authentication and only up to what it
 * needs, and no route reads more than the worker's heap can parse in the worst case.
 *
 * `JSON.parse` builds far more heap than the text it reads: deep nesting (`[[[[…]]]]`) peaks at
 * about 29 heap bytes per body byte on Node 20, `[{},{},…]` at about 22 (Carebox's measurement;
 * see JSON_PARSE_HEAP_PER_BYTE in installer/plan/sizing.constants.ts, which derives the same cap
 * for the plan). A 10 MiB body of empty objects therefore needs ~220 MiB and kills a worker with a
 * 144 MiB heap. The planner renders BODY_LIMIT_BYTES from the worker heap it plans; the server
 * re-derives the cap from the heap it actually got (`--max-old-space-size`) and takes the smaller.
 */
import { getHeapStatistics } from 'node:v8';
import express, { type RequestHandler } from 'express';

/** Sign-in and password change bodies (user name + two passwords ≤ 256 characters), bytes. */
export const AUTH_BODY_BYTES = 4 * 1024;
/** Default for JSON write routes, bytes: an appointment with 2,000 characters of notes is ≤ 12 KiB. */
export const WRITE_BODY_BYTES = 32 * 1024;
/** Worst-case heap bytes `JSON.parse` builds per body byte (measured ~29 on Node 20, rounded up). */
export const JSON_PARSE_HEAP_PER_BYTE = 32;
/** Share of the worker heap one parse may take (JavaScript parses one body at a time per worker). */
export const JSON_PARSE_HEAP_SHARE = 0.25;

/**
 * The largest body this process may parse, bytes: min(BODY_LIMIT_BYTES, heap × share / heap-per-byte),
 * rounded down to KiB, at least 1 KiB.
 * @param configuredBytes BODY_LIMIT_BYTES.
 * @param heapLimitBytes V8's heap limit (default: this process's `heap_size_limit`).
 */
export function maxParseableBodyBytes(configuredBytes: number, heapLimitBytes = getHeapStatistics().heap_size_limit): number {
  const heapCap = Math.floor((heapLimitBytes * JSON_PARSE_HEAP_SHARE) / JSON_PARSE_HEAP_PER_BYTE / 1024) * 1024;
  return Math.max(1024, Math.min(configuredBytes, heapCap));
}

/**
 * A JSON body parser for one route: reads at most `limitBytes` (413 PAYLOAD_TOO_LARGE beyond,
 * without buffering the rest), 400 INVALID_JSON for broken JSON. Bodies of other content types are
 * left unread (the route's validation then refuses the missing body).
 */
export function jsonBody(limitBytes: number): RequestHandler {
  return express.json({ limit: limitBytes });
}
