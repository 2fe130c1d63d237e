// Package anthropicwire translates between Anthropic's Messages API and
// OpenAI's Chat Completions API, so crisp's POST /v1/messages (Claude
// clients) can be served by any OpenAI-compatible provider.
//
// It owns four pure translations and nothing else:
//
//   - ToChat: a Messages request body → a chat completions request body.
//   - FromChat: a chat completion → an Anthropic Message.
//   - Stream: chat completion chunks → Anthropic stream events.
//   - Error / StreamError: Anthropic's error bodies and error event.
//   - Model / Streaming: the two request fields the proxy routes on.
//
// It must never do I/O, log, keep package state, or decide policy. The proxy
// redacts the translated chat body (the one ToChat returns), not the
// Anthropic original, so one redactor serves both doors; everything a
// provider can read is in that body.
//
// # Request mapping (ToChat)
//
// model, max_tokens (kept as max_tokens), temperature, top_p,
// stop_sequences → stop, metadata.user_id → user, stream → stream plus
// stream_options.include_usage. system (a string or text blocks) becomes one
// system message, blocks joined by a blank line. Message content may be a
// string or blocks: text; image (base64 → data: URL, url → URL); document
// with a text source (→ text); tool_use in assistant turns → tool_calls
// (arguments = the input's JSON); tool_result in user turns → role "tool"
// messages placed before the rest of that turn, text blocks joined by a
// blank line, images moved into the user message that follows (OpenAI tool
// messages carry text only). thinking and redacted_thinking blocks are
// dropped, as is every cache_control. tools (custom tools only) → functions;
// tool_choice auto/any/tool/none → "auto"/"required"/{function}/"none", and
// disable_parallel_tool_use → parallel_tool_calls:false.
//
// Other top-level fields are dropped: top_k, thinking, service_tier,
// container, mcp_servers, context_management and any field not named above.
// Refused with a *RequestError (400 invalid_request_error): a body that is
// not a JSON object, a missing model, messages or max_tokens, a field of the
// wrong type, a role other than user/assistant, a block type the mapping
// above does not name (including base64/url/file documents and image file
// sources, which could not be redacted or fetched), and server tools
// (web_search_*, bash_*, ...), which an OpenAI-compatible provider cannot
// run. tool_result's is_error flag is dropped: chat tool messages have none.
//
// # Response mapping (FromChat, Stream)
//
// finish_reason → stop_reason: stop → end_turn, length → max_tokens,
// tool_calls and function_call → tool_use, content_filter → refusal; a
// "stop" that carries tool calls (some providers) → tool_use, a refusal
// text → refusal, anything else → end_turn. stop_sequence is always null:
// OpenAI reports a stop sequence as plain "stop" without naming it. Usage:
// input_tokens = prompt_tokens − cached_tokens, cache_read_input_tokens =
// cached_tokens, cache_creation_input_tokens = 0, output_tokens =
// completion_tokens. The model is the one the client asked for; the id is
// "msg_" plus the upstream id (a "chatcmpl-" prefix removed). Reasoning
// fields some providers add (reasoning_content) are dropped: a thinking
// block needs a signature only Anthropic can make.
//
// # Wire shapes checked
//
// Event names, payloads and order follow Anthropic's streaming guide
// (https://platform.claude.com/docs/en/build-with-claude/streaming):
// message_start with empty content, then per block content_block_start, one
// or more content_block_delta (text_delta, or input_json_delta whose
// partial_json strings concatenate to the tool's input object),
// content_block_stop, then message_delta (stop_reason, stop_sequence,
// cumulative usage) and message_stop; "event: error" with
// {"type":"error","error":{...}} may end a stream. Each event's data carries
// a "type" equal to its event name. The TypeScript SDK's MessageStream
// (anthropics/anthropic-sdk-typescript src/lib/MessageStream.ts) appends a
// block on content_block_start and applies deltas by index, and reports
// content.at(-1) on content_block_stop, so indexes here are 0, 1, 2, … in
// start order and only one block is open at a time: interleaved parallel
// tool-call fragments are held back and released block by block. One
// exception: argument fragments for a call that arrive after text has cut
// into it go to the call's (closed) block index, which the TypeScript and
// Python SDKs apply by index; dropping them would corrupt the call. Text
// deltas map one to one onto upstream content deltas, never re-chunked. Error
// types follow https://docs.claude.com/en/api/errors plus the SDK's
// ErrorType union (timeout_error for 504).
package anthropicwire
