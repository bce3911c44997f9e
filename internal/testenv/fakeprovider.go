package testenv

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
)

// fakeProvider is what the fake LLM providers share: the server, the
// injected failures, the counters and the last request. Its mu also guards
// the settings of the fake that embeds it.
type fakeProvider struct {
	srv *httptest.Server

	mu sync.Mutex
	// failures are answered, one per call, before calls succeed again.
	failures   []int
	lastBody   []byte
	lastHeader http.Header

	calls     atomic.Int64
	cancelled atomic.Int64
}

// URL is the server's root.
func (f *fakeProvider) URL() string { return f.srv.URL }

// FailNext makes the next calls answer these statuses, one each.
func (f *fakeProvider) FailNext(statuses ...int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures = append(f.failures, statuses...)
}

// Calls is how many requests reached the fake.
func (f *fakeProvider) Calls() int64 { return f.calls.Load() }

// Cancelled is how many streams ended because the caller went away.
func (f *fakeProvider) Cancelled() int64 { return f.cancelled.Load() }

// Last is the body and headers of the last request.
func (f *fakeProvider) Last() ([]byte, http.Header) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastBody, f.lastHeader
}

// takeLocked records a request and returns the failure injected for it, 0
// when none is; the caller holds mu.
func (f *fakeProvider) takeLocked(body []byte, header http.Header) int {
	f.lastBody, f.lastHeader = body, header.Clone()
	if len(f.failures) == 0 {
		return 0
	}
	status := f.failures[0]
	f.failures = f.failures[1:]
	return status
}
