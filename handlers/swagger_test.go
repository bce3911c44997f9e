package handlers_test

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/golden-architecture/control-plane/internal/testenv"
)

// TestSwaggerUIAssets loads the Swagger UI page and every file it refers to,
// as a browser would: each must be served, with its type, and the embedded
// assets byte for byte. Source maps and other builds are not shipped.
func TestSwaggerUIAssets(t *testing.T) {
	t.Parallel()
	srv := testenv.Quick(t)
	page := srv.Get(t, "/docs/index.html", "").WantStatus(t, http.StatusOK)
	refs := regexp.MustCompile(`(?:href|src)="(?:\./)?([^"/:]+)"`).FindAllSubmatch(page.Body, -1)
	if len(refs) < 6 {
		t.Fatalf("index.html refers to %d files, want at least 6 (css, icons, bundles, initializer): %s", len(refs), page.Body)
	}
	names := []string{"oauth2-redirect.html"} // opened by the UI's OAuth flow, not by the page
	for _, r := range refs {
		names = append(names, string(r[1]))
	}
	types := map[string]string{".css": "text/css", ".js": "javascript", ".png": "image/png", ".html": "text/html"}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			res := srv.Get(t, "/docs/"+name, "").WantStatus(t, http.StatusOK)
			if ct := res.Header.Get("Content-Type"); !strings.Contains(ct, types[filepath.Ext(name)]) || len(res.Body) == 0 {
				t.Errorf("Content-Type %q, %d bytes; want %s and a body", ct, len(res.Body), types[filepath.Ext(name)])
			}
			if want, err := os.ReadFile(filepath.Join("swaggerui", name)); err == nil && !bytes.Equal(res.Body, want) {
				t.Errorf("served %d bytes, differ from swaggerui/%s (%d bytes)", len(res.Body), name, len(want))
			}
		})
	}
	for _, name := range []string{"swagger-ui.js.map", "swagger-ui-bundle.js.map", "swagger-ui.js", "README.md", "../docs/swagger.json"} {
		if got := srv.Get(t, "/docs/"+name, "").Status; got != http.StatusNotFound {
			t.Errorf("GET /docs/%s = %d, want 404", name, got)
		}
	}
}
