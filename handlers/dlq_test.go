package handlers_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	neturl "net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/internal/testenv"
	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/platform/natsbus"
)

// dlqEnv is a fresh Env whose DLQ stream is deleted from a shared NATS
// (TEST_NATS_URL) after its servers stop.
func dlqEnv(t *testing.T, kv ...string) *testenv.Env {
	t.Helper()
	env := testenv.New(t, kv...)
	if url := env.Vars["NATS_URL"]; url != "" {
		stream := env.Vars["DLQ_STREAM"]
		t.Cleanup(func() {
			nc, err := nats.Connect(url)
			if err != nil {
				return
			}
			defer nc.Close()
			if js, err := jetstream.New(nc); err == nil {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = js.DeleteStream(ctx, stream)
			}
		})
	}
	return env
}

type dlqItem struct {
	ID              string    `json:"id"`
	OriginalSubject string    `json:"original_subject"`
	DataPreview     string    `json:"data_preview"`
	Error           string    `json:"error"`
	Attempts        int       `json:"attempts"`
	CreatedAt       time.Time `json:"created_at"`
	Resolved        bool      `json:"resolved"`
}

type dlqPage struct {
	Items      []dlqItem `json:"items"`
	NextCursor *string   `json:"next_cursor"`
}

type dlqMessage struct {
	ID              string              `json:"id"`
	StreamSeq       int64               `json:"stream_seq"`
	OriginalSubject string              `json:"original_subject"`
	Data            string              `json:"data"`
	DataEncoding    string              `json:"data_encoding"`
	Headers         map[string][]string `json:"headers"`
	Error           string              `json:"error"`
	Attempts        int                 `json:"attempts"`
	Resolved        bool                `json:"resolved"`
	ResolvedAt      *time.Time          `json:"resolved_at"`
	ResolvedBy      *string             `json:"resolved_by"`
	ResolutionNotes *string             `json:"resolution_notes"`
	RequeuedAt      *time.Time          `json:"requeued_at"`
	RequeueCount    int                 `json:"requeue_count"`
}

// dlqPublish dead-letters one message on srv's NATS and waits until srv's
// ingest worker stored it; it returns the row.
func dlqPublish(t *testing.T, srv *testenv.Server, subject, data string, h nats.Header) models.DLQMessage {
	t.Helper()
	msg := &nats.Msg{Subject: srv.Config.DLQSubjectPrefix + "." + subject, Data: []byte(data), Header: h}
	ack, err := srv.App.Bus().JS.PublishMsg(context.Background(), msg)
	if err != nil {
		t.Fatalf("publish to the DLQ: %v", err)
	}
	db := srv.App.DB().DB
	var row models.DLQMessage
	testenv.Wait(t, 20*time.Second, "the message to be ingested", func() bool {
		return db.Where("stream_seq = ?", ack.Sequence).Take(&row).Error == nil
	})
	return row
}

func dlqRows(t *testing.T, db *gorm.DB) int64 {
	t.Helper()
	var n int64
	if err := db.Model(&models.DLQMessage{}).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func dlqStored(t *testing.T, db *gorm.DB, id string) models.DLQMessage {
	t.Helper()
	var row models.DLQMessage
	if err := db.Where("id = ?", id).Take(&row).Error; err != nil {
		t.Fatal(err)
	}
	return row
}

func resolvePath(id string) string { return "/api/v1/dlq/" + id + "/resolve" }

func TestDLQPermissions(t *testing.T) {
	srv := dlqEnv(t).Start(t)
	row := dlqPublish(t, srv, "orders.created", `{"id":1}`, nil)
	tokens := map[string]string{"": ""}
	for _, role := range []string{"admin", "operator", "developer", "observer"} {
		tokens[role] = srv.Token(t, role)
	}
	note := map[string]any{"note": "checked"}
	tests := []struct {
		role, method, path string
		want               int
	}{
		{"", http.MethodGet, "/api/v1/dlq", http.StatusUnauthorized},
		{"observer", http.MethodGet, "/api/v1/dlq", http.StatusForbidden},
		{"developer", http.MethodGet, "/api/v1/dlq", http.StatusForbidden},
		{"developer", http.MethodGet, "/api/v1/dlq/" + row.ID, http.StatusForbidden},
		// dlq.read is not enough: the DLQ is platform-level and the operator
		// is bound to a tenant (DESIGN §7).
		{"operator", http.MethodGet, "/api/v1/dlq", http.StatusForbidden},
		{"operator", http.MethodGet, "/api/v1/dlq/" + row.ID, http.StatusForbidden},
		{"admin", http.MethodGet, "/api/v1/dlq", http.StatusOK},
		{"", http.MethodPost, resolvePath(row.ID), http.StatusUnauthorized},
		{"developer", http.MethodPost, resolvePath(row.ID), http.StatusForbidden},
		{"operator", http.MethodPost, resolvePath(row.ID), http.StatusForbidden},
		{"admin", http.MethodPost, resolvePath(row.ID), http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %s %s", tt.role, tt.method, tt.path), func(t *testing.T) {
			var body any
			if tt.method == http.MethodPost {
				body = note
			}
			r := srv.Send(t, testenv.Request{Method: tt.method, Path: tt.path, Token: tokens[tt.role], Body: body})
			switch tt.want {
			case http.StatusUnauthorized:
				r.WantError(t, tt.want, "auth.unauthorized")
			case http.StatusForbidden:
				r.WantError(t, tt.want, "auth.forbidden")
			default:
				r.WantStatus(t, tt.want)
			}
		})
	}
	// Only the admin's resolve went through.
	stored := dlqStored(t, srv.App.DB().DB, row.ID)
	if !stored.Resolved || stored.ResolvedBy == nil || *stored.ResolvedBy != "admin" {
		t.Errorf("stored = %+v; want resolved by admin", stored)
	}
}

func TestDLQListAndGet(t *testing.T) {
	srv := dlqEnv(t).Start(t)
	token := srv.Token(t, "admin")
	long := strings.Repeat("ж", 250)
	a := dlqPublish(t, srv, "orders.created", `{"id":1}`, nats.Header{"error": {"timeout"}, "attempts": {"3"}, "X-Trace": {"t1"}})
	b := dlqPublish(t, srv, "orders.eu.paid", long, nil)
	c := dlqPublish(t, srv, "users.created", "\xff\xfebinary", nil)

	var page dlqPage
	srv.Get(t, "/api/v1/dlq", token).WantStatus(t, http.StatusOK).JSON(t, &page)
	if len(page.Items) != 3 || page.Items[0].ID != c.ID || page.Items[1].ID != b.ID || page.Items[2].ID != a.ID || page.NextCursor != nil {
		t.Fatalf("page = %+v; want c, b, a (newest first) and no next cursor", page)
	}
	first := page.Items[2]
	if first.OriginalSubject != "orders.created" || first.DataPreview != `{"id":1}` || first.Error != "timeout" ||
		first.Attempts != 3 || first.Resolved || first.CreatedAt.IsZero() {
		t.Errorf("item = %+v; want orders.created, its payload, error timeout, 3 attempts, unresolved", first)
	}
	if got := page.Items[1].DataPreview; got != strings.Repeat("ж", 200) {
		t.Errorf("preview of a long payload has %d characters, want the first 200", len([]rune(got)))
	}
	if got := page.Items[0].DataPreview; got != "\uFFFDbinary" {
		t.Errorf("preview of binary = %q, want invalid bytes replaced", got)
	}

	tests := []struct {
		query string
		want  []string
	}{
		{"subject=orders.created", []string{a.ID}},
		{"subject=orders.%3E", []string{b.ID, a.ID}},
		{"resolved=true", nil},
		{"limit=1", []string{c.ID}},
		{"since=" + neturl.QueryEscape(b.CreatedAt.Format(time.RFC3339Nano)), []string{c.ID, b.ID}},
		{"until=" + neturl.QueryEscape(b.CreatedAt.Format(time.RFC3339Nano)), []string{a.ID}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			var p dlqPage
			srv.Get(t, "/api/v1/dlq?"+tt.query, token).WantStatus(t, http.StatusOK).JSON(t, &p)
			var got []string
			for _, it := range p.Items {
				got = append(got, it.ID)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("ids = %v, want %v", got, tt.want)
			}
		})
	}
	for _, q := range []string{"resolved=maybe", "subject=orders.*", "since=yesterday", "limit=-1", "limit=x", "cursor=%21%21"} {
		t.Run("rejects "+q, func(t *testing.T) {
			srv.Get(t, "/api/v1/dlq?"+q, token).WantError(t, http.StatusUnprocessableEntity, "validation.unprocessable_entity")
		})
	}

	var m dlqMessage
	srv.Get(t, "/api/v1/dlq/"+a.ID, token).WantStatus(t, http.StatusOK).JSON(t, &m)
	if m.ID != a.ID || m.StreamSeq != a.StreamSeq || m.Data != `{"id":1}` || m.DataEncoding != "utf-8" ||
		m.Headers["X-Trace"][0] != "t1" || m.Error != "timeout" || m.Attempts != 3 || m.Resolved ||
		m.ResolvedAt != nil || m.ResolvedBy != nil || m.ResolutionNotes != nil || m.RequeuedAt != nil || m.RequeueCount != 0 {
		t.Errorf("message = %+v; want the whole unresolved message", m)
	}
	var bin dlqMessage
	srv.Get(t, "/api/v1/dlq/"+c.ID, token).WantStatus(t, http.StatusOK).JSON(t, &bin)
	if bin.DataEncoding != "base64" || bin.Data != "//5iaW5hcnk=" {
		t.Errorf("binary data = %q (%s), want base64", bin.Data, bin.DataEncoding)
	}
	for _, id := range []string{"0b9e3f8e-4c1a-4f43-9d39-4f8d8e0f3a11", "not-a-uuid", "1'%20OR%20'1'='1"} {
		srv.Get(t, "/api/v1/dlq/"+id, token).WantError(t, http.StatusNotFound, "resource.not_found")
	}
}

func TestDLQResolveRequeue(t *testing.T) {
	srv := dlqEnv(t).Start(t)
	token := srv.Token(t, "admin")
	orig := "orders" + strconv.FormatInt(time.Now().UnixNano(), 36) + ".created"
	row := dlqPublish(t, srv, orig, `{"id":9}`, nats.Header{"error": {"timeout"}, "X-Tenant": {"acme"}})

	nc := srv.App.Bus().Conn
	sub, err := nc.SubscribeSync(orig)
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	r := srv.Post(t, resolvePath(row.ID), token, map[string]any{"note": "replayed after the fix", "requeue": true})
	got := r.WantStatus(t, http.StatusOK).Map(t)
	if got["status"] != "resolved" || got["message_id"] != row.ID || got["requeued"] != true {
		t.Errorf("answer = %v; want resolved, the id, requeued", got)
	}
	msg, err := sub.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatalf("requeued message not received: %v", err)
	}
	if string(msg.Data) != `{"id":9}` || msg.Header.Get("X-Tenant") != "acme" || msg.Header.Get("error") != "timeout" {
		t.Errorf("received %q with %v; want the payload and headers", msg.Data, msg.Header)
	}
	if _, err := sub.NextMsg(300 * time.Millisecond); !errors.Is(err, nats.ErrTimeout) {
		t.Errorf("a second copy arrived (err %v)", err)
	}

	var m dlqMessage
	srv.Get(t, "/api/v1/dlq/"+row.ID, token).WantStatus(t, http.StatusOK).JSON(t, &m)
	if !m.Resolved || m.ResolvedAt == nil || m.ResolvedBy == nil || *m.ResolvedBy != "admin" ||
		m.ResolutionNotes == nil || *m.ResolutionNotes != "replayed after the fix" || m.RequeuedAt == nil || m.RequeueCount != 1 {
		t.Errorf("message = %+v; want resolved and requeued by admin with the note", m)
	}
	var resolved dlqPage
	srv.Get(t, "/api/v1/dlq?resolved=true", token).WantStatus(t, http.StatusOK).JSON(t, &resolved)
	if len(resolved.Items) != 1 || resolved.Items[0].ID != row.ID || !resolved.Items[0].Resolved {
		t.Errorf("resolved listing = %+v; want the message", resolved)
	}

	srv.Post(t, resolvePath(row.ID), token, map[string]any{"note": "again", "requeue": true}).
		WantError(t, http.StatusConflict, "dlq.already_resolved")
	if _, err := sub.NextMsg(300 * time.Millisecond); !errors.Is(err, nats.ErrTimeout) {
		t.Errorf("the refused resolve published (err %v)", err)
	}

	var entry models.AuditEntry
	db := srv.App.DB().DB
	if err := db.Where("action = ? AND resource_id = ?", "dlq.resolve", row.ID).Take(&entry).Error; err != nil {
		t.Fatalf("audit entry: %v", err)
	}
	if entry.Role != "admin" || entry.RequestID == "" || entry.Details["note"] != "replayed after the fix" || entry.Details["requeue"] != true {
		t.Errorf("audit entry = %+v; want admin's resolve with note and requeue", entry)
	}

	metrics := string(srv.Get(t, "/metrics", "").WantStatus(t, http.StatusOK).Body)
	for _, line := range []string{"dlq_ingested_total 1", "dlq_resolved_total 1", "dlq_requeued_total 1", "dlq_unresolved 0"} {
		if !strings.Contains(metrics, "\n"+line+"\n") {
			t.Errorf("/metrics lacks %q", line)
		}
	}
}

func TestDLQResolveRejects(t *testing.T) {
	srv := dlqEnv(t).Start(t)
	token := srv.Token(t, "admin")
	row := dlqPublish(t, srv, "orders.created", "x", nil)
	loop := dlqPublish(t, srv, srv.Config.DLQSubjectPrefix+".orders.created", "x", nil)
	tests := []struct {
		name   string
		id     string
		body   any
		status int
		code   string
	}{
		{"malformed JSON", row.ID, `{"note":`, http.StatusBadRequest, "validation.invalid_request"},
		{"no note", row.ID, map[string]any{"requeue": true}, http.StatusUnprocessableEntity, "validation.unprocessable_entity"},
		{"blank note", row.ID, map[string]any{"note": "   "}, http.StatusUnprocessableEntity, "validation.unprocessable_entity"},
		{"note too long", row.ID, map[string]any{"note": strings.Repeat("n", 2001)}, http.StatusUnprocessableEntity, "validation.unprocessable_entity"},
		{"requeue not a boolean", row.ID, map[string]any{"note": "n", "requeue": "yes"}, http.StatusUnprocessableEntity, "validation.unprocessable_entity"},
		{"unknown id", "0b9e3f8e-4c1a-4f43-9d39-4f8d8e0f3a11", map[string]any{"note": "n"}, http.StatusNotFound, "resource.not_found"},
		{"malformed id", "42", map[string]any{"note": "n"}, http.StatusNotFound, "resource.not_found"},
		{"requeue into the DLQ", loop.ID, map[string]any{"note": "n", "requeue": true}, http.StatusConflict, "state.conflict"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.Post(t, resolvePath(tt.id), token, tt.body).WantError(t, tt.status, tt.code)
		})
	}
	db := srv.App.DB().DB
	for _, id := range []string{row.ID, loop.ID} {
		if stored := dlqStored(t, db, id); stored.Resolved || stored.RequeueCount != 0 {
			t.Errorf("message %s = %+v; want untouched", id, stored)
		}
	}
	if n := dlqRows(t, db); n != 2 {
		t.Errorf("rows = %d, want 2 (nothing was requeued into the DLQ)", n)
	}
}

func TestDLQConcurrentResolves(t *testing.T) {
	srv := dlqEnv(t).Start(t)
	token := srv.Token(t, "admin")
	row := dlqPublish(t, srv, "orders.created", "x", nil)
	statuses := make([]int, 2)
	var wg sync.WaitGroup
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := srv.SendErr(testenv.Request{Method: http.MethodPost, Path: resolvePath(row.ID), Token: token,
				Body: map[string]any{"note": fmt.Sprintf("resolver %d", i), "requeue": true}})
			if err != nil {
				t.Error(err)
				return
			}
			statuses[i] = r.Status
		}()
	}
	wg.Wait()
	if !(statuses[0] == 200 && statuses[1] == 409 || statuses[0] == 409 && statuses[1] == 200) {
		t.Fatalf("statuses = %v, want one 200 and one 409", statuses)
	}
	var entries int64
	srv.App.DB().DB.Model(&models.AuditEntry{}).Where("action = ? AND resource_id = ?", "dlq.resolve", row.ID).Count(&entries)
	if entries != 1 {
		t.Errorf("audit entries = %d, want 1", entries)
	}
}

// TestDLQRequeuePublishFailure runs the service on a NATS server of the
// test's own and stops it: the requeue answers 503 and the message stays
// unresolved; once NATS is back the same request succeeds.
func TestDLQRequeuePublishFailure(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nats")
	ns, err := natsbus.StartEmbedded(dir, -1)
	if err != nil {
		t.Fatal(err)
	}
	url := ns.ClientURL()
	t.Cleanup(func() { ns.Shutdown() })
	env := testenv.New(t)
	srv := env.Start(t, "NATS_URL", url)
	token := srv.Token(t, "admin")
	row := dlqPublish(t, srv, "orders.created", `{"id":5}`, nil)

	ns.Shutdown()
	ns.WaitForShutdown()
	srv.Post(t, resolvePath(row.ID), token, map[string]any{"note": "replay", "requeue": true}).
		WantError(t, http.StatusServiceUnavailable, "service.unavailable")
	db := srv.App.DB().DB
	if stored := dlqStored(t, db, row.ID); stored.Resolved || stored.RequeueCount != 0 || stored.ClaimToken != nil {
		t.Errorf("stored = %+v; want unresolved, never requeued, unclaimed", stored)
	}
	var entries int64
	db.Model(&models.AuditEntry{}).Where("action = ?", "dlq.resolve").Count(&entries)
	if entries != 0 {
		t.Errorf("audit entries = %d, want 0", entries)
	}

	u, _ := neturl.Parse(url)
	port, _ := strconv.Atoi(u.Port())
	ns, err = natsbus.StartEmbedded(dir, port)
	if err != nil {
		t.Fatalf("restart NATS: %v", err)
	}
	testenv.Wait(t, 10*time.Second, "reconnected", srv.App.Bus().Conn.IsConnected)
	srv.Post(t, resolvePath(row.ID), token, map[string]any{"note": "replay", "requeue": true}).WantStatus(t, http.StatusOK)
	// The ingest worker came back too.
	dlqPublish(t, srv, "orders.created", `{"id":6}`, nil)
}

// TestDLQTwoServersIngestOnce runs two replicas on one database and one NATS:
// 1,000 dead letters are stored exactly once.
func TestDLQTwoServersIngestOnce(t *testing.T) {
	if _, _, external := testenv.External(); !external {
		t.Skip("needs TEST_NATS_URL: in embedded mode each server has a NATS of its own")
	}
	env := dlqEnv(t)
	s1, s2 := env.Start(t), env.Start(t)
	js := s1.App.Bus().JS
	for i := range 1000 {
		msg := &nats.Msg{Subject: s1.Config.DLQSubjectPrefix + ".orders.created", Data: fmt.Appendf(nil, `{"n":%d}`, i)}
		if _, err := js.PublishMsgAsync(msg); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(30 * time.Second):
		t.Fatal("publishes not acknowledged")
	}
	db := s2.App.DB().DB
	testenv.Wait(t, 60*time.Second, "1000 rows", func() bool { return dlqRows(t, db) >= 1000 })
	time.Sleep(500 * time.Millisecond)
	var got struct{ N, Uniq int64 }
	db.Model(&models.DLQMessage{}).Select("count(*) AS n, count(DISTINCT stream_seq) AS uniq").Scan(&got)
	if got.N != 1000 || got.Uniq != 1000 {
		t.Fatalf("rows = %d with %d distinct stream sequences, want 1000 each", got.N, got.Uniq)
	}
	// Both replicas list the same messages.
	token := s1.Token(t, "admin")
	var p1, p2 dlqPage
	s1.Get(t, "/api/v1/dlq?limit=200", token).WantStatus(t, http.StatusOK).JSON(t, &p1)
	s2.Get(t, "/api/v1/dlq?limit=200", token).WantStatus(t, http.StatusOK).JSON(t, &p2)
	if len(p1.Items) != 200 || len(p2.Items) != 200 || p1.Items[0].ID != p2.Items[0].ID {
		t.Errorf("replicas list %d and %d items, want the same 200", len(p1.Items), len(p2.Items))
	}
}

func TestDLQPagingWhileMessagesArrive(t *testing.T) {
	srv := dlqEnv(t).Start(t)
	token := srv.Token(t, "admin")
	existing := map[string]bool{}
	for i := range 25 {
		existing[dlqPublish(t, srv, "orders.created", fmt.Sprintf(`{"n":%d}`, i), nil).ID] = true
	}
	seen := map[string]int{}
	path := "/api/v1/dlq?limit=4"
	for pages := 0; ; pages++ {
		if pages > 50 {
			t.Fatal("paging does not end")
		}
		var p dlqPage
		srv.Get(t, path, token).WantStatus(t, http.StatusOK).JSON(t, &p)
		for _, it := range p.Items {
			seen[it.ID]++
		}
		dlqPublish(t, srv, "orders.created", "new", nil)
		if p.NextCursor == nil {
			break
		}
		path = "/api/v1/dlq?limit=4&cursor=" + neturl.QueryEscape(*p.NextCursor)
	}
	for id := range existing {
		if seen[id] != 1 {
			t.Errorf("message %s seen %d times, want once", id, seen[id])
		}
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("message %s seen %d times", id, n)
		}
	}
}
