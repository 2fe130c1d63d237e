//go:build unix

package audit

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/crisphq/crisp/store/storetest"
)

// BenchmarkUses measures the audit's cost per AI use under load: many
// concurrent requests, each a Begin and a Finish, as the proxy makes them.
// cpu-µs/use is the process's CPU time (the writer's included) per use.
func BenchmarkUses(b *testing.B) {
	for _, m := range benchModes {
		b.Run("sqlite/"+m.name, func(b *testing.B) {
			l := openLog(b, storetest.OpenDSN(b, storetest.Engines()[0].DSN(b)), benchOptions(b, m.journal))
			ctx := context.Background()
			r := useRecord("acme", "maya@acme.example", "usr_2481")
			b.SetParallelism(16)
			b.ReportAllocs()
			cpu0 := processCPU()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					id, err := l.Begin(ctx, r)
					if err == nil {
						err = l.Finish(ctx, id, r)
					}
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			if err := l.Sync(ctx); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "uses/s")
			b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/use")
		})
	}
}

// processCPU is the CPU time this process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
