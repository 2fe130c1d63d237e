package audit

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/crisphq/crisp/store/storetest"
)

// benchModes are the two ways a Log makes records durable: straight into
// the database (group commit), or first into the local journal.
var benchModes = []struct {
	name    string
	journal bool
}{{"direct", false}, {"journal", true}}

func benchOptions(b *testing.B, journal bool) Options {
	o := Options{Logger: zerolog.Nop(), SigningKey: testKey}
	if journal {
		o.Journal = filepath.Join(b.TempDir(), "journal")
	}
	return o
}

// BenchmarkAppend measures group-commit throughput: many concurrent callers
// (as many requests in flight), each Append returning once durable. With
// the journal the clock stops only once Sync saw every record in the
// database, so records/s is what the database keeps up with.
func BenchmarkAppend(b *testing.B) {
	for _, e := range storetest.Engines() {
		for _, m := range benchModes {
			b.Run(e.Name+"/"+m.name, func(b *testing.B) {
				l := openLog(b, storetest.OpenDSN(b, e.DSN(b)), benchOptions(b, m.journal))
				ctx := context.Background()
				r := useRecord("acme", "maya@acme.example", "usr_2481")
				b.SetParallelism(64) // 64 callers per core
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := l.Append(ctx, r); err != nil {
							b.Error(err)
							return
						}
					}
				})
				if err := l.Sync(ctx); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
			})
		}
	}
}

// BenchmarkBeginFinish measures what audit adds to one request at
// concurrency 1: a durable intent before the provider call and the durable
// outcome after it. p50-µs and p99-µs are per Begin+Finish pair.
func BenchmarkBeginFinish(b *testing.B) {
	for _, e := range storetest.Engines() {
		for _, m := range benchModes {
			b.Run(e.Name+"/"+m.name, func(b *testing.B) {
				l := openLog(b, storetest.OpenDSN(b, e.DSN(b)), benchOptions(b, m.journal))
				ctx := context.Background()
				r := useRecord("acme", "maya@acme.example", "usr_2481")
				lat := make([]time.Duration, 0, 1<<16)
				b.ReportAllocs()
				for b.Loop() {
					start := time.Now()
					id, err := l.Begin(ctx, r)
					if err != nil {
						b.Fatal(err)
					}
					if err := l.Finish(ctx, id, r); err != nil {
						b.Fatal(err)
					}
					if len(lat) < cap(lat) {
						lat = append(lat, time.Since(start))
					}
				}
				slices.Sort(lat)
				b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
				b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
			})
		}
	}
}
