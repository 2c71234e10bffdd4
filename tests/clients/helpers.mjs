// Shared set-up for the client suite: where the server and the fixtures
// are, the clients pointed at them, and the models every test file needs.
// run.sh starts `golem serve` and exports OLLAMA_HOST and GOLEM_FIXTURES;
// each *.test.mjs runs in its own process and calls ensureModels() first.

import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Ollama } from 'ollama';
import OpenAI from 'openai';

if (!process.env.OLLAMA_HOST) {
  throw new Error('OLLAMA_HOST is not set: run the suite through tests/clients/run.sh');
}
if (!process.env.GOLEM_FIXTURES) {
  throw new Error('GOLEM_FIXTURES is not set: run the suite through tests/clients/run.sh');
}

/** HOST is the server's base URL, e.g. http://127.0.0.1:40123. */
export const HOST = process.env.OLLAMA_HOST.replace(/\/+$/, '');
/** FIXTURES is the absolute path of shared/fixtures. */
export const FIXTURES = process.env.GOLEM_FIXTURES;

/** fixture returns the absolute path of a file under shared/fixtures. */
export const fixture = (rel) => join(FIXTURES, rel);

/** readJSON parses a fixture JSON file. */
export const readJSON = (rel) => JSON.parse(readFileSync(fixture(rel), 'utf8'));

/** The store names the suite registers, and the fixture file behind each. */
export const MODELS = {
  stories: { name: 'stories260k', file: 'models/stories260K.gguf' },
  qwen2: { name: 'qwen2-tiny', file: 'models/tiny/qwen2-tiny.gguf' },
  bert: { name: 'bert-tiny', file: 'models/tiny/bert-tiny.gguf' },
};

/** ollama is the real ollama-js client, pointed at the server. */
export const ollama = new Ollama({ host: HOST });

/** openai is the real openai client on the server's /v1 routes (no retries,
 * so an error surfaces at once). */
export const openai = new OpenAI({ baseURL: `${HOST}/v1`, apiKey: 'golem-client-suite', maxRetries: 0, timeout: 120_000 });

/** sha256File returns "sha256:<hex>" of a file. */
export async function sha256File(path) {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk);
  return `sha256:${h.digest('hex')}`;
}

/**
 * uploadBlob pushes a file to /api/blobs/<digest> unless the server has it.
 * HAND-BUILT HTTP: ollama-js (0.6.x) has no blob upload method; its create()
 * takes blob digests that must already be on the server, as Ollama's CLI
 * uploads them. Returns the digest.
 */
export async function uploadBlob(path) {
  const digest = await sha256File(path);
  const head = await fetch(`${HOST}/api/blobs/${digest}`, { method: 'HEAD' });
  if (head.status === 200) return digest;
  if (head.status !== 404) throw new Error(`HEAD /api/blobs/${digest}: status ${head.status}`);
  const res = await fetch(`${HOST}/api/blobs/${digest}`, { method: 'POST', body: readFileSync(path) });
  if (res.status !== 201 && res.status !== 200) {
    throw new Error(`POST /api/blobs/${digest}: status ${res.status}: ${await res.text()}`);
  }
  return digest;
}

/**
 * createFromFile registers a fixture GGUF under name through the client:
 * the blob goes up by hand (see uploadBlob), then ollama.create() with
 * files: {name.gguf: digest}, as Ollama's JSON create API takes it.
 */
export async function createFromFile(name, rel, extra = {}) {
  const digest = await uploadBlob(fixture(rel));
  return ollama.create({ model: name, files: { [basename(rel)]: digest }, stream: false, ...extra });
}

/**
 * ensureModels makes sure the suite's models are in the store: run.sh
 * registers them with `golem create` when the CLI has that command;
 * otherwise (or if one is missing) they are created here over HTTP.
 */
export async function ensureModels() {
  const { models } = await ollama.list();
  const have = new Set(models.flatMap((m) => [m.name, m.model]));
  for (const { name, file } of Object.values(MODELS)) {
    if (have.has(name) || have.has(`${name}:latest`)) continue;
    const res = await createFromFile(name, file);
    if (res.status !== 'success') throw new Error(`create ${name}: ${JSON.stringify(res)}`);
  }
}

/** collect drains a streamed ollama-js response into its parts. */
export async function collect(stream, pick) {
  const parts = [];
  let last;
  for await (const chunk of stream) {
    parts.push(pick(chunk) ?? '');
    last = chunk;
  }
  return { text: parts.join(''), chunks: parts.length, last };
}

/** l2 returns the Euclidean norm of a vector. */
export const l2 = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

/** maxAbsDiff returns the largest |a[i]-b[i]|. */
export function maxAbsDiff(a, b) {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** cosine returns the cosine similarity of two vectors. */
export function cosine(a, b) {
  let d = 0;
  for (let i = 0; i < a.length; i++) d += a[i] * b[i];
  return d / (l2(a) * l2(b));
}

/**
 * rawPost sends a JSON (or raw string) body and returns {status, body}.
 * HAND-BUILT HTTP: only for what the clients cannot express (tokenize,
 * detokenize, malformed JSON).
 */
export async function rawPost(path, body) {
  const res = await fetch(`${HOST}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}
