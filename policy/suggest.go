package policy

import (
	"strings"

	distance "github.com/crisphq/crisp/suggest"
)

// suggest returns the candidate closest to name, or "" when none is close
// enough to be a plausible misspelling. Case differences count as small.
func suggest(name string, candidates []string) string {
	best, bestDist := "", -1
	limit := max(2, len(name)/3)
	lower := strings.ToLower(name)
	for _, c := range candidates {
		d := distance.Distance(lower, strings.ToLower(c), limit+1)
		if d == 0 && c != name {
			return c // differs only in case
		}
		if d <= limit && (bestDist < 0 || d < bestDist || (d == bestDist && c < best)) {
			best, bestDist = c, d
		}
	}
	return best
}

// didYouMean formats a suggestion for an error message.
func didYouMean(s string) string {
	if s == "" {
		return ""
	}
	return "; did you mean " + quote(s) + "?"
}

func quote(s string) string { return `"` + s + `"` }
