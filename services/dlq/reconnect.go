package dlq

import (
	"context"
	"errors"
	"sync"

	"github.com/nats-io/nats.go"
)

// errReconnected ends a consumption when the connection came back.
var errReconnected = errors.New("NATS reconnected")

// reconnectWatch ends the consumption in progress when the connection comes
// back. One goroutine per Run reads the status listener for its whole life,
// so a reconnect is never read and dropped by the helper of a consumption
// that already ended, nor left buffered to restart a later consumption that
// began after it: a consumption ends for exactly the reconnects that happen
// while it runs, from before its Ensure to its end.
type reconnectWatch struct {
	nc     *nats.Conn
	events chan nats.Status
	stop   chan struct{}
	done   chan struct{}

	mu     sync.Mutex
	cancel context.CancelCauseFunc // of the consumption in progress; nil between two
}

// watchReconnects starts watching nc; close stops it.
func watchReconnects(nc *nats.Conn) *reconnectWatch {
	w := &reconnectWatch{
		nc:     nc,
		events: nc.StatusChanged(nats.CONNECTED),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	go w.loop()
	return w
}

func (w *reconnectWatch) loop() {
	defer close(w.done)
	for {
		select {
		case _, ok := <-w.events:
			if !ok {
				return
			}
			w.mu.Lock()
			if w.cancel != nil {
				w.cancel(errReconnected)
			}
			w.mu.Unlock()
		case <-w.stop:
			return
		}
	}
}

// begin returns the context of one consumption, cancelled with cause
// errReconnected by the next reconnect, and the func that ends it.
func (w *reconnectWatch) begin(ctx context.Context) (context.Context, func()) {
	consumeCtx, cancel := context.WithCancelCause(ctx)
	w.mu.Lock()
	w.cancel = cancel
	w.mu.Unlock()
	return consumeCtx, func() {
		w.mu.Lock()
		w.cancel = nil
		w.mu.Unlock()
		cancel(nil)
	}
}

// close stops the watch and unregisters its listener.
func (w *reconnectWatch) close() {
	close(w.stop)
	<-w.done
	w.nc.RemoveStatusListener(w.events)
}
