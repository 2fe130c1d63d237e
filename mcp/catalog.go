package mcp

import (
	"context"
	"encoding/json"
	"strings"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/crisphq/crisp/catalog"
	"github.com/crisphq/crisp/proxy"
)

// The catalog's resource URIs: the list, and one field per URI under it.
const (
	FieldsURI      = "crisp://catalog/fields"
	fieldURIPrefix = FieldsURI + "/"
)

// FieldInfo describes one catalog field: what it means, never a value.
type FieldInfo struct {
	Name           string            `json:"name"`
	Type           string            `json:"type"`
	Values         []string          `json:"values,omitempty" jsonschema:"the allowed values of an enum"`
	Description    string            `json:"description"`
	Owner          string            `json:"owner"`
	Source         string            `json:"source" jsonschema:"the system the field comes from"`
	Classification string            `json:"classification" jsonschema:"public, internal, confidential or secret"`
	Note           string            `json:"note,omitempty"`
	AI             string            `json:"ai" jsonschema:"the catalog's default for AI use: show, mask or hide"`
	SafeForAI      bool              `json:"safe_for_ai" jsonschema:"true when AI may see the value as it is"`
	Uses           map[string]string `json:"uses" jsonschema:"the default per use: support, ai, reporting, automation"`
}

// EventInfo describes one catalog event.
type EventInfo struct {
	Name           string `json:"name"`
	Description    string `json:"description"`
	Owner          string `json:"owner"`
	Source         string `json:"source"`
	Classification string `json:"classification"`
	AI             string `json:"ai" jsonschema:"the catalog's default for AI use: show, mask or hide"`
	SafeForAI      bool   `json:"safe_for_ai"`
}

type catalogIn struct {
	Prefix string `json:"prefix,omitempty" jsonschema:"only fields and events whose name starts with this, e.g. account. or customer."`
}

type catalogOut struct {
	Fields         []FieldInfo `json:"fields"`
	Events         []EventInfo `json:"events"`
	CatalogVersion string      `json:"catalog_version"`
	AuditID        string      `json:"audit_id"`
}

func fieldInfo(f catalog.Field) FieldInfo {
	uses := map[string]string{}
	for _, use := range catalog.AllUses() {
		uses[use] = f.Uses.For(use).Verb()
	}
	return FieldInfo{Name: f.Name, Type: string(f.Type), Values: f.Values, Description: f.Description, Owner: f.Owner,
		Source: string(f.Source), Classification: string(f.Classification), Note: f.Note,
		AI: f.Uses.AI.Verb(), SafeForAI: f.Uses.AI == catalog.Show, Uses: uses}
}

func (t *tools) fieldInfos(prefix string) []FieldInfo {
	out := []FieldInfo{}
	for _, f := range t.s.opts.Catalog.Fields() {
		if strings.HasPrefix(f.Name, prefix) {
			out = append(out, fieldInfo(f))
		}
	}
	return out
}

func (t *tools) listCatalog(ctx context.Context, req *sdk.CallToolRequest, in catalogIn) (catalogOut, error) {
	u, err := t.workspaceUse(ctx, req.Extra, ToolListCatalogFields)
	if err != nil {
		return catalogOut{}, err
	}
	g, err := t.s.opts.Proxy.GovernWorkspace(ctx, u)
	if err != nil {
		return catalogOut{}, t.refusal(err, u)
	}
	cat := t.s.opts.Catalog
	out := catalogOut{Fields: t.fieldInfos(in.Prefix), Events: []EventInfo{}, CatalogVersion: cat.Version()}
	for _, e := range cat.Events() {
		if strings.HasPrefix(e.Name, in.Prefix) {
			out.Events = append(out.Events, EventInfo{Name: e.Name, Description: e.Description, Owner: e.Owner,
				Source: string(e.Source), Classification: string(e.Classification), AI: e.Uses.AI.Verb(),
				SafeForAI: e.Uses.AI == catalog.Show})
		}
	}
	if out.AuditID, err = g.End(ctx, nil, nil); err != nil {
		return catalogOut{}, t.refusal(err, u)
	}
	return out, nil
}

// registerResources lists the catalog as resources: the whole list, and
// each field on its own.
func (t *tools) registerResources(srv *sdk.Server) {
	srv.AddResource(&sdk.Resource{URI: FieldsURI, Name: "catalog-fields", Title: "Catalog fields", MIMEType: "application/json",
		Description: "Every customer and account field: meaning, owner, source, classification and whether AI may see it."},
		t.readCatalog)
	for _, f := range t.s.opts.Catalog.Fields() {
		srv.AddResource(&sdk.Resource{URI: fieldURIPrefix + f.Name, Name: f.Name, MIMEType: "application/json",
			Description: f.Description}, t.readCatalog)
	}
}

// readCatalog serves a catalog resource, governed and audited as
// list_catalog_fields.
func (t *tools) readCatalog(ctx context.Context, req *sdk.ReadResourceRequest) (*sdk.ReadResourceResult, error) {
	u, err := t.workspaceUse(ctx, req.Extra, ToolListCatalogFields)
	if err != nil {
		return nil, err
	}
	u.Endpoint = "mcp:resources/read"
	g, err := t.s.opts.Proxy.GovernWorkspace(ctx, u)
	if err != nil {
		return nil, t.refusal(err, u)
	}
	uri := req.Params.URI
	var body any = map[string]any{"fields": t.fieldInfos("")}
	if name, ok := strings.CutPrefix(uri, fieldURIPrefix); ok {
		f, found := t.s.opts.Catalog.Field(name)
		if !found {
			_, _ = g.End(ctx, nil, &proxy.Error{Status: 404, Type: "invalid_request_error", Code: "not_found", Message: "no such field"})
			return nil, sdk.ResourceNotFoundError(uri)
		}
		body = fieldInfo(f)
	}
	text, err := json.MarshalIndent(body, "", "  ")
	if err == nil {
		_, err = g.End(ctx, nil, nil)
	}
	if err != nil {
		return nil, t.refusal(err, u)
	}
	return &sdk.ReadResourceResult{Contents: []*sdk.ResourceContents{{URI: uri, MIMEType: "application/json", Text: string(text)}}}, nil
}
