package providers

import (
	"context"
	"net/http"
	"net/url"
	"sort"

	"github.com/crisphq/crisp/config"
)

// azure is Azure OpenAI. With api_version set it uses deployment URLs
// ({base}/openai/deployments/{deployment}/{endpoint}?api-version=…); without,
// Azure's v1 API ({base}/openai/v1/{endpoint}, model in the body). The key
// goes in the api-key header.
type azure struct {
	*upstream
	apiVersion  string
	deployments map[string]string
}

func newAzure(p config.Provider) (Provider, error) {
	u, err := newUpstream(p, "")
	if err != nil {
		return nil, err
	}
	return &azure{upstream: u, apiVersion: p.APIVersion, deployments: p.Deployments}, nil
}

func (a *azure) NewRequest(ctx context.Context, c Call) (*http.Request, error) {
	var target string
	if a.apiVersion == "" {
		target = a.base + "/openai/v1/" + string(c.Endpoint)
	} else {
		dep := a.deployments[c.Model]
		if dep == "" {
			dep = c.Model
		}
		target = a.base + "/openai/deployments/" + url.PathEscape(dep) + "/" + string(c.Endpoint) +
			"?api-version=" + url.QueryEscape(a.apiVersion)
		if c.Endpoint == Models {
			target = a.base + "/openai/models?api-version=" + url.QueryEscape(a.apiVersion)
		}
	}
	req, err := a.request(ctx, target, bodyOrNil(c))
	if err != nil {
		return nil, err
	}
	if a.key != "" {
		req.Header.Set("api-key", a.key)
	}
	return req, nil
}

// ListModels lists the configured deployments: they are what this Azure
// resource can serve, and listing them needs no call.
func (a *azure) ListModels(context.Context) ([]string, error) {
	out := make([]string, 0, len(a.deployments))
	for m := range a.deployments {
		out = append(out, m)
	}
	sort.Strings(out)
	return out, nil
}
