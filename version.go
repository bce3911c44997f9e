package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// buildVersion is the version and commit of this binary: the -ldflags values
// (make build, the Dockerfile), else what the go command stamped: the module
// version of `go install …@v1.2.3`, the VCS revision of `go build` in a
// checkout.
func buildVersion() (v, c string) {
	v, c = version, commit
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v, c
	}
	if v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	if c == "none" {
		var rev string
		var dirty bool
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if rev != "" {
			c = rev[:min(12, len(rev))]
			if dirty {
				c += "-dirty"
			}
		}
	}
	return v, c
}

// versionLine is what `version` prints.
func versionLine() string {
	v, c := buildVersion()
	return fmt.Sprintf("control-plane %s (commit %s, %s %s/%s)", v, c, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
