// End-to-end checks of crisp's OpenAI-compatible API with the official
// openai npm package. proxy/node_test.go starts crisp in front of a fake
// provider and runs this with CRISP_URL (no /v1) and CRISP_KEY set;
// EXPECT_ANSWER is the fake's answer text. One line per check; any failure
// exits non-zero.
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const url = process.env.CRISP_URL;
const key = process.env.CRISP_KEY;
const answer = process.env.EXPECT_ANSWER;
if (!url || !key || !answer) {
  console.error('CRISP_URL, CRISP_KEY and EXPECT_ANSWER must be set');
  process.exit(2);
}

// No retries: a retried failure would hide what crisp answered first.
const client = new OpenAI({ baseURL: url + '/v1', apiKey: key, maxRetries: 0, timeout: 10_000 });
const messages = [{ role: 'user', content: 'How many seats does the trial include?' }];

const checks = {
  async 'chat non-stream'() {
    const c = await client.chat.completions.create({ model: 'fast', messages });
    assert.equal(c.object, 'chat.completion');
    assert.equal(c.model, 'gpt-4o-mini');
    assert.equal(c.choices[0].message.content, answer);
    assert.equal(c.choices[0].finish_reason, 'stop');
  },

  async 'chat stream'() {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini', messages, stream: true, stream_options: { include_usage: true },
    });
    let text = '';
    let finish = null;
    let usage = null;
    for await (const chunk of stream) {
      for (const ch of chunk.choices) {
        text += ch.delta?.content ?? '';
        finish = ch.finish_reason ?? finish;
      }
      usage = chunk.usage ?? usage;
    }
    assert.equal(text, answer);
    assert.equal(finish, 'stop');
    assert.ok(usage && usage.total_tokens > 0, 'usage chunk arrives');
  },

  async 'responses non-stream'() {
    const r = await client.responses.create({ model: 'gpt-4o-mini', input: 'seats?' });
    assert.equal(r.status, 'completed');
    assert.equal(r.output_text, answer);
  },

  async 'responses stream'() {
    const stream = await client.responses.create({ model: 'gpt-4o-mini', input: 'seats?', stream: true });
    let text = '';
    let completed = null;
    for await (const ev of stream) {
      if (ev.type === 'response.output_text.delta') text += ev.delta;
      if (ev.type === 'response.completed') completed = ev.response;
      assert.notEqual(ev.type, 'error', `error event: ${JSON.stringify(ev)}`);
    }
    assert.equal(text, answer);
    assert.ok(completed, 'response.completed arrives');
    assert.equal(completed.output_text ?? completed.output[0].content[0].text, answer);
  },

  async 'embeddings (base64 by default)'() {
    const e = await client.embeddings.create({
      model: 'text-embedding-3-small', input: ['seat limits', 'billing'],
    });
    assert.equal(e.data.length, 2);
    const want = [0.1, -0.2, 0.3].map(Math.fround);
    for (const [i, d] of e.data.entries()) {
      assert.equal(d.index, i);
      assert.deepEqual(Array.from(d.embedding), [...want, i]);
    }
  },

  async 'models list'() {
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    for (const want of ['gpt-4o-mini', 'gpt-4o', 'text-embedding-3-small', 'fast']) {
      assert.ok(ids.includes(want), `${want} listed in ${ids}`);
    }
    assert.ok(!ids.includes('dall-e-3'), `dall-e-3 is not routed, yet listed in ${ids}`);
  },

  async 'bad key is a 401 AuthenticationError'() {
    const bad = new OpenAI({ baseURL: url + '/v1', apiKey: 'ck_not_a_key', maxRetries: 0, timeout: 10_000 });
    await assert.rejects(bad.chat.completions.create({ model: 'gpt-4o-mini', messages }), (err) => {
      assert.ok(err instanceof OpenAI.AuthenticationError, `got ${err}`);
      assert.equal(err.status, 401);
      assert.equal(err.code, 'invalid_api_key');
      return true;
    });
  },

  async 'unknown model is a 404 NotFoundError'() {
    await assert.rejects(client.chat.completions.create({ model: 'no-such-model', messages }), (err) => {
      assert.ok(err instanceof OpenAI.NotFoundError, `got ${err}`);
      assert.equal(err.code, 'model_not_found');
      return true;
    });
  },
};

let failed = 0;
for (const [name, check] of Object.entries(checks)) {
  try {
    await check();
    console.log(`ok   ${name}`);
  } catch (err) {
    failed++;
    console.log(`FAIL ${name}: ${err?.stack ?? err}`);
  }
}
process.exit(failed ? 1 : 0);
