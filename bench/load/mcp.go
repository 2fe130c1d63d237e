package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/tidwall/gjson"
)

const (
	mcpPath = "/mcp"
	// mcpTool is the tool the MCP cell calls, and mcpProtocol the
	// version the bare client asks for.
	mcpTool     = "get_customer_context"
	mcpProtocol = "2025-06-18"
	// mcpAccept is what a streamable HTTP client must accept; crisp
	// answers with JSON.
	mcpAccept = "application/json, text/event-stream"
)

// mcpCall is one tools/call of get_customer_context for the example
// customer, signed, on the full crisp at base. It carries no session:
// openMCP gives each worker its own.
func mcpCall(base string) call {
	body := fmt.Sprintf(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":%q,`+
		`"arguments":{"customer_id":%q,"user_hash":%q}}}`, mcpTool, exampleUser, signUser(identitySecret, exampleUser))
	return call{url: base + mcpPath, body: []byte(body), check: validateMCP}
}

// validateMCP checks a tools/call answer: a JSON-RPC result that is no
// tool error and whose content carries the example customer's approved
// plan. A refused call (a tool error) would measure the policy's deny
// path, not the context pack.
func validateMCP(b []byte) error {
	if !gjson.ValidBytes(b) {
		return fmt.Errorf("MCP answer is not JSON: %s", clip(b, 200))
	}
	res := gjson.GetBytes(b, "result")
	switch {
	case gjson.GetBytes(b, "error").Exists():
		return fmt.Errorf("JSON-RPC error: %s", clip([]byte(gjson.GetBytes(b, "error").Raw), 200))
	case !res.IsObject():
		return fmt.Errorf("MCP answer has no result: %s", clip(b, 200))
	case res.Get("isError").Bool():
		return fmt.Errorf("tool error: %s", clip([]byte(res.Get("content").Raw), 200))
	}
	var text strings.Builder
	for _, c := range res.Get("content").Array() {
		text.WriteString(c.Get("text").Str)
	}
	for _, want := range []string{"account.plan", "Growth trial"} {
		if !strings.Contains(text.String(), want) {
			return fmt.Errorf("tool result does not mention %q: %s", want, clip([]byte(text.String()), 200))
		}
	}
	return nil
}

// openMCP opens one streamable HTTP session on the crisp at base, as a
// client does before calling tools (initialize, then
// notifications/initialized), and returns the headers that name it.
func openMCP(ctx context.Context, client *http.Client, base string) (http.Header, error) {
	h := http.Header{}
	h.Set("Accept", mcpAccept)
	b, resp, err := mcpPost(ctx, client, base, h, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"`+
		mcpProtocol+`","capabilities":{},"clientInfo":{"name":"crisp-bench-load","version":"1"}}}`)
	if err != nil {
		return nil, fmt.Errorf("MCP initialize: %w", err)
	}
	id := resp.Header.Get("Mcp-Session-Id")
	version := gjson.GetBytes(b, "result.protocolVersion").Str
	if id == "" || version == "" {
		return nil, fmt.Errorf("MCP initialize: no session or protocol version: %s", clip(b, 200))
	}
	h.Set("Mcp-Session-Id", id)
	h.Set("Mcp-Protocol-Version", version)
	if _, _, err := mcpPost(ctx, client, base, h, `{"jsonrpc":"2.0","method":"notifications/initialized"}`); err != nil {
		return nil, fmt.Errorf("MCP notifications/initialized: %w", err)
	}
	return h, nil
}

// openMCPSessions opens n sessions, one per worker of a cell.
func openMCPSessions(ctx context.Context, client *http.Client, base string, n int) ([]http.Header, error) {
	out := make([]http.Header, 0, n)
	for range n {
		h, err := openMCP(ctx, client, base)
		if err != nil {
			return out, err
		}
		out = append(out, h)
	}
	return out, nil
}

// closeMCPSessions ends the sessions, so crisp does not hold them until
// they time out. A failure only leaves a session to time out.
func closeMCPSessions(ctx context.Context, client *http.Client, base string, sessions []http.Header) {
	for _, h := range sessions {
		req, err := http.NewRequestWithContext(ctx, http.MethodDelete, base+mcpPath, nil)
		if err != nil {
			return
		}
		req.Header = h.Clone()
		req.Header.Set("Authorization", "Bearer "+benchKey)
		if resp, err := client.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
}

// mcpPost sends one JSON-RPC message with the support key and returns the
// answer's body.
func mcpPost(ctx context.Context, client *http.Client, base string, h http.Header, body string) ([]byte, *http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+mcpPath, bytes.NewReader([]byte(body)))
	if err != nil {
		return nil, nil, err
	}
	req.Header = h.Clone()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+benchKey)
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("read body: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		return b, resp, fmt.Errorf("status %d: %s", resp.StatusCode, clip(b, 200))
	}
	if gjson.GetBytes(b, "error").Exists() {
		return b, resp, fmt.Errorf("JSON-RPC error: %s", clip(b, 200))
	}
	return b, resp, nil
}

// runMCP measures get_customer_context on the full crisp at each of the
// MCP concurrencies, each worker in its own session (opened before the
// clock starts and kept for the warm-up and every round).
func runMCP(ctx context.Context, o options, p plan, full *crispProc, stderr io.Writer) ([]result, error) {
	if full == nil {
		return nil, errors.New("mcp: the full crisp is not running")
	}
	base := "http://" + full.proc.addr
	var out []result
	for _, conc := range p.mcpConcs {
		client := newClient(conc)
		sessions, err := openMCPSessions(ctx, client, base, conc)
		if err != nil {
			client.CloseIdleConnections()
			return nil, err
		}
		c := mcpCall(base)
		c.sessions = sessions
		res, err := runCell(ctx, o, "mcp", []target{{nameFull, c, full.proc}}, conc, o.nMCP, stderr)
		closeMCPSessions(ctx, client, base, sessions)
		client.CloseIdleConnections()
		if err != nil {
			return nil, err
		}
		out = append(out, res...)
	}
	return out, nil
}
