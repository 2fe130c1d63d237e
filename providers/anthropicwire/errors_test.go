package anthropicwire

import (
	"testing"
)

func TestError(t *testing.T) {
	tests := []struct {
		status int
		want   string
	}{
		{400, "invalid_request_error"},
		{401, "authentication_error"},
		{402, "billing_error"},
		{403, "permission_error"},
		{404, "not_found_error"},
		{409, "invalid_request_error"},
		{413, "request_too_large"},
		{422, "invalid_request_error"},
		{429, "rate_limit_error"},
		{500, "api_error"},
		{502, "api_error"},
		{503, "api_error"},
		{504, "timeout_error"},
		{529, "overloaded_error"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			got := string(Error(tt.status, `policy "ai.draft" denies <this> & that`))
			want := `{"type":"error","error":{"type":"` + tt.want + `","message":"policy \"ai.draft\" denies <this> & that"}}`
			if got != want {
				t.Errorf("Error(%d) =\n%s\nwant\n%s", tt.status, got, want)
			}
		})
	}
}

func TestStreamErrorAndPing(t *testing.T) {
	ev := StreamError("upstream timed out")
	if ev.Name != "error" || string(ev.Data) != `{"type":"error","error":{"type":"api_error","message":"upstream timed out"}}` {
		t.Errorf("StreamError = %s %s", ev.Name, ev.Data)
	}
	if p := Ping(); p.Name != "ping" || string(p.Data) != `{"type":"ping"}` {
		t.Errorf("Ping = %s %s", p.Name, p.Data)
	}
}
