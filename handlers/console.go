package handlers

import (
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/golden-architecture/control-plane/middleware"
	"github.com/golden-architecture/control-plane/web"
)

// ConsoleCSP is the Content-Security-Policy of every /console answer: the
// page loads its one script and one stylesheet from this server, talks to
// this server's API and nothing else; no inline script or style, no plugin,
// no framing, no form posting anywhere.
const ConsoleCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// consoleTypes are the media types of the files the console has.
var consoleTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
}

// registerConsole serves the operator console (web/dist) at /console/: the
// page, its script and stylesheet, each read once at start. Anything else
// under /console is a 404 in the one error shape.
func registerConsole(r *gin.Engine) error {
	files := map[string][]byte{}
	err := fs.WalkDir(web.Files(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(web.Files(), name)
		files[name] = data
		return err
	})
	if err != nil {
		return err
	}
	r.GET("/console", func(c *gin.Context) { c.Redirect(http.StatusMovedPermanently, "/console/") })
	r.GET("/console/*any", func(c *gin.Context) {
		name := strings.TrimPrefix(c.Param("any"), "/")
		if name == "" {
			name = "index.html"
		}
		data, ok := files[name]
		if !ok {
			middleware.NotFound(c)
			return
		}
		h := c.Writer.Header()
		h.Set("Content-Security-Policy", ConsoleCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		// The files change with every release under the same names.
		h.Set("Cache-Control", "no-cache")
		c.Data(http.StatusOK, consoleTypes[path.Ext(name)], data)
	})
	return nil
}
