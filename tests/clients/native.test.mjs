// Ollama's native API through the real ollama-js client: generate, chat,
// embed/embeddings, list, show, ps, copy, delete, create, version, pull and
// push (against a stand-in registry), plus tokenize/detokenize (hand-built:
// ollama-js has no method for them).

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import {
  MODELS, collect, cosine, createFromFile, ensureModels, fixture, l2, maxAbsDiff, ollama, rawPost, readJSON, uploadBlob,
} from './helpers.mjs';

const expected = readJSON('models/stories260K.expected.json');
const bertGolden = readJSON('golden/bert-tiny.json');
const qwenGolden = readJSON('golden/qwen2-tiny.json');
const greedy = { temperature: 0, num_predict: expected.n_predict };
const STORIES = MODELS.stories.name;
const QWEN = MODELS.qwen2.name;
const BERT = MODELS.bert.name;
// The prompt qwen2's chat template makes of one user message "hi" (no
// system message: the template adds none).
const QWEN_HI_PROMPT = '<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n';

before(ensureModels);

// assertMetrics checks the final object's counters and nanosecond timings.
function assertMetrics(r, { promptTokens, evalTokens }) {
  assert.equal(r.done, true);
  if (promptTokens !== undefined) assert.equal(r.prompt_eval_count, promptTokens, 'prompt_eval_count');
  if (evalTokens !== undefined) assert.equal(r.eval_count, evalTokens, 'eval_count');
  // As in Ollama, a zero duration may be left out (omitempty).
  for (const k of ['total_duration', 'load_duration', 'prompt_eval_duration', 'eval_duration']) {
    if (r[k] === undefined && k !== 'total_duration') continue;
    assert.ok(Number.isInteger(r[k]) && r[k] >= 0, `${k} = ${r[k]} is a non-negative integer (ns)`);
  }
  assert.ok(r.total_duration > 0, 'total_duration > 0');
  assert.ok(r.total_duration >= r.eval_duration, 'total_duration >= eval_duration');
}

describe('version, list, show', () => {
  test('version', async () => {
    const v = await ollama.version();
    assert.equal(typeof v.version, 'string');
    assert.ok(v.version.length > 0);
  });

  test('list (/api/tags) has the three fixture models with their details', async () => {
    const { models } = await ollama.list();
    const byName = new Map(models.map((m) => [m.name, m]));
    for (const [key, family] of [['stories', 'llama'], ['qwen2', 'qwen2'], ['bert', 'bert']]) {
      const m = byName.get(`${MODELS[key].name}:latest`);
      assert.ok(m, `${MODELS[key].name}:latest listed in ${[...byName.keys()]}`);
      assert.equal(m.model, m.name);
      assert.match(m.digest, /^[0-9a-f]{64}$/);
      assert.ok(m.size >= 1_000_000, `${m.name} size ${m.size}`);
      assert.equal(m.details.format, 'gguf');
      assert.equal(m.details.family, family);
      assert.ok(!Number.isNaN(Date.parse(m.modified_at)), 'modified_at is a date');
    }
  });

  test('show: llama metadata, qwen2 chat template, bert capabilities', async () => {
    const s = await ollama.show({ model: STORIES });
    assert.equal(s.details.family, 'llama');
    assert.equal(s.model_info['general.architecture'], 'llama');
    assert.equal(s.model_info['llama.context_length'], 2048);
    assert.ok(s.capabilities.includes('completion'));
    assert.match(s.modelfile, /^FROM /m);

    const q = await ollama.show({ model: QWEN });
    assert.match(q.template, /<\|im_start\|>/);
    assert.ok(q.capabilities.includes('completion'));
    assert.equal(q.model_info['general.architecture'], 'qwen2');

    const b = await ollama.show({ model: BERT });
    assert.deepEqual(b.capabilities, ['embedding']);
  });
});

describe('generate', () => {
  test('non-streamed, raw, greedy: llama.cpp text for stories260K', async () => {
    const r = await ollama.generate({ model: STORIES, prompt: expected.prompt, raw: true, options: greedy });
    assert.equal(r.response, expected.generated_text);
    assert.equal(r.done_reason, 'length');
    assertMetrics(r, { promptTokens: expected.prompt_token_ids_with_bos.length, evalTokens: expected.n_predict });
  });

  test('streamed, raw, greedy: the pieces join to the same text', async () => {
    const stream = await ollama.generate({ model: STORIES, prompt: expected.prompt, raw: true, options: greedy, stream: true });
    const { text, chunks, last } = await collect(stream, (c) => c.response);
    assert.equal(text, expected.generated_text);
    assert.ok(chunks >= 10, `streamed in ${chunks} chunks`);
    assert.equal(last.done_reason, 'length');
    assertMetrics(last, { promptTokens: expected.prompt_token_ids_with_bos.length, evalTokens: expected.n_predict });
  });

  test('templated (not raw) returns context = prompt ids + generated ids', async () => {
    // stories260K has no chat template, so the prompt goes in as it is.
    const r = await ollama.generate({ model: STORIES, prompt: expected.prompt, options: greedy });
    assert.equal(r.response, expected.generated_text);
    assert.deepEqual(r.context, [...expected.prompt_token_ids_with_bos, ...expected.generated_token_ids]);
  });

  test('num_predict and stop are honoured', async () => {
    const r = await ollama.generate({ model: STORIES, prompt: expected.prompt, raw: true, options: { temperature: 0, num_predict: 8 } });
    assert.equal(r.eval_count, 8);
    assert.ok(expected.generated_text.startsWith(r.response), `${JSON.stringify(r.response)} is a prefix`);
    const s = await ollama.generate({ model: STORIES, prompt: expected.prompt, raw: true, options: { ...greedy, stop: ['Lily'] } });
    assert.equal(s.response, expected.generated_text.slice(0, expected.generated_text.indexOf('Lily')));
    assert.equal(s.done_reason, 'stop');
  });
});

describe('chat (qwen2-tiny, its chat template)', () => {
  const opts = { temperature: 0, num_predict: 12 };
  let reference;

  before(async () => {
    // The same prompt rendered by hand and sent raw: chat must produce it.
    reference = await ollama.generate({ model: QWEN, prompt: QWEN_HI_PROMPT, raw: true, options: opts });
  });

  test('non-streamed: template applied, greedy text equals raw generate', async () => {
    const toks = await rawPost('/api/tokenize', { model: QWEN, content: QWEN_HI_PROMPT });
    const r = await ollama.chat({ model: QWEN, messages: [{ role: 'user', content: 'hi' }], options: opts });
    assert.equal(r.message.role, 'assistant');
    assert.equal(r.prompt_eval_count, toks.json.tokens.length, 'prompt is the template rendering');
    assert.equal(r.message.content, reference.response);
    assertMetrics(r, { evalTokens: reference.eval_count });
  });

  test('streamed: pieces join to the non-streamed answer', async () => {
    const stream = await ollama.chat({ model: QWEN, messages: [{ role: 'user', content: 'hi' }], options: opts, stream: true });
    const { text, last } = await collect(stream, (c) => c.message?.content);
    assert.equal(text, reference.response);
    assert.equal(last.done_reason, reference.done_reason);
    assertMetrics(last, { evalTokens: reference.eval_count });
  });

  test('a system message lengthens the prompt by its rendering', async () => {
    const sys = 'You are terse.';
    const toks = await rawPost('/api/tokenize', { model: QWEN, content: `<|im_start|>system\n${sys}<|im_end|>\n${QWEN_HI_PROMPT}` });
    const r = await ollama.chat({
      model: QWEN, messages: [{ role: 'system', content: sys }, { role: 'user', content: 'hi' }], options: { temperature: 0, num_predict: 1 },
    });
    assert.equal(r.prompt_eval_count, toks.json.tokens.length);
  });
});

describe('embeddings (bert-tiny)', () => {
  const texts = bertGolden.embeddings.map((e) => e.text);
  const tol = bertGolden.tolerance.normalized_max_abs;

  test('embed: unit vectors equal to llama.cpp\'s', async () => {
    const r = await ollama.embed({ model: BERT, input: texts });
    assert.equal(r.embeddings.length, texts.length);
    r.embeddings.forEach((v, i) => {
      assert.equal(v.length, bertGolden.n_embd);
      assert.ok(Math.abs(l2(v) - 1) < 1e-4, `|v| = ${l2(v)}`);
      const d = maxAbsDiff(v, bertGolden.embeddings[i].normalized);
      assert.ok(d <= tol, `text ${i}: max |diff| ${d} > ${tol}`);
    });
    // prompt_eval_count: all inputs' tokens, [CLS] and [SEP] included.
    assert.equal(r.prompt_eval_count, bertGolden.embeddings.reduce((n, e) => n + e.token_ids.length, 0));
  });

  test('embed with a single string input', async () => {
    const r = await ollama.embed({ model: BERT, input: texts[1] });
    assert.equal(r.embeddings.length, 1);
    assert.ok(maxAbsDiff(r.embeddings[0], bertGolden.embeddings[1].normalized) <= tol);
  });

  test('embeddings (legacy): one vector in the golden direction', async () => {
    const r = await ollama.embeddings({ model: BERT, prompt: texts[0] });
    assert.equal(r.embedding.length, bertGolden.n_embd);
    const c = cosine(r.embedding, bertGolden.embeddings[0].normalized);
    assert.ok(c > 0.99999, `cosine ${c}`);
  });

  test('a text-generation model refuses embed with a clear 400', async () => {
    await assert.rejects(ollama.embed({ model: STORIES, input: 'x' }), (e) => {
      assert.equal(e.status_code, 400);
      assert.match(e.message, /does not support embeddings/);
      return true;
    });
  });
});

describe('tokenize/detokenize (hand-built: Golem extension, no client method)', () => {
  test('stories260K: llama.cpp ids, and back to text', async () => {
    const t = await rawPost('/api/tokenize', { model: STORIES, content: expected.prompt });
    assert.equal(t.status, 200);
    assert.deepEqual(t.json.tokens, expected.prompt_token_ids_with_bos);
    const d = await rawPost('/api/detokenize', { model: STORIES, tokens: expected.generated_token_ids });
    assert.equal(d.status, 200);
    assert.equal(d.json.content, expected.generated_text);
  });

  test('qwen2 and bert ids equal llama.cpp\'s', async () => {
    for (const p of qwenGolden.prompts) {
      const t = await rawPost('/api/tokenize', { model: QWEN, content: p.text, parse_special: false });
      assert.deepEqual(t.json.tokens, p.prompt_ids, p.text);
    }
    for (const e of bertGolden.embeddings) {
      const t = await rawPost('/api/tokenize', { model: BERT, content: e.text });
      assert.deepEqual(t.json.tokens, e.token_ids, e.text);
    }
  });

  test('detokenize rejects ids outside the vocabulary', async () => {
    const d = await rawPost('/api/detokenize', { model: STORIES, tokens: [1, 999999] });
    assert.equal(d.status, 400);
    assert.match(d.json.error, /outside the vocabulary/);
  });
});

describe('ps and keep_alive', () => {
  // isStories matches a ps entry for the stories model.
  const isStories = (x) => x.name === STORIES || x.name === `${STORIES}:latest`;

  test('ps lists a model after use, with an expiry ahead', async () => {
    await ollama.generate({ model: STORIES, prompt: 'Once', raw: true, options: { temperature: 0, num_predict: 1 } });
    const { models } = await ollama.ps();
    const m = models.find(isStories);
    assert.ok(m, `ps: ${JSON.stringify(models.map((x) => x.name))}`);
    assert.ok(m.size > 0);
    assert.match(m.digest, /^[0-9a-f]{64}$/);
    assert.equal(m.details.family, 'llama');
    assert.ok(Date.parse(m.expires_at) > Date.now(), `expires_at ${m.expires_at}`);
  });

  test('ps names a store model canonically (name:latest), as /api/tags and Ollama do', async () => {
    await ollama.generate({ model: STORIES, prompt: '', keep_alive: '1m' });
    const { models } = await ollama.ps();
    assert.ok(models.some((x) => x.name === `${STORIES}:latest` && x.model === `${STORIES}:latest`),
      `ps: ${JSON.stringify(models.map((x) => [x.name, x.model]))}`);
  });

  test('empty prompt with keep_alive 0 unloads; an empty prompt loads', async () => {
    const u = await ollama.generate({ model: STORIES, prompt: '', keep_alive: 0 });
    assert.equal(u.done, true);
    assert.equal(u.done_reason, 'unload');
    let { models } = await ollama.ps();
    assert.ok(!models.some(isStories), 'unloaded');
    const l = await ollama.generate({ model: STORIES, prompt: '', keep_alive: '1m' });
    assert.equal(l.done_reason, 'load');
    ({ models } = await ollama.ps());
    assert.ok(models.some(isStories), 'loaded again');
  });
});

describe('copy, delete, create', () => {
  test('copy then delete', async () => {
    const dst = 'stories-copy';
    assert.deepEqual(await ollama.copy({ source: STORIES, destination: dst }), { status: 'success' });
    const s = await ollama.show({ model: dst });
    assert.equal(s.details.family, 'llama');
    let { models } = await ollama.list();
    const a = models.find((m) => m.name === `${STORIES}:latest`);
    const b = models.find((m) => m.name === `${dst}:latest`);
    assert.ok(b, 'copy listed');
    assert.equal(b.digest, a.digest, 'same manifest');
    await ollama.delete({ model: dst });
    ({ models } = await ollama.list());
    assert.ok(!models.some((m) => m.name === `${dst}:latest`), 'copy deleted');
    assert.ok(models.some((m) => m.name === `${STORIES}:latest`), 'source kept');
    await assert.rejects(ollama.delete({ model: dst }), (e) => e.status_code === 404 && /not found/.test(e.message));
    await assert.rejects(ollama.copy({ source: 'no-such-model', destination: 'x' }), (e) => e.status_code === 404);
  });

  test('create from an uploaded blob with system and parameters, streamed', async () => {
    const name = 'made-from-blob';
    const digest = await uploadBlob(fixture(MODELS.stories.file));
    const stream = await ollama.create({
      model: name, files: { 'stories260K.gguf': digest }, system: 'Be brief.', parameters: { num_predict: 8, temperature: 0 }, stream: true,
    });
    const statuses = [];
    for await (const p of stream) statuses.push(p.status);
    assert.equal(statuses.at(-1), 'success', statuses.join(' | '));
    assert.ok(statuses.length >= 2, `progress: ${statuses.join(' | ')}`);

    const s = await ollama.show({ model: name });
    assert.equal(s.system, 'Be brief.');
    assert.match(s.parameters, /num_predict\s+8/);
    // The model's own num_predict applies when the request has none.
    const r = await ollama.generate({ model: name, prompt: expected.prompt, raw: true });
    assert.equal(r.eval_count, 8);
    assert.ok(expected.generated_text.startsWith(r.response), JSON.stringify(r.response));
    await ollama.delete({ model: name });
  });

  test('create non-streamed from blob; unknown blob is a clear 400', async () => {
    const r = await createFromFile('made-plain', MODELS.bert.file);
    assert.equal(r.status, 'success');
    const e = await ollama.embed({ model: 'made-plain', input: 'Once upon a time' });
    assert.equal(e.embeddings[0].length, bertGolden.n_embd);
    await ollama.delete({ model: 'made-plain' });

    const missing = `sha256:${'0'.repeat(64)}`;
    await assert.rejects(
      ollama.create({ model: 'never', files: { 'x.gguf': missing }, stream: false }),
      (err) => err.status_code === 400 && /no such blob|not found/.test(err.message) && err.message.includes('/api/blobs/'),
    );
  });
});

describe('pull and push (against a local registry that has no models)', () => {
  // A stand-in OCI registry on loopback that knows no repository: every
  // /v2/ request gets the distribution spec's 404 MANIFEST_UNKNOWN /
  // BLOB_UNKNOWN, so pull must fail fast with a clear "not found".
  let registry;
  let regHost;
  before(async () => {
    registry = createServer((req, res) => {
      res.writeHead(req.url === '/v2/' ? 200 : 404, { 'Content-Type': 'application/json' });
      res.end(req.url === '/v2/' ? '{}' : JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }));
    });
    await new Promise((r) => registry.listen(0, '127.0.0.1', r));
    regHost = `127.0.0.1:${registry.address().port}`;
  });
  after(() => registry.close());

  test('pull of an unknown model: a clear not-found error, streamed or not', async () => {
    const model = `${regHost}/library/nosuch:latest`;
    await assert.rejects(ollama.pull({ model, insecure: true, stream: false }), (e) => {
      assert.equal(e.name, 'ResponseError', e.message);
      assert.equal(e.status_code, 404, e.message);
      assert.match(e.message, /not found|unknown/i);
      return true;
    });
    // Streamed: the error may come as the stream's last line (after
    // "pulling manifest"), which ollama-js throws as an Error.
    await assert.rejects(async () => {
      for await (const p of await ollama.pull({ model, insecure: true, stream: true })) assert.notEqual(p.status, 'success');
    }, (e) => /not found|unknown/i.test(e.message));
    const { models } = await ollama.list();
    assert.ok(!models.some((m) => m.name.includes('nosuch')), 'nothing was stored');
  });

  test('push of a model the store does not have: 404', async () => {
    for (const stream of [false, true]) {
      await assert.rejects(ollama.push({ model: `${regHost}/library/absent`, insecure: true, stream }), (e) => {
        assert.equal(e.name, 'ResponseError');
        assert.equal(e.status_code, 404);
        assert.match(e.message, /not found/);
        return true;
      });
    }
  });
});
