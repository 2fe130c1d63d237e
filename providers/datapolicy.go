package providers

// DataPolicy is what crisp can force on a provider so it neither trains on
// nor keeps what it is sent, and what is left to the provider's contract.
type DataPolicy struct {
	// StoreFalse lists the endpoints whose "store" field crisp sets to
	// false: OpenAI keeps Responses by default (and chat completions when
	// asked), for its dashboards and evals.
	StoreFalse map[Endpoint]bool
	// OpenRouter sets provider.data_collection "deny" and provider.zdr true,
	// so OpenRouter routes only to endpoints that keep no prompt and train
	// on none.
	OpenRouter bool
	// Contractual says what only the provider's terms guarantee, for the
	// audit record; empty when a request field enforces everything.
	Contractual string
}

// DataPolicyOf returns a provider's data policy, by dialect. It is the one
// table behind the README's per-provider table.
func DataPolicyOf(p Provider) DataPolicy {
	switch p.Type() {
	case "openai":
		return DataPolicy{
			StoreFalse:  map[Endpoint]bool{ChatCompletions: true, Responses: true},
			Contractual: "OpenAI API terms: API data is not used for training; abuse-monitoring logs are kept up to 30 days unless zero data retention is agreed",
		}
	case "azure":
		// Older Azure api-versions reject an unknown "store" on chat, and
		// Azure chat stores nothing unless asked; Responses stores by default.
		return DataPolicy{
			StoreFalse:  map[Endpoint]bool{Responses: true},
			Contractual: "Azure OpenAI terms: prompts are not used for training; abuse monitoring may keep them up to 30 days unless exempted",
		}
	case "openrouter":
		return DataPolicy{
			StoreFalse:  map[Endpoint]bool{ChatCompletions: true, Responses: true},
			OpenRouter:  true,
			Contractual: "OpenRouter routes only to endpoints without data collection (zero data retention); the upstream's own terms apply",
		}
	case "openai_compatible":
		return DataPolicy{
			StoreFalse:  map[Endpoint]bool{ChatCompletions: true, Responses: true},
			Contractual: "an OpenAI-compatible endpoint: its operator's terms decide retention and training",
		}
	case "ollama", "offline":
		return DataPolicy{} // nothing leaves the operator's machines
	}
	return DataPolicy{Contractual: "unknown provider type: no guarantee"}
}
