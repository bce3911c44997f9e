package handlers_test

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/golden-architecture/control-plane/handlers"
	"github.com/golden-architecture/control-plane/internal/testenv"
)

// TestConsoleFiles loads the console page and every file it refers to, as a
// browser would: each is the committed build byte for byte, with its type
// and the strict Content-Security-Policy; the page has no inline script or
// style for that policy to refuse, and nothing else is served under
// /console.
func TestConsoleFiles(t *testing.T) {
	t.Parallel()
	srv := testenv.Quick(t)
	srv.Client.HTTP.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	var root struct {
		Links map[string]string `json:"links"`
	}
	srv.Get(t, "/", "").WantStatus(t, http.StatusOK).JSON(t, &root)
	if root.Links["console"] != "/console/" {
		t.Errorf("GET / links the console at %q, want /console/", root.Links["console"])
	}
	res := srv.Get(t, "/console", "")
	if res.Status != http.StatusMovedPermanently || res.Header.Get("Location") != "/console/" {
		t.Fatalf("GET /console = %d to %q, want 301 to /console/", res.Status, res.Header.Get("Location"))
	}
	page := srv.Get(t, "/console/", "").WantStatus(t, http.StatusOK)
	if inline := regexp.MustCompile(`(?i)<script(?:[^>]*)>\s*[^<\s]|<style|\sstyle=|\son[a-z]+=`).Find(page.Body); inline != nil {
		t.Errorf("index.html has inline code or style %q, which the CSP refuses", inline)
	}
	refs := regexp.MustCompile(`(?:href|src)="([^"]+)"`).FindAllSubmatch(page.Body, -1)
	names := []string{"index.html"}
	for _, r := range refs {
		names = append(names, string(r[1]))
	}
	if len(names) != 3 {
		t.Fatalf("index.html refers to %v, want console.css and console.js", names[1:])
	}
	types := map[string]string{".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			res := srv.Get(t, "/console/"+name, "").WantStatus(t, http.StatusOK)
			want, err := os.ReadFile(filepath.Join("..", "web", "dist", name))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(res.Body, want) {
				t.Errorf("served %d bytes, differ from web/dist/%s (%d bytes)", len(res.Body), name, len(want))
			}
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, types[filepath.Ext(name)]) {
				t.Errorf("Content-Type %q, want %s", ct, types[filepath.Ext(name)])
			}
			for header, want := range map[string]string{
				"Content-Security-Policy": handlers.ConsoleCSP,
				"X-Content-Type-Options":  "nosniff",
				"X-Frame-Options":         "DENY",
				"Cache-Control":           "no-cache",
			} {
				if got := res.Header.Get(header); got != want {
					t.Errorf("%s = %q, want %q", header, got, want)
				}
			}
		})
	}
	for _, directive := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(handlers.ConsoleCSP, directive+";") && !strings.HasSuffix(handlers.ConsoleCSP, directive) {
			t.Errorf("CSP %q lacks %s", handlers.ConsoleCSP, directive)
		}
	}
	if strings.Contains(handlers.ConsoleCSP, "unsafe") {
		t.Errorf("CSP %q allows something unsafe", handlers.ConsoleCSP)
	}
	for _, name := range []string{"main.ts", "../go.mod", "src/main.ts", "console.go", "x/index.html"} {
		srv.Get(t, "/console/"+name, "").WantError(t, http.StatusNotFound, "resource.not_found")
	}
}
