package gateway

import "sync"

// pending counts the bookkeeping that runs after a stream's answer ended.
// Unlike a sync.WaitGroup, wait may run while new work starts (a test
// reading what a stream stored while another stream ends).
type pending struct {
	mu   sync.Mutex
	idle *sync.Cond
	n    int
}

// run starts f in its own goroutine and counts it until it returns.
func (p *pending) run(f func()) {
	p.mu.Lock()
	p.n++
	p.mu.Unlock()
	go func() {
		defer p.done()
		f()
	}()
}

func (p *pending) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n--; p.n == 0 && p.idle != nil {
		p.idle.Broadcast()
	}
}

// wait returns once nothing is running.
func (p *pending) wait() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.idle == nil {
		p.idle = sync.NewCond(&p.mu)
	}
	for p.n > 0 {
		p.idle.Wait()
	}
}
