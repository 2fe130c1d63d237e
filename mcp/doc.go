// Package mcp is crisp's MCP tool server: the door by which agents (Claude
// Desktop, Cursor, any MCP client) reach customer context. It serves the
// same tools and resources over streamable HTTP (mounted at /mcp, the crisp
// key as "Authorization: Bearer", 401 with a Bearer challenge without one)
// and over stdio (`crisp mcp`, the key given at start), on the official Go
// SDK.
//
// Every tool call is one governed use of the proxy's pipeline, with its own
// action, so a policy can allow or deny each tool:
//
//	tool                  action                          customer  through
//	get_customer_context  ai.agent.get_customer_context   yes       proxy.ContextFor
//	get_journey           ai.agent.get_journey            yes       proxy.Govern; events the catalog shows for ai
//	draft_reply           ai.agent.draft_reply            yes       proxy.Draft (an LLM call through the pipeline)
//	search_customers      ai.agent.search_customers       no        proxy.GovernWorkspace; fields shown for the action
//	explain_access        ai.agent.explain_access         no        proxy.GovernWorkspace; proxy.CheckAs
//	list_catalog_fields   ai.agent.list_catalog_fields    no        proxy.GovernWorkspace; the catalog
//
// The catalog is also served as resources, crisp://catalog/fields (the
// list) and crisp://catalog/fields/{name}, read under
// ai.agent.list_catalog_fields. Each call leaves one audit record whose
// endpoint is "mcp:<tool>" ("mcp:resources/read" for resources).
//
// A tool names its customer with customer_id plus user_hash (the hex HMAC of
// X-Crisp-User-Hash) or identity_token (the JWT of X-Crisp-Identity-Token),
// checked by the proxy's verifier; an unsigned customer goes on unverified,
// for policy to decide. A refusal is a tool error (IsError) whose text is
// the decision's message — the rule and the failing clause — so the agent
// can say why; explain_access says what would change it.
//
// This package must never return a value the policy hides or masks for the
// tool's action: only fields that resolve to shown leave (plus, from
// search_customers, each customer's id: the handle the other tools take),
// text passes the use's redaction, and a search matches only through fields
// the caller may see (an email only as a whole address), so a result tells
// nothing about a withheld value. It must never put the cause of an
// internal error in a result (that is logged), and in stdio mode never
// write to stdout except the protocol. It holds no state beyond its options.
package mcp
