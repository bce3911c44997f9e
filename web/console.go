// Package web holds the operator console's built files (dist/, made by
// `make console` from the TypeScript in src/ and committed), embedded so
// that the server serves /console with nothing else installed. It imports
// nothing of the module; handlers serve Files.
package web

import (
	"embed"
	"io/fs"
)

//go:embed dist/index.html dist/console.js dist/console.css
var dist embed.FS

// Files are the console's files by name: index.html, console.js, console.css.
func Files() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil { // fs.Sub fails only on an invalid path, and "dist" is valid
		panic(err)
	}
	return sub
}
