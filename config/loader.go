package config

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ulule/limiter/v3"
)

// loader reads typed values and collects one error per bad variable, so a
// misconfigured start reports everything at once.
type loader struct {
	getenv func(string) string
	errs   []error
}

func (l *loader) fail(name, format string, args ...any) {
	l.errs = append(l.errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
}

func (l *loader) err() error {
	if len(l.errs) == 0 {
		return nil
	}
	return fmt.Errorf("invalid configuration:\n  %w", errors.Join(l.errs...))
}

func (l *loader) raw(name string) (string, bool) {
	v := strings.TrimSpace(l.getenv(name))
	return v, v != ""
}

func (l *loader) str(name, def string) string {
	if v, ok := l.raw(name); ok {
		return v
	}
	return def
}

// secret reads NAME, or the contents of the file named by NAME_FILE (the way
// Docker and Kubernetes secrets are mounted). Setting both is an error.
func (l *loader) secret(name, def string) string {
	v, hasValue := l.raw(name)
	path, hasFile := l.raw(name + "_FILE")
	switch {
	case hasValue && hasFile:
		l.fail(name, "set either %s or %s_FILE, not both", name, name)
		return v
	case hasFile:
		b, err := os.ReadFile(path) // #nosec G304 -- the operator names the secret file; reading it is the point
		if err != nil {
			l.fail(name+"_FILE", "cannot read secret file: %v", err)
			return def
		}
		return strings.TrimRight(string(b), "\r\n")
	case hasValue:
		return v
	}
	return def
}

func (l *loader) intIn(name string, def, lo, hi int) int {
	v, ok := l.raw(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		l.fail(name, "%q is not an integer", v)
		return def
	}
	if n < lo || n > hi {
		l.fail(name, "%d is out of range [%d, %d]", n, lo, hi)
		return def
	}
	return n
}

func (l *loader) floatIn(name string, def, lo, hi float64) float64 {
	v, ok := l.raw(name)
	if !ok {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) {
		l.fail(name, "%q is not a number", v)
		return def
	}
	if f < lo || f > hi {
		l.fail(name, "%g is out of range [%g, %g]", f, lo, hi)
		return def
	}
	return f
}

// durIn accepts Go durations ("15s", "1h") and, for convenience, bare seconds.
func (l *loader) durIn(name string, def, lo, hi time.Duration) time.Duration {
	v, ok := l.raw(name)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		secs, serr := strconv.Atoi(v)
		if serr != nil {
			l.fail(name, "%q is not a duration (like 15s, 5m, 1h)", v)
			return def
		}
		d = time.Duration(secs) * time.Second
	}
	if d < lo || d > hi {
		l.fail(name, "%s is out of range [%s, %s]", d, lo, hi)
		return def
	}
	return d
}

func (l *loader) boolean(name string, def bool) bool {
	v, ok := l.raw(name)
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		l.fail(name, "%q is not a boolean (true or false)", v)
		return def
	}
	return b
}

func (l *loader) oneOf(name, def string, allowed ...string) string {
	v, ok := l.raw(name)
	if !ok {
		return def
	}
	v = strings.ToLower(v)
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	l.fail(name, "%q is not one of %s", v, strings.Join(allowed, ", "))
	return def
}

// list splits a comma-separated value, trimming blanks.
func (l *loader) list(name string) []string {
	v, _ := l.raw(name)
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// rate reads a limit in ulule/limiter's format ("<limit>-<period>", period
// S, M, H or D) with a limit of at least one.
func (l *loader) rate(name string, def Rate) Rate {
	v, ok := l.raw(name)
	if !ok {
		return def
	}
	r, err := limiter.NewRateFromFormatted(v)
	switch {
	case err != nil:
		l.fail(name, "%q is not a rate like 100-M (%v)", v, err)
		return def
	case r.Limit < 1:
		l.fail(name, "%q allows no request; the limit must be at least 1", v)
		return def
	}
	return Rate{Limit: r.Limit, Period: r.Period}
}
