package segment_test

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/crisphq/crisp/store/storetest"
)

// BenchmarkIngestBatch100 posts 100-track batches to /ingest/v1/batch, the
// way an SDK flushes, and reports events stored per second. Goal: ≥ 20,000
// events/s on SQLite.
func BenchmarkIngestBatch100(b *testing.B) {
	for _, e := range storetest.Engines() {
		b.Run(e.Name, func(b *testing.B) {
			db := storetest.OpenDSN(b, e.DSN(b))
			srv := serve(b, db, nil, 0)
			client := srv.Client()
			url := srv.URL + "/ingest/v1/batch"
			batches := 0
			var body []byte
			b.ReportAllocs()
			for b.Loop() {
				body = appendBatch(body[:0], batches)
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				req.SetBasicAuth(writeKey, "")
				res, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					b.Fatalf("status %d", res.StatusCode)
				}
				batches++
			}
			b.ReportMetric(float64(batches*100)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkIngestBatch100Parallel is the same with several SDKs flushing at
// once, so parsing one batch overlaps writing another.
func BenchmarkIngestBatch100Parallel(b *testing.B) {
	for _, e := range storetest.Engines() {
		b.Run(e.Name, func(b *testing.B) {
			db := storetest.OpenDSN(b, e.DSN(b))
			srv := serve(b, db, nil, 0)
			client := srv.Client()
			url := srv.URL + "/ingest/v1/batch"
			var next atomic.Int64
			b.SetParallelism(2) // 2 × GOMAXPROCS clients
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				var body []byte
				for pb.Next() {
					body = appendBatch(body[:0], int(next.Add(1)))
					req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
					req.SetBasicAuth(writeKey, "")
					res, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != 200 {
						b.Errorf("status %d", res.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(next.Load()*100)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// appendBatch writes batch n: 100 tracks over 10 of 5000 customers, as an
// SDK would send them (sentAt, timestamps, context, properties).
func appendBatch(buf []byte, n int) []byte {
	buf = append(buf, `{"sentAt":"2026-11-26T12:00:00.000Z","context":{"library":{"name":"analytics-go","version":"3.0.0"}},"batch":[`...)
	for i := range 100 {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"type":"track","messageId":"msg-`...)
		buf = strconv.AppendInt(buf, int64(n), 10)
		buf = append(buf, '-')
		buf = strconv.AppendInt(buf, int64(i), 10)
		buf = append(buf, `","userId":"usr_`...)
		buf = strconv.AppendInt(buf, int64((n*10+i%10)%5000), 10)
		buf = append(buf, `","event":"Visited pricing","timestamp":"2026-11-26T11:59:59.500Z","properties":{"path":"/pricing","referrer":"newsletter","seats":12},"context":{"groupId":"acc_acme","library":{"name":"analytics-go","version":"3.0.0"}}}`...)
	}
	return append(buf, "]}"...)
}
