// Bad input and cancellation through the clients: unknown model, bad
// option types, malformed JSON (hand-built: the clients always send valid
// JSON), a prompt longer than the context, aborting a stream mid-way, many
// clients at once; after each, a normal request must still work.

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { Ollama } from 'ollama';
import { HOST, MODELS, ensureModels, ollama, rawPost, readJSON } from './helpers.mjs';

const expected = readJSON('models/stories260K.expected.json');
const STORIES = MODELS.stories.name;
const greedy = { temperature: 0, num_predict: expected.n_predict };

before(ensureModels);

// stillServes checks that a normal request gets llama.cpp's text.
async function stillServes() {
  const r = await ollama.generate({ model: STORIES, prompt: expected.prompt, raw: true, options: greedy });
  assert.equal(r.response, expected.generated_text);
}

// rejectsWith asserts that p fails with an ollama-js ResponseError of the
// given status whose message matches re.
async function rejectsWith(p, status, re) {
  await assert.rejects(p, (e) => {
    assert.equal(e.name, 'ResponseError', `${e.name}: ${e.message}`);
    assert.equal(e.status_code, status, e.message);
    assert.match(e.message, re);
    return true;
  });
}

describe('bad requests get clear errors', () => {
  test('unknown model: 404 "not found", streamed or not, every endpoint', async () => {
    const msg = /^model "no-such-model" not found, try pulling it first$/;
    await rejectsWith(ollama.generate({ model: 'no-such-model', prompt: 'x' }), 404, msg);
    await rejectsWith(ollama.generate({ model: 'no-such-model', prompt: 'x', stream: true }), 404, msg);
    await rejectsWith(ollama.chat({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }], stream: true }), 404, msg);
    await rejectsWith(ollama.embed({ model: 'no-such-model', input: 'x' }), 404, msg);
    await rejectsWith(ollama.show({ model: 'no-such-model' }), 404, msg);
    await stillServes();
  });

  test('bad option types: 400 naming the option', async () => {
    await rejectsWith(ollama.generate({ model: STORIES, prompt: 'x', options: { temperature: 'hot' } }), 400, /temperature/);
    await rejectsWith(ollama.generate({ model: STORIES, prompt: 'x', options: { num_predict: '5' } }), 400, /num_predict/);
    await rejectsWith(ollama.chat({ model: STORIES, messages: [{ role: 'user', content: 'x' }], options: { top_k: [1] } }), 400, /top_k/);
    // Right type, value out of range (llama.cpp's sampler needs > 0).
    await rejectsWith(ollama.generate({ model: STORIES, prompt: 'x', options: { repeat_penalty: 0, num_predict: 2 } }), 400, /repeat_penalty/);
    await stillServes();
  });

  test('wrong field type and missing model: 400', async () => {
    await rejectsWith(ollama.generate({ model: STORIES, prompt: 42 }), 400, /prompt/);
    await rejectsWith(ollama.generate({ model: '', prompt: 'x' }), 400, /model is required/);
  });

  test('malformed JSON and an empty body (hand-built): 400', async () => {
    const bad = await rawPost('/api/generate', '{"model": "stories260k", "prompt": ');
    assert.equal(bad.status, 400);
    assert.match(bad.json.error, /invalid JSON/);
    const empty = await rawPost('/api/chat', '');
    assert.equal(empty.status, 400);
    assert.match(empty.json.error, /missing request body/);
    await stillServes();
  });

  test('unknown fields are ignored, as Ollama does', async () => {
    const r = await ollama.generate({ model: STORIES, prompt: expected.prompt, raw: true, options: greedy, no_such_field: true });
    assert.equal(r.response, expected.generated_text);
  });

  test('a prompt longer than the context: 400, then the server still serves', async () => {
    const long = 'Once upon a time there was a dog. '.repeat(40);
    await rejectsWith(ollama.generate({ model: STORIES, prompt: long, raw: true, options: { num_ctx: 32, num_predict: 4 }, truncate: false }), 400, /context/);
    await stillServes();
  });
});

describe('cancellation', () => {
  // activeOf returns ps's count of running requests on a model.
  async function activeOf(name) {
    const { models } = await ollama.ps();
    const m = models.find((x) => x.name === name || x.name === `${name}:latest`);
    assert.ok(m, `${name} is loaded`);
    assert.equal(typeof m.active, 'number', 'ps reports active');
    return m.active;
  }

  // waitIdle polls ps until the model has no running request.
  async function waitIdle(name, ms) {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if ((await activeOf(name)) === 0) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.fail(`${name} still has ${await activeOf(name)} active request(s) ${ms} ms after the client left`);
  }

  for (const how of ['client.abort()', 'stream.abort()']) {
    test(`${how} mid-stream stops the generation; a normal request then works`, async () => {
      const client = new Ollama({ host: HOST });
      // 8000 tokens of qwen2-tiny take well over 10 s on these machines
      // (about 1.4 ms a token at short context, more later), so idle
      // within 3 s means the abort stopped the generation.
      const stream = await client.generate({
        model: MODELS.qwen2.name, prompt: expected.prompt, raw: true, stream: true,
        options: { temperature: 0, num_predict: 8000, num_ctx: 8192 },
      });
      let got = 0;
      await assert.rejects(async () => {
        for await (const chunk of stream) {
          assert.ok(!chunk.done, 'the generation ended before the abort');
          if (++got === 5) {
            if (how === 'client.abort()') client.abort();
            else stream.abort();
          }
        }
      }, (e) => e.name === 'AbortError');
      // Lines already read before the abort may still be handed out.
      assert.ok(got >= 5 && got < 200, `${got} chunks read`);
      assert.equal(await activeOf(MODELS.qwen2.name) <= 1, true);
      await waitIdle(MODELS.qwen2.name, 3000);
      await stillServes();
    });
  }

  test('16 clients at once each get the full answer', async () => {
    const rs = await Promise.all(Array.from({ length: 16 }, (_, i) => {
      const c = new Ollama({ host: HOST });
      const opts = { temperature: 0, num_predict: 16 };
      return i % 2 === 0
        ? c.generate({ model: STORIES, prompt: expected.prompt, raw: true, options: opts })
        : c.generate({ model: STORIES, prompt: expected.prompt, raw: true, options: opts, stream: true })
          .then(async (s) => { let text = ''; for await (const ch of s) text += ch.response; return { response: text }; });
    }));
    const want = rs[0].response;
    assert.ok(expected.generated_text.startsWith(want) && want.length > 10, JSON.stringify(want));
    rs.forEach((r, i) => assert.equal(r.response, want, `client ${i}`));
  });
});
