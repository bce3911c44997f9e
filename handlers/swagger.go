package handlers

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strings"

	"github.com/gin-gonic/gin"
	ginSwagger "github.com/swaggo/gin-swagger"
	"golang.org/x/net/webdav"

	"github.com/golden-architecture/control-plane/docs"
	"github.com/golden-architecture/control-plane/middleware"
)

// specPath is where the UI and clients fetch the API description.
const specPath = "/openapi.json"

// swaggerAssets are the files of Swagger UI 5 that its page loads (see
// swaggerui/README.md); gin-swagger writes the page, its CSS and initializer
// itself. github.com/swaggo/files/v2, which it usually serves them from,
// also embeds the ES bundles, the plain build and every source map: 9.4 MB
// of the binary that no page asks for.
//
//go:embed swaggerui/*.js swaggerui/*.css swaggerui/*.png swaggerui/*.html
var swaggerAssets embed.FS

// swaggerUI serves the Swagger UI under /docs/*any and the OpenAPI 3.1
// description at /docs/openapi.json, stamped with this build's version.
//
// The UI files are Swagger UI 5 (from swaggo/files/v2; v1 ships Swagger UI 4,
// which cannot read OpenAPI 3.1). Each router gets its own file handler:
// gin-swagger sets the prefix of the handler it is given, a data race when
// several servers run in one process (tests, replicas) and share one.
func swaggerUI(version string) (gin.HandlerFunc, error) {
	spec, title, err := stampVersion(docs.OpenAPI, version)
	if err != nil {
		return nil, err
	}
	assets, err := fs.Sub(swaggerAssets, "swaggerui")
	if err != nil {
		return nil, err
	}
	ui := ginSwagger.CustomWrapHandler(&ginSwagger.Config{
		URL:                      strings.TrimPrefix(specPath, "/"),
		Title:                    title + " — API docs",
		DocExpansion:             "list",
		DefaultModelsExpandDepth: 1,
		DeepLinking:              true,
		// Keep the token of "Authorize" across page reloads.
		PersistAuthorization: true,
	}, &webdav.Handler{FileSystem: readOnlyDAV{assets}, LockSystem: webdav.NewMemLS()})

	return func(c *gin.Context) {
		switch c.Param("any") {
		case specPath:
			c.Data(http.StatusOK, "application/json; charset=utf-8", spec)
		case "/doc.json": // gin-swagger's own name for the Swagger 2.0 document, which is gone
			middleware.NotFound(c)
		default:
			ui(c)
		}
	}, nil
}

// stampVersion sets info.version of the description to the build's version
// and returns the document and its title.
func stampVersion(spec []byte, version string) ([]byte, string, error) {
	var doc map[string]any
	if err := json.Unmarshal(spec, &doc); err != nil {
		return nil, "", fmt.Errorf("docs/openapi.json: %w", err)
	}
	info, ok := doc["info"].(map[string]any)
	if !ok {
		return nil, "", errors.New("docs/openapi.json has no info object")
	}
	info["version"] = version
	title, _ := info["title"].(string)
	out, err := json.Marshal(doc)
	return out, title, err
}

// readOnlyDAV serves an fs.FS to gin-swagger, which takes a webdav handler.
type readOnlyDAV struct{ fsys fs.FS }

var _ webdav.FileSystem = readOnlyDAV{}

func (d readOnlyDAV) name(p string) string { return strings.TrimPrefix(path.Clean("/"+p), "/") }

// OpenFile implements webdav.FileSystem.
func (d readOnlyDAV) OpenFile(_ context.Context, name string, flag int, _ os.FileMode) (webdav.File, error) {
	if flag != os.O_RDONLY {
		return nil, os.ErrPermission
	}
	f, err := d.fsys.Open(d.name(name))
	if err != nil {
		return nil, err
	}
	return readOnlyFile{f}, nil
}

// Stat implements webdav.FileSystem.
func (d readOnlyDAV) Stat(_ context.Context, name string) (os.FileInfo, error) {
	return fs.Stat(d.fsys, d.name(name))
}

// Mkdir implements webdav.FileSystem.
func (readOnlyDAV) Mkdir(context.Context, string, os.FileMode) error { return os.ErrPermission }

// RemoveAll implements webdav.FileSystem.
func (readOnlyDAV) RemoveAll(context.Context, string) error { return os.ErrPermission }

// Rename implements webdav.FileSystem.
func (readOnlyDAV) Rename(context.Context, string, string) error { return os.ErrPermission }

// readOnlyFile is an embedded file as a webdav.File.
type readOnlyFile struct{ fs.File }

// Seek implements io.Seeker (embedded files can).
func (f readOnlyFile) Seek(offset int64, whence int) (int64, error) {
	s, ok := f.File.(io.Seeker)
	if !ok {
		return 0, errors.ErrUnsupported
	}
	return s.Seek(offset, whence)
}

// Readdir implements http.File; the UI lists no directories.
func (readOnlyFile) Readdir(int) ([]fs.FileInfo, error) { return nil, os.ErrPermission }

// Write implements io.Writer; the files are read-only.
func (readOnlyFile) Write([]byte) (int, error) { return 0, os.ErrPermission }
