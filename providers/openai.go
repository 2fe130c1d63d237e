package providers

import (
	"context"
	"net/http"

	"github.com/crisphq/crisp/config"
)

// openAI speaks to OpenAI itself, and to any OpenAI-compatible base URL
// (openai_compatible) and Ollama's /v1, which share its wire format and
// differ only in their defaults.
type openAI struct{ *upstream }

func newOpenAI(p config.Provider) (Provider, error) {
	defaults := map[string]string{
		"openai":            "https://api.openai.com/v1",
		"ollama":            "http://127.0.0.1:11434/v1",
		"openai_compatible": "",
	}
	u, err := newUpstream(p, defaults[p.Type])
	if err != nil {
		return nil, err
	}
	return openAI{u}, nil
}

func (o openAI) NewRequest(ctx context.Context, c Call) (*http.Request, error) {
	return o.bearer(ctx, c)
}

func (o openAI) ListModels(ctx context.Context) ([]string, error) {
	req, err := o.bearer(ctx, Call{Endpoint: Models})
	if err != nil {
		return nil, err
	}
	return o.listModels(ctx, req)
}
