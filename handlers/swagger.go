package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"
	swaggerFiles "github.com/swaggo/files"
	ginSwagger "github.com/swaggo/gin-swagger"
	"golang.org/x/net/webdav"

	"github.com/golden-architecture/control-plane/docs"
)

// swaggerUI serves the Swagger UI under /docs/*any and the API description
// at /docs/doc.json, stamped with this build's version.
//
// Each router gets its own copy of the generated spec and its own file
// handler: gin-swagger would otherwise read the version from the global
// docs.SwaggerInfo and set the prefix of the global swaggerFiles.Handler, a
// data race when several servers run in one process (tests, replicas).
func swaggerUI(version string) gin.HandlerFunc {
	info := *docs.SwaggerInfo
	info.Version = version
	spec := []byte(info.ReadDoc())

	ui := ginSwagger.CustomWrapHandler(&ginSwagger.Config{
		URL:                      "doc.json",
		Title:                    info.Title + " — API docs",
		DocExpansion:             "list",
		DefaultModelsExpandDepth: 1,
		DeepLinking:              true,
		// Keep the bearer token of "Authorize" across page reloads.
		PersistAuthorization: true,
	}, &webdav.Handler{FileSystem: swaggerFiles.FS, LockSystem: webdav.NewMemLS()})

	return func(c *gin.Context) {
		if c.Param("any") == "/doc.json" {
			c.Data(http.StatusOK, "application/json; charset=utf-8", spec)
			return
		}
		ui(c)
	}
}
