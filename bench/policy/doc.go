// Package policybench compares Crisp's policy engine with OPA (Rego, v1 rego
// package) and Cedar (cedar-go) on the seed rule, for the same inputs, in
// one run. It holds benchmarks only, in a module of its own so neither OPA
// nor Cedar becomes a dependency of the crisp binary:
//
//	cd bench/policy && go test -run XXX -bench . -benchmem -count 6
//
// Goals: Crisp under 1µs per uncached decision and faster than both; under
// 100ns through the decision cache (BenchmarkRistrettoGetFloor is the
// cache's own lookup, the floor under that figure).
package policybench
