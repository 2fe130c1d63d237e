// End-to-end checks of crisp's Anthropic-compatible /v1/messages with the
// official @anthropic-ai/sdk package, served by an OpenAI-compatible
// provider behind crisp. proxy/node_test.go runs it with CRISP_URL,
// CRISP_KEY and EXPECT_ANSWER set. One line per check; a failure exits 1.
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';

const url = process.env.CRISP_URL;
const key = process.env.CRISP_KEY;
const answer = process.env.EXPECT_ANSWER;
if (!url || !key || !answer) {
  console.error('CRISP_URL, CRISP_KEY and EXPECT_ANSWER must be set');
  process.exit(2);
}

// The SDK sends the key as x-api-key, as Claude clients do.
const client = new Anthropic({ baseURL: url, apiKey: key, maxRetries: 0, timeout: 10_000 });
const request = {
  model: 'gpt-4o-mini',
  max_tokens: 256,
  system: 'You are a support assistant.',
  messages: [{ role: 'user', content: 'How many seats does the trial include?' }],
};

const checks = {
  async 'messages non-stream'() {
    const m = await client.messages.create(request);
    assert.equal(m.type, 'message');
    assert.equal(m.role, 'assistant');
    assert.equal(m.content[0].type, 'text');
    assert.equal(m.content[0].text, answer);
    assert.equal(m.stop_reason, 'end_turn');
    assert.ok(m.usage.output_tokens > 0);
  },

  async 'messages stream'() {
    const stream = client.messages.stream(request);
    let text = '';
    stream.on('text', (t) => { text += t; });
    const final = await stream.finalMessage();
    assert.equal(text, answer);
    assert.equal(final.content[0].text, answer);
    assert.equal(final.stop_reason, 'end_turn');
  },

  async 'bad key'() {
    const bad = new Anthropic({ baseURL: url, apiKey: 'ck_wrong', maxRetries: 0 });
    await assert.rejects(bad.messages.create(request), (err) => {
      assert.ok(err instanceof Anthropic.AuthenticationError, `got ${err.constructor.name}`);
      assert.equal(err.status, 401);
      assert.equal(err.error?.type, 'error');
      assert.equal(err.error?.error?.type, 'authentication_error');
      return true;
    });
  },

  async 'missing max_tokens'() {
    const { max_tokens, ...noMax } = request;
    await assert.rejects(client.messages.create(noMax), (err) => {
      assert.ok(err instanceof Anthropic.BadRequestError, `got ${err.constructor.name}`);
      assert.equal(err.error?.error?.type, 'invalid_request_error');
      return true;
    });
  },
};

let failed = 0;
for (const [name, check] of Object.entries(checks)) {
  try {
    await check();
    console.log(`ok ${name}`);
  } catch (err) {
    failed++;
    console.log(`FAIL ${name}: ${err?.stack ?? err}`);
  }
}
process.exit(failed ? 1 : 0);
