// Structured output, tool calling and tool_choice through the real
// clients, on qwen2-tiny (random weights, Qwen's chat template with tools)
// sampling at temperature 1: whatever the model "wants", the constrained
// output must parse and validate.

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { MODELS, ensureModels, ollama, openai } from './helpers.mjs';

const QWEN = MODELS.qwen2.name;
const SEEDS = [1, 2, 3, 4, 5];

/**
 * Seeds of the feature-schema generations: GENERATIONS random seeds per
 * schema, from a base drawn per run (printed; set GOLEM_SEED to replay a
 * run).
 */
const GENERATIONS = 20;
const SEED_BASE = Number(process.env.GOLEM_SEED ?? Math.floor(Math.random() * 1e9));
const featureSeeds = (i) => Array.from({ length: GENERATIONS }, (_, j) => SEED_BASE + i * GENERATIONS + j);

before(ensureModels);

/**
 * validate checks value against the JSON Schema subset the tests use
 * (type, properties, required, additionalProperties: false, enum,
 * minimum/maximum, minLength/maxLength, pattern, items, minItems/maxItems,
 * anyOf) and returns the list of violations (empty when valid).
 */
function validate(schema, value, path = '$') {
  const errs = [];
  const fail = (msg) => errs.push(`${path}: ${msg} (${JSON.stringify(value)})`);
  if (schema.anyOf) {
    if (!schema.anyOf.some((s) => validate(s, value, path).length === 0)) fail('matches no anyOf branch');
    return errs;
  }
  if (schema.enum && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) fail('not in enum');
  const typeOf = (v) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  switch (schema.type) {
    case undefined:
      break;
    case 'integer':
      if (!Number.isInteger(value)) return fail('not an integer'), errs;
      break;
    default:
      if (typeOf(value) !== schema.type) return fail(`not ${schema.type}`), errs;
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) fail(`below ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) fail(`above ${schema.maximum}`);
  }
  if (typeof value === 'string') {
    const n = [...value].length;
    if (schema.minLength !== undefined && n < schema.minLength) fail('too short');
    if (schema.maxLength !== undefined && n > schema.maxLength) fail('too long');
    if (schema.pattern && !new RegExp(schema.pattern, 'u').test(value)) fail(`does not match ${schema.pattern}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) fail('too few items');
    if (schema.maxItems !== undefined && value.length > schema.maxItems) fail('too many items');
    if (schema.items) value.forEach((v, i) => errs.push(...validate(schema.items, v, `${path}[${i}]`)));
  }
  if (typeOf(value) === 'object') {
    for (const k of schema.required ?? []) if (!(k in value)) fail(`missing ${k}`);
    for (const [k, v] of Object.entries(value)) {
      const sub = schema.properties?.[k];
      if (sub) errs.push(...validate(sub, v, `${path}.${k}`));
      else if (schema.additionalProperties === false) fail(`unexpected property ${k}`);
    }
  }
  return errs;
}

/** A strict-mode schema: nested object, array of enums, a pattern, anyOf. */
const personSchema = {
  type: 'object',
  properties: {
    name: { type: 'string', maxLength: 10 },
    age: { type: 'integer', minimum: 0, maximum: 120 },
    tags: { type: 'array', items: { enum: ['red', 'green', 'blue'] }, minItems: 1, maxItems: 3 },
    contact: {
      anyOf: [
        { type: 'null' },
        {
          type: 'object',
          properties: { email: { type: 'string', pattern: '^[a-z]{1,8}@example\\.com$' } },
          required: ['email'],
          additionalProperties: false,
        },
      ],
    },
  },
  required: ['name', 'age', 'tags', 'contact'],
  additionalProperties: false,
};

/** Five strict schemas, one per feature the issue names. */
const strict = (properties) => ({ type: 'object', properties, required: Object.keys(properties), additionalProperties: false });
const featureSchemas = {
  nested: strict({
    user: strict({
      name: { type: 'string', maxLength: 8 },
      address: strict({ city: { type: 'string', maxLength: 10 }, zip: { type: 'string', pattern: '^[0-9]{5}$' } }),
    }),
  }),
  arrays: strict({ scores: { type: 'array', items: { type: 'integer', minimum: 0, maximum: 100 }, minItems: 2, maxItems: 4 } }),
  enums: strict({ color: { enum: ['red', 'green', 'blue'] }, size: { type: 'string', enum: ['S', 'M', 'L'] }, ok: { type: 'boolean' } }),
  pattern: strict({ id: { type: 'string', pattern: '^[A-Z]{2}-[0-9]{3}$' }, month: { type: 'string', pattern: '^20[0-9]{2}-(0[1-9]|1[0-2])$' } }),
  anyOf: strict({ value: { anyOf: [{ type: 'integer', minimum: 0, maximum: 9 }, { type: 'string', maxLength: 5 }, { type: 'null' }] } }),
};

const weatherParams = {
  type: 'object',
  properties: {
    city: { type: 'string', maxLength: 12 },
    unit: { enum: ['celsius', 'fahrenheit'] },
    days: { type: 'integer', minimum: 1, maximum: 7 },
  },
  required: ['city', 'unit', 'days'],
  additionalProperties: false,
};
const diceParams = {
  type: 'object',
  properties: { sides: { type: 'integer', minimum: 2, maximum: 20 } },
  required: ['sides'],
  additionalProperties: false,
};
const tools = [
  { type: 'function', function: { name: 'get_weather', description: 'Weather forecast', parameters: weatherParams, strict: true } },
  { type: 'function', function: { name: 'roll_dice', description: 'Roll a die', parameters: diceParams } },
];
const paramsOf = { get_weather: weatherParams, roll_dice: diceParams };
const ask = [{ role: 'user', content: 'What is the weather in Oslo for the next days?' }];

describe('validator self-check', () => {
  test('accepts a valid person and rejects broken ones', () => {
    const ok = { name: 'Ann', age: 30, tags: ['red'], contact: { email: 'ann@example.com' } };
    assert.deepEqual(validate(personSchema, ok), []);
    assert.deepEqual(validate(personSchema, { ...ok, contact: null }), []);
    for (const bad of [
      { ...ok, age: 30.5 },
      { ...ok, age: 121 },
      { ...ok, tags: [] },
      { ...ok, tags: ['pink'] },
      { ...ok, name: 'x'.repeat(11) },
      { ...ok, contact: { email: 'ann@example.org' } },
      { ...ok, extra: 1 },
      { name: 'a', age: 1, tags: ['red'] },
    ]) {
      assert.notDeepEqual(validate(personSchema, bad), [], JSON.stringify(bad));
    }
  });
});

describe('response_format json_schema (strict), openai client', () => {
  for (const seed of SEEDS) {
    test(`seed ${seed}: JSON.parse and validate`, async () => {
      const r = await openai.chat.completions.create({
        model: QWEN,
        messages: [{ role: 'user', content: 'Describe a person.' }],
        temperature: 1,
        seed,
        max_tokens: 400,
        response_format: { type: 'json_schema', json_schema: { name: 'person', strict: true, schema: personSchema } },
      });
      const c = r.choices[0];
      assert.equal(c.finish_reason, 'stop', `cut short: ${c.message.content}`);
      const v = JSON.parse(c.message.content);
      assert.deepEqual(validate(personSchema, v), [], c.message.content);
    });
  }

  // 5 schemas x 20 random seeds = 100 generations at temperature 1.
  Object.entries(featureSchemas).forEach(([name, schema], i) => {
    test(`${name}: ${GENERATIONS} random seeds parse and validate`, async (t) => {
      t.diagnostic(`seeds ${featureSeeds(i)[0]}..${featureSeeds(i).at(-1)} (GOLEM_SEED=${SEED_BASE})`);
      for (const seed of featureSeeds(i)) {
        const r = await openai.chat.completions.create({
          model: QWEN,
          messages: [{ role: 'user', content: `Fill in ${name}.` }],
          temperature: 1,
          seed,
          max_tokens: 300,
          response_format: { type: 'json_schema', json_schema: { name, strict: true, schema } },
        });
        const c = r.choices[0];
        assert.equal(c.finish_reason, 'stop', `seed ${seed} cut short: ${c.message.content}`);
        let v;
        assert.doesNotThrow(() => (v = JSON.parse(c.message.content)), `seed ${seed}: not JSON: ${c.message.content}`);
        assert.deepEqual(validate(schema, v), [], `seed ${seed}: ${c.message.content}`);
      }
    });
  });

  test('legacy completions take response_format too', async () => {
    const r = await openai.completions.create({
      model: QWEN,
      prompt: 'A person:',
      temperature: 1,
      seed: 7,
      max_tokens: 400,
      response_format: { type: 'json_schema', json_schema: { name: 'person', schema: personSchema } },
    });
    assert.equal(r.choices[0].finish_reason, 'stop');
    assert.deepEqual(validate(personSchema, JSON.parse(r.choices[0].text)), []);
  });
});

describe('tools and tool_choice, openai client', () => {
  for (const seed of SEEDS.slice(0, 3)) {
    test(`seed ${seed}: named function -> tool_calls[0] arguments validate`, async () => {
      const r = await openai.chat.completions.create({
        model: QWEN,
        messages: ask,
        tools,
        tool_choice: { type: 'function', function: { name: 'get_weather' } },
        temperature: 1,
        seed,
        max_tokens: 200,
      });
      const c = r.choices[0];
      assert.equal(c.finish_reason, 'tool_calls');
      assert.equal(c.message.tool_calls.length, 1);
      const call = c.message.tool_calls[0];
      assert.equal(call.type, 'function');
      assert.match(call.id, /^call_/);
      assert.equal(call.function.name, 'get_weather');
      assert.equal(typeof call.function.arguments, 'string');
      assert.deepEqual(validate(weatherParams, JSON.parse(call.function.arguments)), [], call.function.arguments);
    });
  }

  test('required, streamed: the SDK assembles the tool call', async () => {
    const stream = openai.chat.completions.stream({
      model: QWEN,
      messages: ask,
      tools,
      tool_choice: 'required',
      temperature: 1,
      seed: 9,
      max_tokens: 200,
    });
    let deltas = 0;
    for await (const chunk of stream) {
      for (const tc of chunk.choices[0]?.delta?.tool_calls ?? []) {
        deltas++;
        assert.equal(tc.index, 0);
        assert.match(tc.id, /^call_/);
      }
    }
    const final = await stream.finalChatCompletion();
    const c = final.choices[0];
    assert.equal(deltas, 1);
    assert.equal(c.finish_reason, 'tool_calls');
    const call = c.message.tool_calls[0];
    assert.ok(call.function.name in paramsOf, call.function.name);
    assert.deepEqual(validate(paramsOf[call.function.name], JSON.parse(call.function.arguments)), [], call.function.arguments);
  });

  test('tool loop: the call and its result go back, the model answers', async () => {
    const first = await openai.chat.completions.create({
      model: QWEN,
      messages: ask,
      tools,
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      temperature: 1,
      seed: 3,
      max_tokens: 200,
    });
    const msg = first.choices[0].message;
    const second = await openai.chat.completions.create({
      model: QWEN,
      messages: [...ask, msg, { role: 'tool', tool_call_id: msg.tool_calls[0].id, content: '{"temperature": 21}' }],
      tools,
      temperature: 1,
      seed: 3,
      max_tokens: 8,
    });
    assert.equal(second.choices[0].message.role, 'assistant');
    assert.ok(second.usage.prompt_tokens > first.usage.prompt_tokens, 'the second prompt holds the call and the result');
  });

  test('tool_choice none: no tool_calls', async () => {
    const r = await openai.chat.completions.create({ model: QWEN, messages: ask, tools, tool_choice: 'none', temperature: 0, max_tokens: 8 });
    assert.equal(r.choices[0].message.tool_calls, undefined);
    assert.notEqual(r.choices[0].finish_reason, 'tool_calls');
  });

  test('an unknown function in tool_choice is a BadRequestError', async () => {
    await assert.rejects(
      openai.chat.completions.create({ model: QWEN, messages: ask, tools, tool_choice: { type: 'function', function: { name: 'nope' } } }),
      (e) => e.status === 400 && /nope/.test(e.message),
    );
  });
});

describe('tools, ollama-js client', () => {
  test('plain tools: the answer has the chat shape', async () => {
    const r = await ollama.chat({ model: QWEN, messages: ask, tools, options: { temperature: 1, seed: 1, num_predict: 16 } });
    assert.equal(r.message.role, 'assistant');
    assert.equal(typeof r.message.content, 'string');
    assert.equal(r.done, true);
    for (const tc of r.message.tool_calls ?? []) {
      assert.equal(typeof tc.function.name, 'string');
      assert.equal(typeof tc.function.arguments, 'object');
    }
  });

  test('tool_choice (a Golem extension ollama-js passes through): arguments are an object that validates', async () => {
    for (const seed of [1, 2]) {
      const r = await ollama.chat({
        model: QWEN,
        messages: ask,
        tools,
        tool_choice: { type: 'function', function: { name: 'get_weather' } },
        options: { temperature: 1, seed, num_predict: 200 },
      });
      assert.equal(r.message.tool_calls.length, 1);
      const fn = r.message.tool_calls[0].function;
      assert.equal(fn.name, 'get_weather');
      assert.deepEqual(validate(weatherParams, fn.arguments), [], JSON.stringify(fn.arguments));
    }
  });

  test('streamed: one chunk carries the tool call', async () => {
    const stream = await ollama.chat({
      model: QWEN,
      messages: ask,
      tools,
      tool_choice: 'required',
      stream: true,
      options: { temperature: 1, seed: 4, num_predict: 200 },
    });
    const calls = [];
    for await (const chunk of stream) calls.push(...(chunk.message.tool_calls ?? []));
    assert.equal(calls.length, 1);
    assert.ok(calls[0].function.name in paramsOf);
    assert.deepEqual(validate(paramsOf[calls[0].function.name], calls[0].function.arguments), []);
  });
});
