package suggest

import "testing"

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b        string
		limit, want int
	}{
		{"addr", "addr", 5, 0},
		{"shutdown_timout", "shutdown_timeout", 5, 1},
		{"acount.plan", "account.plan", 5, 1},
		{"paln", "plan", 5, 1}, // a transposition is one edit
		{"adress", "addr", 10, 4},
		{"certificate", "cert", 3, 3}, // capped at the limit
		{"", "abc", 10, 3},
	} {
		if got := Distance(tc.a, tc.b, tc.limit); got != tc.want {
			t.Errorf("Distance(%q, %q, %d) = %d, want %d", tc.a, tc.b, tc.limit, got, tc.want)
		}
	}
}
