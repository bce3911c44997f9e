package handlers

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/golden-architecture/control-plane/middleware"
)

// edgeResource binds the request models of the API through the real
// binders, so the fuzz target below drives the edge check of every kind of
// field: identifiers, free text, raw text, integers, pointers, booleans.
type edgeResource struct{}

// edgeBodies are the request models the fuzz target binds, by route.
var edgeBodies = map[string]func() any{
	"login":   func() any { return &LoginRequest{} },
	"budget":  func() any { return &BudgetRequestBody{} },
	"commit":  func() any { return &BudgetCommitBody{} },
	"limits":  func() any { return &BudgetLimitBody{} },
	"tenant":  func() any { return &TenantCreateBody{} },
	"patch":   func() any { return &TenantPatchBody{} },
	"resolve": func() any { return &DLQResolveRequest{} },
	"check":   func() any { return &ValidateRequest{} },
}

var edgeRoutes = []string{"login", "budget", "commit", "limits", "tenant", "patch", "resolve", "check"}

func (edgeResource) Register(api *gin.RouterGroup, _ RouteLimiter) {
	for name, model := range edgeBodies {
		api.POST("/edge/"+name, func(c *gin.Context) {
			dst := model()
			if !bindJSON(c, dst) {
				return
			}
			accepted(c, checkStrings(dst) == nil)
		})
	}
	api.GET("/edge/audit", func(c *gin.Context) {
		var q AuditQuery
		if !bindQuery(c, &q) {
			return
		}
		ok := checkStrings(q) == nil
		for _, v := range []string{q.UserID, q.Action, q.ResourceType, q.ResourceID, q.Cursor} {
			ok = ok && (v == "" || identProblem(v) == "")
		}
		accepted(c, ok)
	})
	api.GET("/edge/path/:id", func(c *gin.Context) { accepted(c, identProblem(c.Param("id")) == "") })
}

// accepted answers 200 when what was bound passes the edge check, and 418
// (which fails the fuzz target) when the binder let through what it must not.
func accepted(c *gin.Context, ok bool) {
	if !ok {
		c.String(http.StatusTeapot, "the edge check let an invalid string through")
		return
	}
	c.Status(http.StatusOK)
}

var (
	edgeRouterOnce sync.Once
	edgeRouter     http.Handler
)

func edgeHandler(t testing.TB) http.Handler {
	edgeRouterOnce.Do(func() {
		gin.SetMode(gin.ReleaseMode)
		r, err := NewRouter(Deps{
			Log:          slog.New(slog.NewTextHandler(io.Discard, nil)),
			Version:      "test",
			MaxBodyBytes: 1 << 16,
			HTTPMetrics:  middleware.NewHTTPMetrics(prometheus.NewRegistry()),
			Metrics:      http.NotFoundHandler(),
			Health:       &Health{Checker: fixedHealth{}},
			Resources:    []Resource{edgeResource{}},
		})
		if err != nil {
			t.Fatal(err)
		}
		edgeRouter = r
	})
	return edgeRouter
}

// FuzzEdge is the fuzz target of the request-validation layer (run it with
// go test -fuzz FuzzEdge ./handlers/). Whatever the bytes, a body, a query
// value or a path segment is answered 200, 400, 413 or 422 in the one error
// shape, and what is accepted passes the edge check: every string valid
// UTF-8 without NUL (so PostgreSQL can store it). The seeds, and the corpus
// in testdata/fuzz/FuzzEdge, are the failures found so far; plain go test
// runs them.
func FuzzEdge(f *testing.F) {
	for _, seed := range []struct {
		route uint8
		data  string
	}{
		{0, `{"username":"admin","password":"admin123"}`},
		{0, `{"username":"ad\u0000min","password":"x"}`},
		{0, "{\"username\":\"adm\xffin\",\"password\":\"x\"}"},
		{0, `{"username":"   ","password":"x"}`},
		{1, `{"tenant_id":"acme","project_id":"   ","task_id":"t","model":"m","estimated_tokens":1}`},
		{1, `{"tenant_id":"acme","project_id":"p","task_id":"t\u0001","model":"m","estimated_tokens":1}`},
		{1, `{"tenant_id":"acme","project_id":"p","task_id":"t","model":"m","estimated_tokens":1e400}`},
		{3, `{"project_id":"p","total_limit":null}`},
		{4, `{"id":"a\u0000b"}`},
		{5, `{"name":"\u0000"}`},
		{6, `{"note":"a\u0000b","requeue":true}`},
		{7, `{"llm_response":"{\"a\":\"\u0000\"}"}`},
		{8, "subject=%FF&action=%00&user_id=%20"},
		{9, "a%00b"},
		{9, "%FF"},
	} {
		f.Add(seed.route, []byte(seed.data))
	}
	h := edgeHandler(f)
	f.Fuzz(func(t *testing.T, route uint8, data []byte) {
		var req *http.Request
		switch n := int(route) % (len(edgeRoutes) + 2); {
		case n < len(edgeRoutes):
			req = httptest.NewRequest(http.MethodPost, "/api/v1/edge/"+edgeRoutes[n], bytes.NewReader(data))
			req.Header.Set("Content-Type", "application/json")
		case n == len(edgeRoutes):
			req = httptest.NewRequest(http.MethodGet, "/api/v1/edge/audit", nil)
			req.URL.RawQuery = string(data)
		default:
			if len(data) == 0 || bytes.ContainsAny(data, "/?#") {
				return // another route, or no parameter
			}
			req = httptest.NewRequest(http.MethodGet, "/api/v1/edge/path/x", nil)
			req.URL.Path = "/api/v1/edge/path/" + string(data)
			req.URL.RawPath = "/api/v1/edge/path/" + url.PathEscape(string(data))
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK:
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity, http.StatusNotFound:
			var e middleware.ErrorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.ErrorCode == "" || e.RequestID == "" || e.Message == "" {
				t.Fatalf("%d not in the one error shape: %s", rec.Code, rec.Body)
			}
		default:
			t.Fatalf("answered %d to %q: %s", rec.Code, data, rec.Body)
		}
	})
}
