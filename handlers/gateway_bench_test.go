package handlers_test

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golden-architecture/control-plane/internal/testenv"
)

// BenchmarkGatewayOverhead measures what the gateway adds to a streamed
// call: 32 concurrent streams read to the end, against the fake provider
// directly and through the gateway (authentication, rate limit off,
// reserve, relay, commit with its ledger row). "paced" streams each chunk
// 20 ms apart (a model writing 50 tokens a second), so the gateway's work
// shows as added latency; "saturated" streams without pauses, so it shows
// as the highest call rate. Each reports the p50 and p99 of one call and
// the calls per second; the overhead is the difference between direct and
// gateway. Figures: docs/PERFORMANCE.md.
//
//	go test -run '^$' -bench GatewayOverhead -benchtime 2000x ./handlers/
func BenchmarkGatewayOverhead(b *testing.B) {
	const streams = 32
	s := newGatewayServer(b, "RATE_LIMITS_ENABLED", "false", "BUDGET_DEFAULT_LIMIT", "1000000000000")
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 2 * streams, MaxIdleConnsPerHost: 2 * streams}}
	body := chatBody(100, `,"stream":true,"stream_options":{"include_usage":true}`)
	type target struct {
		name, url  string
		header     http.Header
		chunkDelay time.Duration
	}
	var runs []target
	for _, pace := range []struct {
		name       string
		chunkDelay time.Duration
	}{{"paced", 20 * time.Millisecond}, {"saturated", 0}} {
		for _, t := range []target{
			{name: "direct", url: s.fake.URL() + "/v1/chat/completions", header: http.Header{}},
			{name: "gateway", url: s.HTTP.URL + "/api/v1/chat/completions", header: http.Header{"Authorization": {"Bearer " + s.admin}}},
		} {
			t.name, t.chunkDelay = pace.name+"/"+t.name, pace.chunkDelay
			runs = append(runs, t)
		}
	}
	for _, target := range runs {
		b.Run(target.name, func(b *testing.B) {
			s.fake.Set(func(f *testenv.FakeOpenAI) { f.ChunkDelay = target.chunkDelay })
			var (
				next      atomic.Int64
				mu        sync.Mutex
				latencies = make([]time.Duration, 0, b.N)
				wg        sync.WaitGroup
			)
			call := func() error {
				req, err := http.NewRequest(http.MethodPost, target.url, strings.NewReader(body))
				if err != nil {
					return err
				}
				req.Header = target.header.Clone()
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					return err
				}
				defer func() { _ = resp.Body.Close() }()
				b, err := io.ReadAll(resp.Body)
				if err != nil {
					return err
				}
				if resp.StatusCode != http.StatusOK || !strings.HasSuffix(string(b), "data: [DONE]\n\n") {
					return fmt.Errorf("status %d, body %.200s", resp.StatusCode, b)
				}
				return nil
			}
			b.ResetTimer()
			for range streams {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for next.Add(1) <= int64(b.N) {
						start := time.Now()
						if err := call(); err != nil {
							b.Error(err)
							return
						}
						took := time.Since(start)
						mu.Lock()
						latencies = append(latencies, took)
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			slices.Sort(latencies)
			if len(latencies) == 0 {
				return
			}
			pct := func(p float64) float64 {
				return float64(latencies[min(len(latencies)-1, int(p*float64(len(latencies))))].Microseconds()) / 1000
			}
			b.ReportMetric(pct(0.5), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
			b.ReportMetric(float64(len(latencies))/b.Elapsed().Seconds(), "calls/s")
		})
	}
}
