package audit

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/crisphq/crisp/store/storetest"
)

// BenchmarkAppend measures group-commit throughput: many concurrent callers
// (as many requests in flight), each Append returning once durable.
func BenchmarkAppend(b *testing.B) {
	for _, e := range storetest.Engines() {
		b.Run(e.Name, func(b *testing.B) {
			l := openLog(b, storetest.OpenDSN(b, e.DSN(b)), Options{Logger: zerolog.Nop(), SigningKey: testKey})
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
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkBeginFinish measures what audit adds to one request at
// concurrency 1: a durable intent before the provider call and the durable
// outcome after it. p50-µs and p99-µs are per Begin+Finish pair.
func BenchmarkBeginFinish(b *testing.B) {
	for _, e := range storetest.Engines() {
		b.Run(e.Name, func(b *testing.B) {
			l := openLog(b, storetest.OpenDSN(b, e.DSN(b)), Options{Logger: zerolog.Nop(), SigningKey: testKey})
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
