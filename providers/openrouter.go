package providers

import (
	"context"
	"net/http"

	"github.com/crisphq/crisp/config"
)

// openRouter is OpenAI's wire format at OpenRouter, with model names of the
// form vendor/model. Its attribution headers (HTTP-Referer, X-Title) come
// from the provider's headers.
type openRouter struct{ *upstream }

func newOpenRouter(p config.Provider) (Provider, error) {
	u, err := newUpstream(p, "https://openrouter.ai/api/v1")
	if err != nil {
		return nil, err
	}
	if u.headers.Get("X-Title") == "" {
		u.headers.Set("X-Title", "crisp")
	}
	return openRouter{u}, nil
}

func (o openRouter) NewRequest(ctx context.Context, c Call) (*http.Request, error) {
	return o.bearer(ctx, c)
}

func (o openRouter) ListModels(ctx context.Context) ([]string, error) {
	req, err := o.bearer(ctx, Call{Endpoint: Models})
	if err != nil {
		return nil, err
	}
	return o.listModels(ctx, req)
}
