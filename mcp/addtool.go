package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/jsonschema-go/jsonschema"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// addTool binds a typed handler as sdk.AddTool does — schemas inferred from
// In and Out (jsonschema tags describe each field), a handler error as a
// tool error — but decodes the arguments strictly with encoding/json
// instead of validating them against the schema. The SDK's validation
// decodes each call's arguments and result three more times, which cost
// more than the pipeline itself on the get_customer_context path; strict
// decoding refuses the same unknown fields and wrong types, and each handler
// checks what it requires.
func addTool[In, Out any](srv *sdk.Server, t *sdk.Tool, h func(context.Context, *sdk.CallToolRequest, In) (Out, error)) {
	t.InputSchema = mustSchema[In]()
	t.OutputSchema = mustSchema[Out]()
	srv.AddTool(t, func(ctx context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
		var in In
		if args := bytes.TrimSpace(req.Params.Arguments); len(args) > 0 && !bytes.Equal(args, []byte("null")) {
			dec := json.NewDecoder(bytes.NewReader(args))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&in); err != nil {
				return errorResult(fmt.Errorf("invalid_request: the arguments do not fit the tool's schema: %w", err)), nil
			}
		}
		out, err := h(ctx, req, in)
		if err != nil {
			return errorResult(err), nil
		}
		b, err := json.Marshal(out)
		if err != nil {
			return nil, fmt.Errorf("marshal %s result: %w", t.Name, err)
		}
		return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: string(b)}},
			StructuredContent: json.RawMessage(b)}, nil
	})
}

func errorResult(err error) *sdk.CallToolResult {
	res := &sdk.CallToolResult{}
	res.SetError(err)
	return res
}

func mustSchema[T any]() *jsonschema.Schema {
	s, err := jsonschema.For[T](nil)
	if err != nil {
		panic(err) // the types are this package's own
	}
	return s
}
