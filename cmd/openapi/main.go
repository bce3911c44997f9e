// Command openapi writes docs/openapi.json and docs/openapi.yaml (OpenAPI
// 3.1) from the swag annotations of the handlers; `make docs` runs it. With
// -check it writes nothing and fails when the committed files differ from
// what the annotations give (CI's docs freshness check).
//
//	go run ./cmd/openapi          # from the repository root
//	go run ./cmd/openapi -check
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/golden-architecture/control-plane/internal/apispec"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "openapi:", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("openapi", flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("root", ".", "the repository root (main.go holds the general API annotations)")
	out := fs.String("out", "docs", "where the documents are written, relative to -root")
	check := fs.Bool("check", false, "write nothing; fail when the committed documents are stale")
	if err := fs.Parse(args); err != nil {
		return err
	}
	files, err := apispec.Generate(*root)
	if err != nil {
		return err
	}
	dir := *out
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(*root, dir)
	}
	var stale []error
	for name, data := range map[string][]byte{apispec.JSONFile: files.JSON, apispec.YAMLFile: files.YAML} {
		path := filepath.Join(dir, name)
		if *check {
			// #nosec G304 -- a path under the repository given by the developer
			if old, err := os.ReadFile(path); err != nil || !bytes.Equal(old, data) {
				stale = append(stale, fmt.Errorf("%s is stale: run make docs and commit it", path))
			}
			continue
		}
		if err := os.WriteFile(path, data, 0o644); err != nil { // #nosec G306 -- a public document
			return err
		}
	}
	return errors.Join(stale...)
}
