package drills

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Budget drill sizes.
const (
	budgetAttempts = 20_000
	budgetWorkers  = 24
	// budgetKillAt is the share of attempts sent before a replica is killed.
	budgetKillAt = 0.3
	// budgetTenant is the operator's tenant (DEFAULT_TENANT): a tenant-bound
	// principal spends only there.
	budgetTenant = "default"
)

// budgetTotals are the limits of the drill's budgets: together far below
// what 20,000 attempts ask for, so they run out and stay out except for what
// releases and expiries return.
var budgetTotals = []int64{100_000, 150_000, 200_000, 200_000, 250_000, 300_000}

// approval is the body of an approved POST /budget/request.
type approval struct {
	Approved      bool      `json:"approved"`
	ReservationID string    `json:"reservation_id"`
	Allocated     int64     `json:"allocated"`
	ExpiresAt     time.Time `json:"expires_at"`
}

// settlement is the body of a 200 commit or release.
type settlement struct {
	Status        string `json:"status"`
	ReservationID string `json:"reservation_id"`
	Tokens        int64  `json:"tokens"`
}

// reservationLog is what the client knows about one reservation.
type reservationLog struct {
	key       string
	budget    int
	tokens    int64
	plan      string // commit, release, abandon, race
	actual    int64
	commitOK  bool
	releaseOK bool
	// lateConflicts are 409s saying the sweeper had already expired it.
	lateConflicts int
}

// budgetDrill is the state of one run of TestBudgetDrill.
type budgetDrill struct {
	t        *testing.T
	lb       *balancer
	operator string
	run      string
	next     atomic.Int64

	mu sync.Mutex
	// first answers of the attempts, by status
	firstStatus map[int]int
	// approvals by idempotency key: the reservation the key holds
	byKey map[string]string
	resv  map[string]*reservationLog
	// answers that break the contract, with a sample
	unexpected []string

	connErrors          atomic.Int64 // transport errors other than refusals, retried
	lostAttempts        atomic.Int64 // reservation requests a replica took and never answered
	connRetriedReplayed atomic.Int64 // ...whose retry was answered by the stored first answer
	deliberate          atomic.Int64 // deliberate retries on another replica
	deliberateSame      atomic.Int64 // ...that repeated an approval exactly
	deliberateLater     atomic.Int64 // ...of a refused request, approved on the retry
	settleRepeats       atomic.Int64 // repeated commits/releases on another replica
	settleRepeatsSame   atomic.Int64
	races               atomic.Int64 // commit and release sent at once to two replicas
	raceOneWinner       atomic.Int64
	stateSamples        atomic.Int64
	stateViolations     atomic.Int64
}

func (d *budgetDrill) unexpectedf(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.unexpected) < 1000 {
		d.unexpected = append(d.unexpected, fmt.Sprintf(format, args...))
	}
}

// TestBudgetDrill: 20,000 reservation attempts with random commits,
// releases, abandoned reservations and deliberate retries, spread over three
// replicas, one of which is SIGKILLed at 30% and restarted. Afterwards the
// database must show no limit exceeded, counters equal to the ledger, every
// reservation settled exactly once, every retry answered with the first
// answer, and every abandoned reservation expired exactly once.
func TestBudgetDrill(t *testing.T) {
	needDrills(t)
	fig := newFigures(t, "budget")
	c := newCluster(t, clusterOptions{name: "budget", redisDB: 11, env: map[string]string{
		"BUDGET_RESERVATION_TTL": "3s", "BUDGET_SWEEP_INTERVAL": "500ms",
	}})
	c.startAll()
	// A bound, not a speed target: 20,000 attempts take about 1 min on a quiet
	// machine (3m40s while the pool reconnected on every burst, fixed 2026-12-01).
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	lb := newBalancer(t, c.urls(), budgetWorkers)
	admin, err := lb.login(ctx, "admin", "admin123")
	if err != nil {
		t.Fatal(err)
	}
	operator, err := lb.login(ctx, "operator", "operator123")
	if err != nil {
		t.Fatal(err)
	}
	var limitSum int64
	for i, total := range budgetTotals {
		a, err := lb.send(ctx, call{method: http.MethodPut, path: "/api/v1/budget/limits", token: admin,
			body: map[string]any{"tenant_id": budgetTenant, "project_id": fmt.Sprintf("p%d", i), "total_limit": total}})
		if err != nil || a.status != http.StatusOK {
			t.Fatalf("set limit p%d: %v %d %s", i, err, a.status, a.body)
		}
		limitSum += total
	}
	d := &budgetDrill{
		t: t, lb: lb, operator: operator, run: randomHex(3),
		firstStatus: map[int]int{}, byKey: map[string]string{}, resv: map[string]*reservationLog{},
	}

	start := time.Now()
	var workers sync.WaitGroup
	for w := range budgetWorkers {
		workers.Add(1)
		go func() {
			defer workers.Done()
			rng := rand.New(rand.NewPCG(uint64(start.UnixNano()), uint64(w)))
			for {
				i := int(d.next.Add(1)) - 1
				if i >= budgetAttempts || ctx.Err() != nil {
					return
				}
				d.attempt(ctx, i, rng)
			}
		}()
	}
	sampling, stopSampling := context.WithCancel(ctx)
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		d.sampleStates(ctx, sampling)
	}()

	// The kill, from the test goroutine (restarting may fail the test).
	for d.next.Load() < int64(budgetAttempts*budgetKillAt) && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	killedAt, sentAtKill := time.Since(start), d.next.Load()
	c.nodes[1].Proc().Crash()
	time.Sleep(1500 * time.Millisecond)
	restart := time.Now()
	c.start(1)
	restartTook := time.Since(restart)
	workers.Wait()
	loadTook := time.Since(start)
	stopSampling()
	<-sampled
	if ctx.Err() != nil {
		t.Fatalf("the drill ran out of time after %d attempts", d.next.Load())
	}

	// Abandoned reservations expire TTL (3s) after their approval; wait for
	// the sweepers of the replicas to settle every one.
	db := c.DB()
	waitStart := time.Now()
	for queryInt(t, db, `SELECT count(*) FROM budget_reservations WHERE status = 'pending'`) > 0 {
		if time.Since(waitStart) > 30*time.Second {
			t.Fatalf("reservations still pending 30s after the load ended")
		}
		time.Sleep(250 * time.Millisecond)
	}
	sweepWait := time.Since(waitStart)

	d.mu.Lock()
	defer d.mu.Unlock()
	plans := map[string]int{}
	for _, r := range d.resv {
		plans[r.plan]++
	}
	fig.add("replicas", len(c.nodes))
	fig.add("budgets (sum of limits)", fmt.Sprintf("%d (%d tokens)", len(budgetTotals), limitSum))
	fig.add("reservation attempts", budgetAttempts)
	fig.add("first answers by status", statuses(d.firstStatus))
	fig.add("reservations approved (incl. approved on a retry)", len(d.resv))
	fig.addf("settle plans", "commit %d, release %d, abandon %d, commit+release race %d",
		plans["commit"], plans["release"], plans["abandon"], plans["race"])
	fig.addf("SIGKILL", "replica r2 at %s, after %d attempts; restarted (ready) in %s",
		killedAt.Round(100*time.Millisecond), sentAtKill, restartTook.Round(10*time.Millisecond))
	fig.add("connection refusals retried on another replica", lb.refused.Load())
	fig.add("sends written to a replica that never answered (retried)", lb.lost.Load())
	fig.addf("reservation requests among them, retried with the same key",
		"%d: %d answered by the stored first answer (the killed replica had committed it), the rest approved or refused afresh",
		d.lostAttempts.Load(), d.connRetriedReplayed.Load())
	fig.add("transport errors other than refusals, retried by the drill", d.connErrors.Load())
	fig.addf("deliberate retries on another replica", "%d: %d repeated the approval exactly, %d refused first and approved on the retry",
		d.deliberate.Load(), d.deliberateSame.Load(), d.deliberateLater.Load())
	fig.addf("repeated commit/release on another replica", "%d, %d answered the same", d.settleRepeats.Load(), d.settleRepeatsSame.Load())
	fig.addf("commit and release raced on two replicas", "%d, exactly one won in %d", d.races.Load(), d.raceOneWinner.Load())
	fig.addf("load", "%s, %.0f attempts/s", loadTook.Round(100*time.Millisecond), float64(budgetAttempts)/loadTook.Seconds())
	fig.addf("state samples during the load", "%d (%d with used+reserved > total)", d.stateSamples.Load(), d.stateViolations.Load())
	fig.add("wait for the sweepers after the load", sweepWait.Round(100*time.Millisecond))

	fig.check(t, "every answer is 200 or 409 budget.insufficient / state.conflict", len(d.unexpected) == 0,
		"%d unexpected, first: %v", len(d.unexpected), first(d.unexpected, 5))
	fig.check(t, "every idempotent retry got the first answer",
		d.deliberateSame.Load()+d.deliberateLater.Load() == d.deliberate.Load(), "see unexpected answers")
	fig.check(t, "used+reserved never above the limit while the load ran", d.stateViolations.Load() == 0,
		"%d samples", d.stateViolations.Load())
	fig.check(t, "a raced commit/release has exactly one winner", d.raceOneWinner.Load() == d.races.Load(),
		"%d of %d", d.raceOneWinner.Load(), d.races.Load())
	d.checkDatabase(fig, c)
	if t.Failed() {
		t.Logf("ERROR lines in the replicas' logs: %v", first(c.errorLines(), 10))
	}
}

// body of attempt i's request.
func (d *budgetDrill) requestCall(key string, budget int, tokens int64) call {
	return call{method: http.MethodPost, path: "/api/v1/budget/request", token: d.operator,
		header: map[string]string{"Idempotency-Key": key},
		body: map[string]any{"tenant_id": budgetTenant, "project_id": fmt.Sprintf("p%d", budget),
			"task_id": key, "model": "drill-model", "estimated_tokens": tokens}}
}

// sendRetrying sends c (balanced when from < 0, else to replica from first)
// and, on a transport error other than a refusal, sends it again to the next
// replica: safe because every call of the drill is idempotent. lost says
// whether some send was written to a replica that never answered it (so the
// answer came from a retry).
func (d *budgetDrill) sendRetrying(ctx context.Context, from int, c call) (a answer, lost bool, err error) {
	if from < 0 {
		a, err = d.lb.send(ctx, c)
	} else {
		a, err = d.lb.sendFrom(ctx, from%len(d.lb.urls), c)
	}
	lost = a.lost
	for try := 1; err != nil && try <= 10 && ctx.Err() == nil; try++ {
		d.connErrors.Add(1)
		time.Sleep(100 * time.Millisecond)
		a, err = d.lb.sendFrom(ctx, (a.node+try)%len(d.lb.urls), c)
		lost = lost || a.lost
	}
	a.lost = lost
	return a, lost, err
}

func (d *budgetDrill) attempt(ctx context.Context, i int, rng *rand.Rand) {
	budget := i % len(budgetTotals)
	tokens := 50 + rng.Int64N(1451)
	key := fmt.Sprintf("%s-%d", d.run, i)
	req := d.requestCall(key, budget, tokens)
	a, lost, err := d.sendRetrying(ctx, -1, req)
	if err != nil {
		if ctx.Err() == nil {
			d.unexpectedf("attempt %d: %v", i, err)
		}
		return
	}
	if lost {
		d.lostAttempts.Add(1)
		if a.header.Get("Idempotency-Replayed") == "true" {
			d.connRetriedReplayed.Add(1)
		}
	}
	d.mu.Lock()
	d.firstStatus[a.status]++
	d.mu.Unlock()
	var ap approval
	switch {
	case a.status == http.StatusOK && a.json(&ap) == nil && ap.ReservationID != "" && ap.Allocated == tokens:
	case a.status == http.StatusConflict && a.errorCode() == "budget.insufficient":
	default:
		d.unexpectedf("attempt %d on r%d: %d %s", i, a.node+1, a.status, a.body)
		return
	}

	if rng.IntN(10) == 0 {
		// A deliberate retry with the same key on another replica.
		d.deliberate.Add(1)
		b, _, err := d.sendRetrying(ctx, a.node+1, req)
		var bp approval
		switch {
		case err != nil:
			d.unexpectedf("retry of attempt %d: %v", i, err)
		case a.status == http.StatusOK && b.status == http.StatusOK && b.json(&bp) == nil && sameApproval(ap, bp) &&
			b.header.Get("Idempotency-Replayed") == "true":
			d.deliberateSame.Add(1)
		case a.status == http.StatusConflict && b.status == http.StatusConflict && b.errorCode() == "budget.insufficient":
			d.deliberateSame.Add(1)
		case a.status == http.StatusConflict && b.status == http.StatusOK && b.json(&bp) == nil && bp.Allocated == tokens:
			// A refusal is not stored: the retry was evaluated afresh and
			// found tokens that releases and expiries had returned.
			d.deliberateLater.Add(1)
			ap = bp
		default:
			d.unexpectedf("retry of attempt %d on r%d: first %d %s, retry %d %s (replayed %q)",
				i, b.node+1, a.status, a.body, b.status, b.body, b.header.Get("Idempotency-Replayed"))
		}
	}
	if ap.ReservationID == "" {
		return
	}
	r := &reservationLog{key: key, budget: budget, tokens: tokens}
	d.mu.Lock()
	if prev, ok := d.byKey[key]; ok && prev != ap.ReservationID {
		d.unexpectedf("key %s holds two reservations: %s and %s", key, prev, ap.ReservationID)
	}
	d.byKey[key] = ap.ReservationID
	d.resv[ap.ReservationID] = r
	d.mu.Unlock()
	d.settle(ctx, ap.ReservationID, r, rng)
}

// settle commits, releases, abandons or races a commit against a release.
func (d *budgetDrill) settle(ctx context.Context, id string, r *reservationLog, rng *rand.Rand) {
	base := map[string]any{"tenant_id": budgetTenant, "project_id": fmt.Sprintf("p%d", r.budget), "reservation_id": id}
	commit := func(actual int64) call {
		b := cloneBody(base)
		b["actual_tokens"] = actual
		return call{method: http.MethodPost, path: "/api/v1/budget/commit", token: d.operator, body: b}
	}
	release := call{method: http.MethodPost, path: "/api/v1/budget/release", token: d.operator, body: base}
	p := rng.Float64()
	switch {
	case p < 0.15:
		r.plan = "abandon"
	case p < 0.55:
		r.plan = "commit"
		r.actual = 1 + rng.Int64N(r.tokens)
		a := d.settleOnce(ctx, id, r, -1, commit(r.actual), "committed")
		if a.status == http.StatusOK && rng.IntN(5) == 0 {
			d.repeat(ctx, id, r, a, commit(r.actual), "committed")
		}
	case p < 0.92:
		r.plan = "release"
		a := d.settleOnce(ctx, id, r, -1, release, "released")
		if a.status == http.StatusOK && rng.IntN(5) == 0 {
			d.repeat(ctx, id, r, a, release, "released")
		}
	default:
		r.plan = "race"
		r.actual = 1 + rng.Int64N(r.tokens)
		d.races.Add(1)
		node := rng.IntN(len(d.lb.urls))
		var wg sync.WaitGroup
		var ca, ra answer
		wg.Add(2)
		go func() { defer wg.Done(); ca = d.settleOnce(ctx, id, r, node, commit(r.actual), "committed") }()
		go func() { defer wg.Done(); ra = d.settleOnce(ctx, id, r, node+1, release, "released") }()
		wg.Wait()
		if (ca.status == http.StatusOK) != (ra.status == http.StatusOK) {
			d.raceOneWinner.Add(1)
		} else {
			d.unexpectedf("race on %s: commit %d %s, release %d %s", id, ca.status, ca.body, ra.status, ra.body)
		}
	}
}

// settleOnce sends one commit or release and records its outcome.
func (d *budgetDrill) settleOnce(ctx context.Context, id string, r *reservationLog, from int, c call, want string) answer {
	a, _, err := d.sendRetrying(ctx, from, c)
	if err != nil {
		d.unexpectedf("%s %s: %v", c.path, id, err)
		return a
	}
	var s settlement
	switch {
	case a.status == http.StatusOK && a.json(&s) == nil && s.Status == want && s.ReservationID == id:
		d.mu.Lock()
		if want == "committed" {
			r.commitOK = true
		} else {
			r.releaseOK = true
		}
		d.mu.Unlock()
	case a.status == http.StatusConflict && a.errorCode() == "state.conflict":
		var e struct {
			Details struct {
				Status string `json:"status"`
			} `json:"details"`
		}
		_ = a.json(&e)
		switch {
		case e.Details.Status == "expired":
			d.mu.Lock()
			r.lateConflicts++
			d.mu.Unlock()
		case r.plan != "race":
			d.unexpectedf("%s %s (plan %s): %d %s", c.path, id, r.plan, a.status, a.body)
		}
	default:
		d.unexpectedf("%s %s on r%d: %d %s", c.path, id, a.node+1, a.status, a.body)
	}
	return a
}

// repeat sends a settled call again to another replica: the same answer.
func (d *budgetDrill) repeat(ctx context.Context, id string, r *reservationLog, first answer, c call, want string) {
	d.settleRepeats.Add(1)
	b := d.settleOnce(ctx, id, r, first.node+1, c, want)
	var s1, s2 settlement
	if b.status == http.StatusOK && first.json(&s1) == nil && b.json(&s2) == nil && s1 == s2 {
		d.settleRepeatsSame.Add(1)
		return
	}
	d.unexpectedf("repeated %s %s: first %s, then %d %s", c.path, id, first.body, b.status, b.body)
}

// sampleStates reads every budget's state through the balancer until stop
// ends and counts snapshots with used + reserved above the total (possible
// only if a reservation passed the limit: commits never exceed estimates
// here). Requests use ctx, so stopping cancels none midway.
func (d *budgetDrill) sampleStates(ctx, stop context.Context) {
	for stop.Err() == nil {
		for i := range budgetTotals {
			a, err := d.lb.send(ctx, call{method: http.MethodGet, token: d.operator,
				path: fmt.Sprintf("/api/v1/budget/state?tenant_id=%s&project_id=p%d", budgetTenant, i)})
			if err != nil {
				continue // killed replica mid-request; the next sample covers it
			}
			var s struct {
				Total, Used, Reserved, Overdrawn int64
			}
			if a.status != http.StatusOK || a.json(&s) != nil {
				d.unexpectedf("state p%d: %d %s", i, a.status, a.body)
				continue
			}
			d.stateSamples.Add(1)
			if s.Used+s.Reserved > s.Total || s.Overdrawn != 0 {
				d.stateViolations.Add(1)
				d.unexpectedf("state p%d over the limit: %s", i, a.body)
			}
		}
		select {
		case <-stop.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// checkDatabase recomputes the budgets from the ledger and the reservations
// with plain SQL and compares every reservation with what the client saw.
func (d *budgetDrill) checkDatabase(fig *figures, c *cluster) {
	t, db := d.t, c.DB()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	rows, err := db.QueryContext(ctx, `
SELECT l.project_id, l.total_limit, l.used, l.reserved,
       COALESCE(t.used, 0), COALESCE(t.reserved, 0), COALESCE(r.used, 0), COALESCE(r.reserved, 0)
FROM budget_limits l
LEFT JOIN (SELECT tenant_id, project_id, SUM(delta_used) AS used, SUM(delta_reserved) AS reserved
           FROM budget_transactions GROUP BY tenant_id, project_id) t USING (tenant_id, project_id)
LEFT JOIN (SELECT tenant_id, project_id,
                  SUM(CASE WHEN status = 'committed' THEN actual_tokens ELSE 0 END) AS used,
                  SUM(CASE WHEN status = 'pending' THEN tokens ELSE 0 END) AS reserved
           FROM budget_reservations GROUP BY tenant_id, project_id) r USING (tenant_id, project_id)
ORDER BY l.project_id`)
	if err != nil {
		t.Fatalf("recompute budgets: %v", err)
	}
	var overLimit, ledgerDiff []string
	var usedSum int64
	for rows.Next() {
		var project string
		var total, used, reserved, lUsed, lReserved, rUsed, rReserved int64
		if err := rows.Scan(&project, &total, &used, &reserved, &lUsed, &lReserved, &rUsed, &rReserved); err != nil {
			t.Fatal(err)
		}
		usedSum += used
		if used+reserved > total {
			overLimit = append(overLimit, fmt.Sprintf("%s: used %d + reserved %d > %d", project, used, reserved, total))
		}
		if used != lUsed || reserved != lReserved || used != rUsed || reserved != rReserved {
			ledgerDiff = append(ledgerDiff, fmt.Sprintf("%s: stored used=%d reserved=%d, ledger %d/%d, reservations %d/%d",
				project, used, reserved, lUsed, lReserved, rUsed, rReserved))
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	fig.add("tokens committed (used) at the end", usedSum)
	fig.check(t, "no budget's used+reserved above its limit (DB)", len(overLimit) == 0, "%v", overLimit)
	fig.check(t, "budget_limits equals the ledger and the reservations recomputed", len(ledgerDiff) == 0, "%v", ledgerDiff)

	rows, err = db.QueryContext(ctx, `
SELECT r.id::text, COALESCE(r.idempotency_key, ''), r.status, r.tokens, COALESCE(r.actual_tokens, 0),
       COUNT(t.id) FILTER (WHERE t.kind = 'reserve'), COUNT(t.id) FILTER (WHERE t.kind = 'commit'),
       COUNT(t.id) FILTER (WHERE t.kind = 'release'), COUNT(t.id) FILTER (WHERE t.kind = 'expire'),
       COALESCE(SUM(t.delta_reserved), 0), COALESCE(SUM(t.delta_used), 0)
FROM budget_reservations r LEFT JOIN budget_transactions t ON t.reservation_id = r.id
GROUP BY r.id`)
	if err != nil {
		t.Fatalf("read reservations: %v", err)
	}
	defer rows.Close()
	byStatus := map[string]int{}
	var badLedger, phantom, mismatch, both, abandonedNotExpired []string
	seen := map[string]bool{}
	for rows.Next() {
		var id, key, status string
		var tokens, actual, reserves, commits, releases, expires, dReserved, dUsed int64
		if err := rows.Scan(&id, &key, &status, &tokens, &actual, &reserves, &commits, &releases, &expires, &dReserved, &dUsed); err != nil {
			t.Fatal(err)
		}
		// Keys are stored scoped by the principal that sent them,
		// "<principal_id>|<key>"; the drill knows the key it sent.
		if _, sent, scoped := strings.Cut(key, "|"); scoped {
			key = sent
		}
		byStatus[status]++
		seen[id] = true
		want := map[string][3]int64{"committed": {1, 0, 0}, "released": {0, 1, 0}, "expired": {0, 0, 1}}[status]
		wantUsed := int64(0)
		if status == "committed" {
			wantUsed = actual
		}
		if reserves != 1 || [3]int64{commits, releases, expires} != want || dReserved != 0 || dUsed != wantUsed {
			badLedger = append(badLedger, fmt.Sprintf("%s %s: reserve %d, commit %d, release %d, expire %d rows, deltas %d/%d",
				id, status, reserves, commits, releases, expires, dReserved, dUsed))
		}
		r, known := d.resv[id]
		if !known || d.byKey[key] != id {
			phantom = append(phantom, fmt.Sprintf("%s (key %s, %s)", id, key, status))
			continue
		}
		if r.tokens != tokens {
			mismatch = append(mismatch, fmt.Sprintf("%s: %d tokens stored, %d approved", id, tokens, r.tokens))
		}
		switch {
		case r.commitOK && r.releaseOK:
			both = append(both, id)
		case r.commitOK && (status != "committed" || actual != r.actual):
			mismatch = append(mismatch, fmt.Sprintf("%s: commit of %d answered 200 but stored %s/%d", id, r.actual, status, actual))
		case r.releaseOK && status != "released":
			mismatch = append(mismatch, fmt.Sprintf("%s: release answered 200 but stored %s", id, status))
		case !r.commitOK && !r.releaseOK && status != "expired":
			mismatch = append(mismatch, fmt.Sprintf("%s: no settle answered 200 but stored %s", id, status))
		}
		if r.plan == "abandon" && status != "expired" {
			abandonedNotExpired = append(abandonedNotExpired, id)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var missing []string
	late := 0
	for id, r := range d.resv {
		if !seen[id] {
			missing = append(missing, id)
		}
		if r.lateConflicts > 0 {
			late++
		}
	}
	expireRows := queryInt(t, db, `SELECT count(*) FROM budget_transactions WHERE kind = 'expire'`)
	fig.addf("reservations in the database", "%d: committed %d, released %d, expired %d, pending %d",
		len(seen), byStatus["committed"], byStatus["released"], byStatus["expired"], byStatus["pending"])
	fig.add("expire rows in the ledger", expireRows)
	fig.add("settles refused because the sweeper had expired the reservation first", late)
	fig.check(t, "every approved reservation is stored with its tokens", len(missing) == 0 && len(mismatch) == 0,
		"missing %v, mismatched %v", first(missing, 5), first(mismatch, 5))
	fig.check(t, "no reservation the client was not told about", len(phantom) == 0, "%d, first %v", len(phantom), first(phantom, 5))
	fig.check(t, "no reservation both committed and released", len(both) == 0, "%v", first(both, 5))
	fig.check(t, "each reservation has one reserve row and exactly one settle row of its status", len(badLedger) == 0,
		"%d, first %v", len(badLedger), first(badLedger, 5))
	fig.check(t, "the sweeper expired each abandoned reservation exactly once",
		len(abandonedNotExpired) == 0 && expireRows == int64(byStatus["expired"]),
		"abandoned but not expired %v; %d expire rows for %d expired", first(abandonedNotExpired, 5), expireRows, byStatus["expired"])
	dupKeys := queryInt(t, db, `SELECT count(*) FROM (SELECT 1 FROM budget_reservations WHERE idempotency_key IS NOT NULL
		GROUP BY tenant_id, project_id, idempotency_key HAVING count(*) > 1) d`)
	fig.check(t, "one reservation per idempotency key", dupKeys == 0, "%d keys hold several", dupKeys)
}

// sameApproval compares two approvals field by field.
func sameApproval(a, b approval) bool {
	return a.Approved == b.Approved && a.ReservationID == b.ReservationID && a.Allocated == b.Allocated &&
		a.ExpiresAt.Equal(b.ExpiresAt)
}

// cloneBody copies a body map.
func cloneBody(m map[string]any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// first returns at most n elements of s.
func first[T any](s []T, n int) []T {
	if len(s) > n {
		return s[:n]
	}
	return s
}
