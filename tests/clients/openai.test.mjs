// The OpenAI-compatible API (/v1) through the real openai client:
// chat.completions (streamed with include_usage, and not; the preset
// extension), completions,
// embeddings, models.list/retrieve, and its error classes.

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { MODELS, ensureModels, l2, maxAbsDiff, ollama, openai, readJSON } from './helpers.mjs';

const expected = readJSON('models/stories260K.expected.json');
const bertGolden = readJSON('golden/bert-tiny.json');
const STORIES = MODELS.stories.name;
const QWEN = MODELS.qwen2.name;
const BERT = MODELS.bert.name;

before(ensureModels);

describe('chat.completions (qwen2-tiny)', () => {
  const messages = [{ role: 'user', content: 'hi' }];
  let reference; // the same request through Ollama's /api/chat

  before(async () => {
    reference = await ollama.chat({ model: QWEN, messages, options: { temperature: 0, num_predict: 12 } });
  });

  test('non-streamed: same greedy text as /api/chat, usage counted', async () => {
    const r = await openai.chat.completions.create({ model: QWEN, messages, temperature: 0, max_tokens: 12 });
    assert.equal(r.object, 'chat.completion');
    assert.match(r.id, /^chatcmpl-/);
    assert.equal(r.model, QWEN);
    assert.equal(r.choices.length, 1);
    const c = r.choices[0];
    assert.equal(c.index, 0);
    assert.equal(c.message.role, 'assistant');
    assert.equal(c.message.content, reference.message.content);
    assert.equal(c.finish_reason, reference.done_reason === 'length' ? 'length' : 'stop');
    assert.deepEqual(
      [r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens],
      [reference.prompt_eval_count, reference.eval_count, reference.prompt_eval_count + reference.eval_count],
    );
  });

  test('streamed with include_usage: deltas join, usage chunk last', async () => {
    const stream = await openai.chat.completions.create({
      model: QWEN, messages, temperature: 0, max_tokens: 12, stream: true, stream_options: { include_usage: true },
    });
    let text = '';
    let finish = null;
    let usage = null;
    let n = 0;
    let role;
    for await (const chunk of stream) {
      n++;
      assert.equal(chunk.object, 'chat.completion.chunk');
      if (chunk.usage) {
        assert.deepEqual(chunk.choices, [], 'the usage chunk has no choices');
        usage = chunk.usage;
        continue;
      }
      assert.equal(usage, null, 'usage comes last');
      const ch = chunk.choices[0];
      role ??= ch.delta.role;
      text += ch.delta.content ?? '';
      if (ch.finish_reason) finish = ch.finish_reason;
    }
    assert.ok(n >= 3, `${n} chunks`);
    assert.equal(role, 'assistant');
    assert.equal(text, reference.message.content);
    assert.equal(finish, reference.done_reason === 'length' ? 'length' : 'stop');
    assert.ok(usage, 'include_usage gave a usage chunk');
    assert.equal(usage.prompt_tokens, reference.prompt_eval_count);
    assert.equal(usage.completion_tokens, reference.eval_count);
  });

  test('streamed without include_usage: no usage chunk', async () => {
    const stream = await openai.chat.completions.create({ model: QWEN, messages, temperature: 0, max_tokens: 4, stream: true });
    for await (const chunk of stream) assert.ok(!chunk.usage, 'no usage');
  });

  test('preset extension as extra body fields: same prompt and greedy text as /api/chat', async () => {
    // The SDK sends fields it does not know as they are (TypeScript
    // users add them with a cast); preset and preset_vars are Golem's.
    const vars = { persona: 'a patient physics teacher' };
    const plain = await openai.chat.completions.create({ model: QWEN, messages, temperature: 0, max_tokens: 6 });
    const r = await openai.chat.completions.create({ model: QWEN, messages, temperature: 0, max_tokens: 6, preset: 'role', preset_vars: vars });
    const native = await ollama.chat({ model: QWEN, messages, preset: 'role', preset_vars: vars, options: { temperature: 0, num_predict: 6 } });
    assert.ok(r.usage.prompt_tokens > plain.usage.prompt_tokens + 20, `the preset's system prompt is in the prompt (${r.usage.prompt_tokens} vs ${plain.usage.prompt_tokens} tokens)`);
    assert.equal(r.usage.prompt_tokens, native.prompt_eval_count);
    assert.equal(r.choices[0].message.content, native.message.content, 'explicit temperature 0 wins over the preset\'s');
    await assert.rejects(
      openai.chat.completions.create({ model: QWEN, messages, preset: 'no-such-preset' }),
      (e) => e instanceof OpenAI.BadRequestError && /no-such-preset/.test(e.message),
    );
    await assert.rejects(
      openai.chat.completions.create({ model: QWEN, messages, preset: 'role' }),
      (e) => e instanceof OpenAI.BadRequestError && /persona/.test(e.message),
    );
  });
});

describe('completions (stories260K)', () => {
  test('non-streamed: llama.cpp greedy text', async () => {
    const r = await openai.completions.create({ model: STORIES, prompt: expected.prompt, temperature: 0, max_tokens: expected.n_predict });
    assert.equal(r.object, 'text_completion');
    assert.equal(r.choices[0].text, expected.generated_text);
    assert.equal(r.choices[0].finish_reason, 'length');
    assert.equal(r.usage.prompt_tokens, expected.prompt_token_ids_with_bos.length);
    assert.equal(r.usage.completion_tokens, expected.n_predict);
  });

  test('streamed with include_usage: pieces join to the same text', async () => {
    const stream = await openai.completions.create({
      model: STORIES, prompt: expected.prompt, temperature: 0, max_tokens: expected.n_predict, stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish = null;
    let usage = null;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      for (const c of chunk.choices) {
        text += c.text;
        if (c.finish_reason) finish = c.finish_reason;
      }
    }
    assert.equal(text, expected.generated_text);
    assert.equal(finish, 'length');
    assert.equal(usage?.completion_tokens, expected.n_predict);
  });

  test('stop sequence', async () => {
    const r = await openai.completions.create({ model: STORIES, prompt: expected.prompt, temperature: 0, max_tokens: 64, stop: ['Lily'] });
    assert.equal(r.choices[0].text, expected.generated_text.slice(0, expected.generated_text.indexOf('Lily')));
    assert.equal(r.choices[0].finish_reason, 'stop');
  });
});

describe('embeddings (bert-tiny)', () => {
  const texts = bertGolden.embeddings.map((e) => e.text);
  const tol = bertGolden.tolerance.normalized_max_abs;

  // The openai client asks for base64 by default and decodes it itself.
  test('default (base64 on the wire): unit vectors equal to llama.cpp\'s', async () => {
    const r = await openai.embeddings.create({ model: BERT, input: texts });
    assert.equal(r.object, 'list');
    assert.equal(r.data.length, texts.length);
    r.data.forEach((d, i) => {
      assert.equal(d.index, i);
      assert.equal(d.embedding.length, bertGolden.n_embd);
      assert.ok(Math.abs(l2(d.embedding) - 1) < 1e-4, `|v| = ${l2(d.embedding)}`);
      assert.ok(maxAbsDiff(d.embedding, bertGolden.embeddings[i].normalized) <= tol, `text ${i}`);
    });
    assert.ok(r.usage.prompt_tokens > 0);
  });

  test('encoding_format float', async () => {
    const r = await openai.embeddings.create({ model: BERT, input: texts[2], encoding_format: 'float' });
    assert.equal(r.data.length, 1);
    assert.ok(maxAbsDiff(r.data[0].embedding, bertGolden.embeddings[2].normalized) <= tol);
  });
});

describe('models', () => {
  test('list has the store models', async () => {
    const ids = [];
    for await (const m of openai.models.list()) {
      assert.equal(m.object, 'model');
      assert.ok(Number.isInteger(m.created));
      ids.push(m.id);
    }
    for (const { name } of Object.values(MODELS)) {
      assert.ok(ids.includes(`${name}:latest`) || ids.includes(name), `${name} in ${ids}`);
    }
  });

  test('retrieve one; an unknown one is NotFoundError', async () => {
    const m = await openai.models.retrieve(`${STORIES}:latest`);
    assert.equal(m.object, 'model');
    assert.ok(m.id === `${STORIES}:latest` || m.id === STORIES, m.id);
    await assert.rejects(openai.models.retrieve('no-such-model'), OpenAI.NotFoundError);
  });
});

describe('errors through the openai client', () => {
  test('unknown model: NotFoundError with the model named', async () => {
    await assert.rejects(openai.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] }), (e) => {
      assert.ok(e instanceof OpenAI.NotFoundError, e.constructor.name);
      assert.equal(e.status, 404);
      assert.match(e.message, /model "no-such-model" not found/);
      return true;
    });
  });

  test('wrong type: BadRequestError naming the field', async () => {
    await assert.rejects(
      openai.chat.completions.create({ model: QWEN, messages: [{ role: 'user', content: 'hi' }], temperature: 'hot' }),
      (e) => e instanceof OpenAI.BadRequestError && /temperature/.test(e.message),
    );
    await assert.rejects(
      openai.completions.create({ model: STORIES, prompt: 'x', max_tokens: 'many' }),
      (e) => e instanceof OpenAI.BadRequestError && /max_tokens/.test(e.message),
    );
  });

  test('embeddings from a text-generation model: BadRequestError', async () => {
    await assert.rejects(openai.embeddings.create({ model: STORIES, input: 'x' }), OpenAI.BadRequestError);
  });
});
